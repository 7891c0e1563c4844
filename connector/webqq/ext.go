package webqq

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/openqq-relay/openqq"
)

// csrfToken returns bkn of the skey cookie, cached until the next login
// (spec §14.4).
func (c *Client) csrfToken() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess.bkn == 0 {
		skey, ok := c.jar.Get("skey")
		if !ok || skey == "" {
			return "", fmt.Errorf("webqq: ext: no skey cookie for bkn: %w", openqq.ErrFailure)
		}
		c.sess.bkn = bkn(skey)
	}
	return strconv.FormatInt(c.sess.bkn, 10), nil
}

// extPost posts a qun.qq.com / qinfo.clt.qq.com form with bkn and decodes
// the answer into v; ec != 0 is a RetcodeError.
func (c *Client) extPost(ctx context.Context, api, host, path, referer string, form url.Values, attempts int, v any) error {
	token, err := c.csrfToken()
	if err != nil {
		return err
	}
	form.Set("bkn", token)
	resp, err := c.do(ctx, call{api: api, method: http.MethodPost, host: host, path: path,
		form: form, referer: referer, timeout: modelTimeout, attempts: attempts})
	if err != nil {
		return err
	}
	var head struct {
		EC *openqq.Int `json:"ec"`
	}
	if err := decodeJSON(api, resp.body, &head); err != nil {
		return err
	}
	if head.EC == nil {
		return fmt.Errorf("webqq: %s: no ec in answer %q", api, abbrev(resp.body))
	}
	if *head.EC != 0 {
		return &RetcodeError{API: api, Retcode: int(*head.EC)}
	}
	if v == nil {
		return nil
	}
	return decodeJSON(api, resp.body, v)
}

// extFriends reads qun_mgr/get_friend_list (spec §17.2).
func (c *Client) extFriends(ctx context.Context) ([]extFriend, error) {
	var a struct {
		Result map[string]struct {
			GName *jsonString `json:"gname"`
			Mems  []struct {
				Name jsonString
				UIN  openqq.ID `json:"uin"`
			}
		}
	}
	if err := c.extPost(ctx, "get_friend_list", hostQun, "/cgi-bin/qun_mgr/get_friend_list", refQun,
		url.Values{}, modelAttempts, &a); err != nil {
		return nil, err
	}
	var out []extFriend
	for idx, cat := range a.Result {
		name := ""
		if cat.GName != nil {
			name = htmlName(*cat.GName)
		}
		if idx == "0" && name == "" {
			name = openqq.DefaultCategory
		}
		for _, m := range cat.Mems {
			out = append(out, extFriend{Name: htmlName(m.Name), UIN: int64(m.UIN), Category: name})
		}
	}
	return out, nil
}

// extGroups reads qun_mgr/get_group_list: role attend (join), manage or
// create (spec §17.2).
func (c *Client) extGroups(ctx context.Context) ([]extGroup, error) {
	type entry struct {
		GC    openqq.ID `json:"gc"`
		GN    jsonString
		Owner openqq.ID
	}
	var a struct {
		Join, Manage, Create []entry
	}
	if err := c.extPost(ctx, "get_group_list", hostQun, "/cgi-bin/qun_mgr/get_group_list", refQun,
		url.Values{}, modelAttempts, &a); err != nil {
		return nil, err
	}
	var out []extGroup
	for _, l := range []struct {
		role string
		list []entry
	}{{openqq.GroupRoleAttend, a.Join}, {openqq.GroupRoleManage, a.Manage}, {openqq.GroupRoleCreate, a.Create}} {
		for _, e := range l.list {
			out = append(out, extGroup{UID: int64(e.GC), Name: htmlName(e.GN), OwnerUID: int64(e.Owner), Role: l.role})
		}
	}
	return out, nil
}

// extMembers reads qinfo get_group_members of the group numbered gc.
func (c *Client) extMembers(ctx context.Context, gc, selfUID int64) ([]extMember, int64, error) {
	var a struct {
		Mems *[]struct {
			U openqq.ID `json:"u"`
			N jsonString
		}
		Owner openqq.ID
		Adm   []openqq.ID
		Cards map[string]jsonString
		Join  map[string]openqq.Int
		Times map[string]openqq.Int
	}
	form := url.Values{"gc": {strconv.FormatInt(gc, 10)}, "u": {strconv.FormatInt(selfUID, 10)}}
	if err := c.extPost(ctx, "get_group_members", hostQinfo, "/cgi-bin/qun_info/get_group_members", refQinfo,
		form, modelAttempts, &a); err != nil {
		return nil, 0, err
	}
	if a.Mems == nil {
		return nil, 0, fmt.Errorf("webqq: get_group_members: no member list in answer")
	}
	out := make([]extMember, 0, len(*a.Mems))
	for _, m := range *a.Mems {
		key := strconv.FormatInt(int64(m.U), 10)
		e := extMember{UIN: int64(m.U), Name: htmlName(m.N), Role: openqq.MemberRoleMember,
			JoinTime: int64(a.Join[key]), LastSpeak: int64(a.Times[key])}
		if card, ok := a.Cards[key]; ok {
			e.Card, e.HasCard = htmlName(card), true
		}
		switch {
		case m.U == a.Owner:
			e.Role = openqq.MemberRoleOwner
		case slices.Contains(a.Adm, m.U):
			e.Role = openqq.MemberRoleAdmin
		}
		out = append(out, e)
	}
	return out, int64(a.Owner), nil
}

// extMemberList is what get_group_members said about one group.
type extMemberList struct {
	mems  []extMember
	owner int64
}

// applyExt adds the ext data to freshly loaded contacts: friend uids, group
// uids and roles, member uids and roles. A failing part only logs.
func (c *Client) applyExt(ctx context.Context, ct *openqq.Contacts, me self) {
	if ef, err := c.extFriends(ctx); err != nil {
		c.log.WarnContext(ctx, "ext friend list failed", "err", err)
	} else {
		matchFriends(ct.Friends, ef)
	}
	if eg, err := c.extGroups(ctx); err != nil {
		c.log.WarnContext(ctx, "ext group list failed", "err", err)
	} else {
		matchGroups(ct.Groups, eg, knownUIDs(me, ct))
	}
	lists := make([]*extMemberList, len(ct.Groups))
	parallel(ctx, len(ct.Groups), func(i int) { lists[i] = c.extMemberList(ctx, &ct.Groups[i], me.uid) })
	matchAllMembers(ct, lists, me)
}

// matchAllMembers matches the members of every group, in rounds: a member
// matched in one group anchors the same person in the others.
func matchAllMembers(ct *openqq.Contacts, lists []*extMemberList, me self) {
	known := knownUIDs(me, ct)
	for range len(ct.Groups) + 1 {
		for i, l := range lists {
			if l != nil {
				matchMembers(&ct.Groups[i], l.mems, l.owner, known)
			}
		}
		next := knownUIDs(me, ct)
		if len(next) == len(known) {
			return
		}
		known = next
	}
}

// extMemberList fetches the ext member list of a group with a known uid;
// nil when there is none.
func (c *Client) extMemberList(ctx context.Context, g *openqq.Group, selfUID int64) *extMemberList {
	if g.UID == 0 || len(g.Members) == 0 {
		return nil
	}
	em, owner, err := c.extMembers(ctx, int64(g.UID), selfUID)
	if err != nil {
		c.log.WarnContext(ctx, "ext member list failed", "group", g.UID, "err", err)
		return nil
	}
	if owner == 0 {
		owner = int64(g.OwnerUID)
	}
	return &extMemberList{mems: em, owner: owner}
}

// applyExtMembers adds the ext member data of one group, anchored on what
// ct already knows.
func (c *Client) applyExtMembers(ctx context.Context, g *openqq.Group, me self, ct *openqq.Contacts) {
	if l := c.extMemberList(ctx, g, me.uid); l != nil {
		matchMembers(g, l.mems, l.owner, knownUIDs(me, ct))
	}
}
