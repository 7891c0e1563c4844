package webqq

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openqq-relay/openqq"
)

// Kick removes members (session ids) from a group through qun.qq.com
// (spec §6.10, §17.2). A missing group is openqq.ErrObjectNotFound, an
// empty list openqq.ErrMemberIDEmpty, a missing member
// openqq.MemberNotFound; every other failure matches openqq.ErrFailure
// (no ext, group number unknown, not an admin, ec != 0). The kicked members
// leave the client's contacts.
func (c *Client) Kick(ctx context.Context, groupID openqq.ID, memberIDs []openqq.ID) error {
	g, targets, err := c.adminTargets(ctx, groupID, memberIDs)
	if err != nil {
		return err
	}
	uids := make([]string, len(targets))
	for i, m := range targets {
		uids[i] = strconv.FormatInt(int64(m.UID), 10)
	}
	form := url.Values{"gc": {strconv.FormatInt(int64(g.UID), 10)}, "ul": {strings.Join(uids, "|")}, "flag": {"0"}}
	if err := c.extPost(ctx, "delete_group_member", hostQun, "/cgi-bin/qun_mgr/delete_group_member", refQun,
		form, 1, nil); err != nil {
		return adminFailure(ctx, "kick", err)
	}
	c.editContacts(func(ct *openqq.Contacts) {
		gs := make([]openqq.Group, len(ct.Groups))
		copy(gs, ct.Groups)
		for i := range gs {
			if gs[i].ID == groupID {
				gs[i].Members = slices.DeleteFunc(slices.Clone(gs[i].Members), func(m openqq.Member) bool {
					return slices.Contains(memberIDs, m.ID)
				})
			}
		}
		ct.Groups = gs
	})
	c.log.InfoContext(ctx, "group members kicked", "group", g.UID, "count", len(targets))
	return nil
}

// Mute silences members of a group for d through qinfo.clt.qq.com
// (spec §6.11, §17.2). Errors as Kick; also openqq.ErrFailure for less
// than 60 s or an admin or owner among the targets.
func (c *Client) Mute(ctx context.Context, groupID openqq.ID, memberIDs []openqq.ID, d time.Duration) error {
	g, targets, err := c.adminTargets(ctx, groupID, memberIDs)
	if err != nil {
		return err
	}
	secs := int64(d / time.Second)
	if secs < 60 {
		return ErrMuteTooShort
	}
	list := make([]map[string]any, len(targets))
	for i, m := range targets {
		if m.Role == openqq.MemberRoleAdmin || m.Role == openqq.MemberRoleOwner {
			return fmt.Errorf("%w: member %d is %s", ErrMuteAdmin, m.ID, m.Role)
		}
		list[i] = map[string]any{"t": secs, "uin": int64(m.UID)}
	}
	shutup, err := encodeR(list)
	if err != nil {
		return err
	}
	form := url.Values{"gc": {strconv.FormatInt(int64(g.UID), 10)}, "shutup_list": {shutup}}
	if err := c.extPost(ctx, "set_group_shutup", hostQinfo, "/cgi-bin/qun_info/set_group_shutup", refQinfo3,
		form, 1, nil); err != nil {
		return adminFailure(ctx, "mute", err)
	}
	c.log.InfoContext(ctx, "group members muted", "group", g.UID, "count", len(targets), "seconds", secs)
	return nil
}

// adminTargets checks, in the original's order, the group, the list, each
// member, then the ext preconditions of spec §17.2.
func (c *Client) adminTargets(ctx context.Context, groupID openqq.ID, memberIDs []openqq.ID) (*openqq.Group, []*openqq.Member, error) {
	s := c.snapshot()
	if !s.loggedIn {
		return nil, nil, errNotLoggedIn
	}
	ct := s.contacts
	if ct == nil {
		if _, err := c.Contacts(ctx); err != nil {
			return nil, nil, err
		}
		ct = c.contacts()
	}
	g := ct.Group(groupID)
	if g == nil {
		return nil, nil, openqq.ErrObjectNotFound
	}
	if len(memberIDs) == 0 {
		return nil, nil, openqq.ErrMemberIDEmpty
	}
	targets := make([]*openqq.Member, len(memberIDs))
	for i, id := range memberIDs {
		if targets[i] = g.Member(id); targets[i] == nil {
			return nil, nil, openqq.MemberNotFound(id.String())
		}
	}
	switch {
	case !s.ext:
		return nil, nil, ErrExtUnavailable
	case g.UID == 0:
		return nil, nil, ErrGroupUIDUnknown
	case g.Role != openqq.GroupRoleManage && g.Role != openqq.GroupRoleCreate:
		return nil, nil, ErrNotGroupAdmin
	}
	for _, m := range targets {
		if m.UID == 0 {
			return nil, nil, fmt.Errorf("%w: member %d", ErrMemberUIDUnknown, m.ID)
		}
	}
	return g, targets, nil
}

// adminFailure makes a failed kick or mute request match openqq.ErrFailure,
// unless ctx ended.
func adminFailure(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("webqq: %s: %w: %w", op, err, openqq.ErrFailure)
}
