package connector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openqq-relay/openqq"
)

// params are a command's request parameters.
type params map[string]string

func (p params) has(name string) bool {
	_, ok := p[name]
	return ok
}

// selectors maps request parameters to search keys, keeping those given
// with a value. [GO] An empty selector (uid=) selects nothing, as in the
// relay, instead of matching every contact whose uid is unknown.
func (p params) selectors(keys map[string]string) openqq.Criteria {
	c := openqq.Criteria{}
	for param, key := range keys {
		if v := p[param]; v != "" {
			c[key] = v
		}
	}
	return c
}

var (
	contactSelectors = map[string]string{"id": "id", "uid": "uid", "name": "name", "displayname": "displayname"}
	groupSelectors   = map[string]string{"group_id": "id", "group_uid": "uid"}
	memberSelectors  = map[string]string{"id": "id", "uid": "uid"}
)

// errUnknownAPI answers a command the connector does not execute.
var errUnknownAPI = &openqq.Error{Code: 404, Status: "api not supported by the connector", HTTPStatus: 404}

// handler executes one write API against the live contacts.
type handler func(r *Runner, ctx context.Context, p params) openqq.Result

var handlers = map[string]handler{
	openqq.APISendFriendMessage:  (*Runner).sendFriendMessage,
	openqq.APISendGroupMessage:   (*Runner).sendGroupMessage,
	openqq.APISendDiscussMessage: (*Runner).sendDiscussMessage,
	openqq.APISendSessMessage:    (*Runner).sendSessMessage,
	openqq.APIKickGroupMember:    (*Runner).kickGroupMember,
	openqq.APIShutupGroupMember:  (*Runner).shutupGroupMember,
	openqq.APIRelogin:            (*Runner).reloginCommand,
	openqq.APIStopClient:         (*Runner).stopClient,
	openqq.APIRefreshContacts:    (*Runner).refreshContacts,
}

// execute runs one command and returns its answer.
func (r *Runner) execute(ctx context.Context, cmd openqq.Command) openqq.Result {
	h, ok := handlers[cmd.API]
	if !ok {
		return openqq.ErrorResult(errUnknownAPI)
	}
	return h(r, ctx, params(cmd.Params))
}

// liveContacts returns the current snapshot; it is never modified in place.
func (r *Runner) liveContacts() (*openqq.Contacts, error) {
	c := r.contacts.Load()
	if c == nil {
		return nil, openqq.ErrClientNotReady
	}
	return c, nil
}

func (r *Runner) sendFriendMessage(ctx context.Context, p params) openqq.Result {
	c, err := r.liveContacts()
	if err != nil {
		return r.errorResult(ctx, err)
	}
	found := c.SearchFriends(p.selectors(contactSelectors))
	if len(found) == 0 {
		return openqq.ErrorResult(openqq.ErrFriendNotFound)
	}
	return r.send(ctx, p, openqq.Outgoing{Type: openqq.FriendMessage, TargetID: found[0].ID})
}

func (r *Runner) sendGroupMessage(ctx context.Context, p params) openqq.Result {
	c, err := r.liveContacts()
	if err != nil {
		return r.errorResult(ctx, err)
	}
	found := c.SearchGroups(p.selectors(contactSelectors))
	if len(found) == 0 {
		return openqq.ErrorResult(openqq.ErrGroupNotFound)
	}
	return r.send(ctx, p, openqq.Outgoing{Type: openqq.GroupMessage, TargetID: found[0].ID})
}

func (r *Runner) sendDiscussMessage(ctx context.Context, p params) openqq.Result {
	c, err := r.liveContacts()
	if err != nil {
		return r.errorResult(ctx, err)
	}
	found := c.SearchDiscusses(p.selectors(map[string]string{"id": "id"}))
	if len(found) == 0 {
		return openqq.ErrorResult(openqq.ErrDiscussNotFound)
	}
	return r.send(ctx, p, openqq.Outgoing{Type: openqq.DiscussMessage, TargetID: found[0].ID})
}

// sendSessMessage reaches a member through a group (group_id/group_uid) or
// else a discussion (discuss_id), as spec §6.8 orders the lookups.
// [GO] spec §6.8: it sends through the right group or discussion instead of
// silently never answering.
func (r *Runner) sendSessMessage(ctx context.Context, p params) openqq.Result {
	c, err := r.liveContacts()
	if err != nil {
		return r.errorResult(ctx, err)
	}
	member := p.selectors(memberSelectors)
	// The first matching group or discussion decides, as the original's
	// scalar search did.
	switch {
	case p.has("group_id") || p.has("group_uid"):
		if gs := c.SearchGroups(p.selectors(groupSelectors)); len(gs) > 0 {
			if found := gs[0].SearchMembers(member); len(found) > 0 {
				return r.send(ctx, p, openqq.Outgoing{Type: openqq.SessMessage, TargetID: found[0].ID, GroupID: gs[0].ID})
			}
		}
		return openqq.ErrorResult(openqq.ErrGroupMemberNotFound)
	case p.has("discuss_id"):
		if ds := c.SearchDiscusses(p.selectors(map[string]string{"discuss_id": "id"})); len(ds) > 0 {
			if found := ds[0].SearchMembers(member); len(found) > 0 {
				return r.send(ctx, p, openqq.Outgoing{Type: openqq.SessMessage, TargetID: found[0].ID, DiscussID: ds[0].ID})
			}
		}
		return openqq.ErrorResult(openqq.ErrDiscussMemberNotFound)
	}
	return openqq.ErrorResult(openqq.ErrSessTargetNotFound)
}

// sendBody is the synchronous send answer (spec §6.5); id is the message id
// as a number, as the original wrote it.
type sendBody struct {
	ID     any    `json:"id"`
	Code   int    `json:"code"`
	Status string `json:"status"`
	Info   string `json:"info"`
}

// send checks the content, sends, posts the sent message and answers with
// its status. The target has been found already: the original looked the
// target up before it noticed missing content.
func (r *Runner) send(ctx context.Context, p params, out openqq.Outgoing) openqq.Result {
	out.Content = p["content"]
	if out.Content == "" {
		// [GO] spec §6.5: empty content answers 400 instead of hanging.
		return openqq.ErrorResult(openqq.ErrContentMissing)
	}
	out.From = "api"
	m, err := r.backend.Send(ctx, out)
	if err != nil {
		return r.errorResult(ctx, err)
	}
	r.metrics.sends.WithLabelValues(strconv.Itoa(m.Code)).Inc()
	r.publish(openqq.NewMessagePost(m))
	body := sendBody{Code: m.Code, Status: m.Msg, Info: m.Info}
	if m.ID != 0 {
		body.ID = int64(m.ID)
	}
	res, err := openqq.NewResult(m.Code, body)
	if err != nil {
		return r.errorResult(ctx, err)
	}
	return res
}

// errorResult answers an error: Openqq errors as themselves, a command cut
// short by its deadline as "outcome unknown" (the upstream call may have
// gone out), anything else as an internal error, logged.
func (r *Runner) errorResult(ctx context.Context, err error) openqq.Result {
	if oe, ok := errors.AsType[*openqq.Error](err); ok {
		return openqq.ErrorResult(oe)
	}
	if ctx.Err() != nil {
		return openqq.ErrorResult(openqq.ErrOutcomeUnknown)
	}
	r.log.ErrorContext(ctx, "command failed", openqq.LogKeyErr, err)
	return openqq.ErrorResult(openqq.ErrInternal)
}

// targets resolves the group and member list of kick and shutup, in the
// original's order of checks (spec §6.10): the group, then an empty list,
// then each member.
func targets(c *openqq.Contacts, p params) (*openqq.Group, []openqq.Member, error) {
	groups := c.SearchGroups(p.selectors(groupSelectors))
	if len(groups) == 0 {
		return nil, nil, openqq.ErrObjectNotFound
	}
	g := groups[0]
	key, list := "uid", p["member_uid"]
	if p.has("member_id") { // member_id wins even when empty
		key, list = "id", p["member_id"]
	}
	var entries []string
	for e := range strings.SplitSeq(list, ",") {
		if e = strings.TrimSpace(e); e != "" {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return nil, nil, openqq.ErrMemberIDEmpty
	}
	members := make([]openqq.Member, 0, len(entries))
	for _, e := range entries {
		m := g.FindMember(key, e)
		if m == nil {
			return nil, nil, openqq.MemberNotFound(e)
		}
		members = append(members, *m)
	}
	return g, members, nil
}

func memberIDs(ms []openqq.Member) []openqq.ID {
	ids := make([]openqq.ID, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

var successBody = map[string]any{"code": 0, "status": "success"}

func success() openqq.Result {
	res, _ := openqq.NewResult(0, successBody)
	return res
}

func (r *Runner) kickGroupMember(ctx context.Context, p params) openqq.Result {
	c, err := r.liveContacts()
	if err != nil {
		return r.errorResult(ctx, err)
	}
	g, members, err := targets(c, p)
	if err != nil {
		return r.errorResult(ctx, err)
	}
	if err := r.backend.Kick(ctx, g.ID, memberIDs(members)); err != nil {
		if ctx.Err() != nil {
			return openqq.ErrorResult(openqq.ErrOutcomeUnknown)
		}
		r.log.WarnContext(ctx, "kick failed", openqq.LogKeyErr, err)
		return openqq.ErrorResult(openqq.ErrFailure)
	}
	// [GO] spec §6.10: every kicked member leaves the snapshot and is posted
	// as lose_group_member [member, group], and the answer is code 0.
	r.removeMembers(g.ID, members)
	return success()
}

// shutupGroupMember mutes members for time minutes, or for seconds when a
// webhook reply asked (spec §8.3: shutup_time is in seconds).
func (r *Runner) shutupGroupMember(ctx context.Context, p params) openqq.Result {
	c, err := r.liveContacts()
	if err != nil {
		return r.errorResult(ctx, err)
	}
	if len(c.SearchGroups(p.selectors(groupSelectors))) == 0 {
		return openqq.ErrorResult(openqq.ErrObjectNotFound)
	}
	d, err := shutupDuration(p)
	if err != nil {
		return openqq.ErrorResult(openqq.ErrShutupTime)
	}
	g, members, err := targets(c, p)
	if err != nil {
		return r.errorResult(ctx, err)
	}
	if d < time.Minute { // the original's mute refused less than a minute
		return openqq.ErrorResult(openqq.ErrFailure)
	}
	if err := r.backend.Mute(ctx, g.ID, memberIDs(members), d); err != nil {
		if ctx.Err() != nil {
			return openqq.ErrorResult(openqq.ErrOutcomeUnknown)
		}
		r.log.WarnContext(ctx, "mute failed", openqq.LogKeyErr, err)
		return openqq.ErrorResult(openqq.ErrFailure)
	}
	return success()
}

// maxMuteMinutes keeps time × 60 s inside a time.Duration; QQ itself caps a
// mute at 30 days, so anything larger is an input error.
const maxMuteMinutes = 1 << 31

func shutupDuration(p params) (time.Duration, error) {
	name, unit := "time", time.Minute
	if !p.has("time") && p.has("seconds") {
		name, unit = "seconds", time.Second
	}
	v := p[name]
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0, fmt.Errorf("%s %q: not a number", name, v)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > maxMuteMinutes {
		return 0, fmt.Errorf("%s %q: out of range", name, v)
	}
	return time.Duration(n) * unit, nil
}

// controlAfter is how long relogin and stop_client wait after answering, as
// the original's "will relogin in 3 seconds".
const controlAfter = 3 * time.Second

func (r *Runner) reloginCommand(ctx context.Context, _ params) openqq.Result {
	pid := os.Getpid()
	res, _ := openqq.NewResult(0, map[string]any{
		"code":    0,
		"account": r.account,
		"status":  fmt.Sprintf("success, client(%d) will relogin in %d seconds", pid, int(controlAfter/time.Second)),
	})
	r.control(controlRelogin)
	return res
}

func (r *Runner) stopClient(ctx context.Context, _ params) openqq.Result {
	pid := os.Getpid()
	res, _ := openqq.NewResult(0, map[string]any{
		"code":      0,
		"account":   r.account,
		"pid":       pid,
		"starttime": r.started.Unix(),
		"runtime":   int64(time.Since(r.started) / time.Second),
		"status":    fmt.Sprintf("success, client(%d) will stop in %d seconds", pid, int(controlAfter/time.Second)),
	})
	r.control(controlStop)
	return res
}

func (r *Runner) refreshContacts(ctx context.Context, _ params) openqq.Result {
	if err := r.refresh(ctx); err != nil {
		if errors.Is(err, openqq.ErrClientNotReady) {
			return openqq.ErrorResult(openqq.ErrClientNotReady)
		}
		r.log.WarnContext(ctx, "contacts refresh failed", openqq.LogKeyErr, err)
		return openqq.ErrorResult(openqq.ErrFailure)
	}
	return success()
}
