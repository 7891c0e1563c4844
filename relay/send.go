package relay

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// Write endpoints check the request against the contact snapshot first, in
// the original's order, so a bad target or an empty message is answered at
// once; only then does a command travel to the connector.

func (h *Handler) sendFriendMessage(w http.ResponseWriter, r *http.Request) {
	h.sendTo(w, r, openqq.APISendFriendMessage, func(c *openqq.Contacts, p Params) error {
		if len(c.SearchFriends(p.selectors("id", "uid", "name", "displayname"))) == 0 {
			return openqq.ErrFriendNotFound
		}
		return nil
	})
}

func (h *Handler) sendGroupMessage(w http.ResponseWriter, r *http.Request) {
	h.sendTo(w, r, openqq.APISendGroupMessage, func(c *openqq.Contacts, p Params) error {
		if len(c.SearchGroups(p.selectors("id", "uid", "name", "displayname"))) == 0 {
			return openqq.ErrGroupNotFound
		}
		return nil
	})
}

// sendDiscussMessage selects by id only, as the original (spec §6.7).
// [GO] async=1 sends; the original searched instead and sent nothing.
func (h *Handler) sendDiscussMessage(w http.ResponseWriter, r *http.Request) {
	h.sendTo(w, r, openqq.APISendDiscussMessage, func(c *openqq.Contacts, p Params) error {
		if len(c.SearchDiscusses(p.selectors("id"))) == 0 {
			return openqq.ErrDiscussNotFound
		}
		return nil
	})
}

// sendSessMessage finds the member through a group (group_id/group_uid) or
// else a discussion (discuss_id), spec §6.8. [GO] It sends: the original
// looked the group up by the member's id, never sent and never answered.
func (h *Handler) sendSessMessage(w http.ResponseWriter, r *http.Request) {
	h.sendTo(w, r, openqq.APISendSessMessage, func(c *openqq.Contacts, p Params) error {
		member := p.selectors("uid", "id")
		switch {
		// The first matching group or discussion decides, as the
		// original's scalar search.
		case p["group_id"] != "" || p["group_uid"] != "":
			if g := c.SearchGroups(groupSelectors(p)); len(g) == 0 || len(g[0].SearchMembers(member)) == 0 {
				return openqq.ErrGroupMemberNotFound
			}
			return nil
		case p["discuss_id"] != "":
			if d := c.SearchDiscusses(openqq.Criteria{"id": p["discuss_id"]}); len(d) == 0 || len(d[0].SearchMembers(member)) == 0 {
				return openqq.ErrDiscussMemberNotFound
			}
			return nil
		}
		return openqq.ErrSessTargetNotFound
	})
}

// sendTo validates a message send: the target first, then the content
// ([GO] spec §6.5: empty content answers 400 instead of hanging, async too).
func (h *Handler) sendTo(w http.ResponseWriter, r *http.Request, api string, target func(*openqq.Contacts, Params) error) {
	p := paramsOf(r)
	c, err := h.contacts(r)
	if err == nil {
		err = target(c, p)
	}
	if err == nil && p["content"] == "" {
		err = openqq.ErrContentMissing
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// The original has no async sess sends (spec §6.8).
	async := api != openqq.APISendSessMessage && p.Bool("async")
	h.submit(w, r, api, async)
}

// kickGroupMember: group, then a non-empty id list, then every member
// (spec §6.10). [GO] A kick answers code 0; the original crashed with 500.
func (h *Handler) kickGroupMember(w http.ResponseWriter, r *http.Request) {
	p := paramsOf(r)
	g, err := h.group(r)
	if err == nil {
		err = checkMembers(g, p)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.submit(w, r, openqq.APIKickGroupMember, false)
}

// shutupTime is the original's check: whole minutes, digits only.
var shutupTime = regexp.MustCompile(`^[0-9]+$`)

// shutupGroupMember: group, then time, then the id list, then every member
// (spec §6.11).
func (h *Handler) shutupGroupMember(w http.ResponseWriter, r *http.Request) {
	p := paramsOf(r)
	g, err := h.group(r)
	if err == nil && !validMinutes(p["time"]) {
		err = openqq.ErrShutupTime
	}
	if err == nil {
		err = checkMembers(g, p)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.submit(w, r, openqq.APIShutupGroupMember, false)
}

func validMinutes(s string) bool {
	if !shutupTime.MatchString(s) {
		return false
	}
	_, err := strconv.ParseInt(s, 10, 32) // [GO] no overflow downstream
	return err == nil
}

// group finds the group of a kick or shutup by group_id/group_uid, ANDed.
func (h *Handler) group(r *http.Request) (*openqq.Group, error) {
	c, err := h.contacts(r)
	if err != nil {
		return nil, err
	}
	found := c.SearchGroups(groupSelectors(paramsOf(r)))
	if len(found) == 0 {
		return nil, openqq.ErrObjectNotFound
	}
	return found[0], nil
}

func groupSelectors(p Params) openqq.Criteria {
	c := openqq.Criteria{}
	if v := p["group_id"]; v != "" {
		c["id"] = v
	}
	if v := p["group_uid"]; v != "" {
		c["uid"] = v
	}
	return c
}

// checkMembers reads member_id (used when present, even empty) or else
// member_uid, and finds every entry in the group.
func checkMembers(g *openqq.Group, p Params) error {
	key, list := "uid", p["member_uid"]
	if p.Has("member_id") {
		key, list = "id", p["member_id"]
	}
	ids := splitList(list)
	if len(ids) == 0 {
		return openqq.ErrMemberIDEmpty
	}
	for _, x := range ids {
		if g.FindMember(key, x) == nil {
			return openqq.MemberNotFound(x)
		}
	}
	return nil
}

// asyncAccepted is the original's answer to async=1.
var asyncAccepted = struct {
	Code   int    `json:"code"`
	Status string `json:"status"`
}{0, "request already in execution"}

// submit sends the request's command to a running connector and writes its
// answer, or queues it and answers at once when async.
func (h *Handler) submit(w http.ResponseWriter, r *http.Request, api string, async bool) {
	if _, err := h.readyState(r, true); err != nil {
		h.writeError(w, r, err)
		return
	}
	res, err := h.run(r, api, async)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if async {
		h.writeJSON(w, r, asyncAccepted)
		return
	}
	h.writeResult(w, r, res.Code, res.HTTPStatus, res.Body)
}

// run queues the command (async) or sends it and waits for its result.
func (h *Handler) run(r *http.Request, api string, async bool) (openqq.Result, error) {
	now := time.Now() // deadlines follow the wall clock the store uses
	cmd := &openqq.Command{
		API:      api,
		Params:   paramsOf(r).command(),
		Async:    async,
		Created:  now,
		Deadline: now.Add(h.budget(r, h.opts.CommandTimeout)),
	}
	var res openqq.Result
	var err error
	if async {
		err = h.store.Enqueue(r.Context(), accountOf(r), cmd)
	} else {
		res, err = h.store.Submit(r.Context(), accountOf(r), cmd)
	}
	// The store names the command (cmd.ID) as it queues it.
	h.log.DebugContext(r.Context(), "command", openqq.LogKeyAPI, api, openqq.LogKeyAccount, accountOf(r),
		openqq.LogKeyCommandID, cmd.ID, "async", async, openqq.LogKeyErr, err)
	if err != nil {
		return openqq.Result{}, fmt.Errorf("relay: command %s: %w", api, err)
	}
	return res, nil
}

// readyState returns the connector's state if it is alive (a fresh
// heartbeat) and, when running is set, logged in; else ErrClientNotReady,
// so a write fails at once rather than waiting out its deadline.
func (h *Handler) readyState(r *http.Request, running bool) (store.State, error) {
	var st store.State
	if pre := infoOf(r).pre; pre != nil {
		st = pre.state
	} else {
		var err error
		if st, err = h.store.State(r.Context(), accountOf(r)); err != nil {
			return store.State{}, fmt.Errorf("relay: state: %w", err)
		}
	}
	if !h.alive(st) || (running && st.State != openqq.StateRunning) {
		return st, openqq.ErrClientNotReady
	}
	return st, nil
}

// alive reports whether the connector looks alive. A connector that never
// ran has a zero State, a stopped one says so; while running it proves
// liveness with a heartbeat, which must be recent. In the login states it
// writes no heartbeat (it blocks on the QR scan, as the original did), so
// its state record is all there is: a command sent to a connector that died
// there ends with ErrTimeout at its deadline.
func (h *Handler) alive(st store.State) bool {
	switch st.State {
	case "", openqq.StateStop:
		return false
	case openqq.StateRunning:
		return !st.Heartbeat.IsZero() && h.now().Sub(st.Heartbeat) <= h.opts.HeartbeatTimeout
	}
	return true
}

// budget caps d so the answer goes out before the invocation (Lambda) or
// the request's own deadline ends, with a margin to write it.
func (h *Handler) budget(r *http.Request, d time.Duration) time.Duration {
	const margin = 2 * time.Second
	if left, ok := remaining(r); ok {
		d = min(d, left-margin)
	}
	return max(d, 0)
}
