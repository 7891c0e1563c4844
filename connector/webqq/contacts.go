package webqq

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/openqq-relay/openqq"
)

// detailWorkers bounds the concurrent get_group_info_ext2 / get_discu_info
// calls of one load.
const detailWorkers = 4

// Contacts loads the user, the friends with their online state, the groups
// and discussions with all their members (the original loaded members
// lazily), and with ext the QQ numbers and roles. A part that fails keeps
// what the previous load had; when friends and groups both fail the session
// is considered lost (the original's model_update_fail, spec §21) and the
// error matches openqq.ErrLoginRequired. The result is a copy the caller
// may keep; the client keeps its own to name message senders.
func (c *Client) Contacts(ctx context.Context) (*openqq.Contacts, error) {
	s := c.snapshot()
	if !s.loggedIn {
		return nil, errNotLoggedIn
	}
	prev := s.contacts
	if prev == nil {
		prev = &openqq.Contacts{}
	}
	ct := &openqq.Contacts{User: c.loadUser(ctx, s)}
	friends, ferr := c.loadFriends(ctx, s)
	if ferr != nil {
		c.log.WarnContext(ctx, "friend list failed", "err", ferr)
		friends = prev.Friends
	}
	groups, gerr := c.loadGroups(ctx, s, prev.Groups)
	if gerr != nil {
		c.log.WarnContext(ctx, "group list failed", "err", gerr)
		groups = prev.Groups
	}
	discusses, derr := c.loadDiscusses(ctx, s, prev.Discusses)
	if derr != nil {
		c.log.WarnContext(ctx, "discussion list failed", "err", derr)
		discusses = prev.Discusses
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ferr != nil && gerr != nil {
		return nil, fmt.Errorf("webqq: contacts: friends: %v; groups: %v: %w", ferr, gerr, openqq.ErrLoginRequired)
	}
	ct.Friends, ct.Groups, ct.Discusses = cloneFriends(friends), cloneGroups(groups), cloneDiscusses(discusses)
	if s.ext {
		c.applyExt(ctx, ct, self{id: ct.User.ID, uid: s.uid})
	}
	c.mu.Lock()
	if c.sess.loggedIn && c.sess.psessionid == s.psessionid {
		c.sess.contacts = ct
	}
	c.mu.Unlock()
	return cloneContacts(ct), nil
}

// loadUser reads get_self_info2; on failure the user is just {id, uid}
// (spec §4.1).
func (c *Client) loadUser(ctx context.Context, s session) openqq.User {
	fallback := openqq.User{ID: openqq.ID(s.uid), UID: openqq.ID(s.uid), State: onlineState, ClientType: openqq.ClientTypeWeb}
	resp, err := c.do(ctx, call{api: "get_self_info2", host: hostS, path: "/api/get_self_info2",
		query: "t=" + epoch(), referer: refS, timeout: modelTimeout, attempts: modelAttempts})
	if err != nil {
		c.log.WarnContext(ctx, "user info failed", "err", err)
		return fallback
	}
	u, err := decodeSelfInfo(resp.body, s.uid)
	if err != nil {
		c.log.WarnContext(ctx, "user info failed", "err", err)
		return fallback
	}
	if u.ID == 0 {
		u.ID = openqq.ID(s.uid)
	}
	return u
}

// loadFriends reads get_user_friends2 and get_online_buddies2 (spec §16.3).
func (c *Client) loadFriends(ctx context.Context, s session) ([]openqq.Friend, error) {
	form, err := rForm(map[string]any{"hash": friendHash(s.ptwebqq, s.uid), "vfwebqq": s.vfwebqq})
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, call{api: "get_user_friends2", method: http.MethodPost, host: hostS,
		path: "/api/get_user_friends2", form: form, referer: refS, timeout: modelTimeout, attempts: modelAttempts})
	if err != nil {
		return nil, err
	}
	friends, err := decodeFriends(resp.body)
	if err != nil {
		return nil, err
	}
	resp, err = c.do(ctx, call{api: "get_online_buddies2", host: hostD1, path: "/channel/get_online_buddies2",
		query:   "vfwebqq=" + s.vfwebqq + "&clientid=" + strconv.Itoa(clientID) + "&psessionid=" + s.psessionid + "&t=" + epoch(),
		referer: refD1, timeout: modelTimeout, attempts: modelAttempts})
	var online map[openqq.ID]presence
	if err == nil {
		online, err = decodeOnline(resp.body)
	}
	if err != nil {
		c.log.WarnContext(ctx, "online friends failed", "err", err)
	}
	for i := range friends {
		if p, ok := online[friends[i].ID]; ok {
			friends[i].State, friends[i].ClientType = p.state, p.clientType
		}
	}
	return friends, nil
}

// loadGroups reads the group list (spec §16.4) and every group's detail; a
// group whose detail fails keeps its previous members.
func (c *Client) loadGroups(ctx context.Context, s session, prev []openqq.Group) ([]openqq.Group, error) {
	groups, err := c.groupList(ctx, s)
	if err != nil {
		return nil, err
	}
	parallel(ctx, len(groups), func(i int) {
		g := &groups[i]
		if err := c.loadGroupInfo(ctx, s, g); err != nil {
			c.log.WarnContext(ctx, "group info failed", "group", g.ID, "err", err)
			for _, p := range prev {
				if p.ID == g.ID {
					g.Members = p.Members
				}
			}
		}
	})
	return groups, nil
}

// groupList reads get_group_name_list_mask2 (spec §16.4).
func (c *Client) groupList(ctx context.Context, s session) ([]openqq.Group, error) {
	r, err := encodeR(map[string]any{"hash": friendHash(s.ptwebqq, s.uid), "vfwebqq": s.vfwebqq})
	if err != nil {
		return nil, err
	}
	// Mojo turned this "GET with form" into an escaped query (spec §16.4).
	resp, err := c.do(ctx, call{api: "get_group_name_list_mask2", host: hostS,
		path: "/api/get_group_name_list_mask2", query: url.Values{"r": {r}}.Encode(),
		referer: refS, timeout: modelTimeout, attempts: modelAttempts})
	if err != nil {
		return nil, err
	}
	return decodeGroupList(resp.body)
}

// loadGroupInfo fills one group from get_group_info_ext2 (spec §16.5).
func (c *Client) loadGroupInfo(ctx context.Context, s session, g *openqq.Group) error {
	resp, err := c.do(ctx, call{api: "get_group_info_ext2", host: hostS, path: "/api/get_group_info_ext2",
		query:   "gcode=" + strconv.FormatInt(int64(g.Code), 10) + "&vfwebqq=" + s.vfwebqq + "&t=" + epoch(),
		referer: refS, timeout: modelTimeout, attempts: modelAttempts})
	if err != nil {
		return err
	}
	return decodeGroupInfo(resp.body, g)
}

// loadDiscusses reads the discussion list and every discussion's members
// (spec §16.6).
func (c *Client) loadDiscusses(ctx context.Context, s session, prev []openqq.Discuss) ([]openqq.Discuss, error) {
	resp, err := c.do(ctx, discussListCall(s))
	if err != nil {
		return nil, err
	}
	ds, err := decodeDiscussList(resp.body)
	if err != nil {
		return nil, err
	}
	parallel(ctx, len(ds), func(i int) {
		d := &ds[i]
		if err := c.loadDiscussInfo(ctx, s, d); err != nil {
			c.log.WarnContext(ctx, "discussion info failed", "discuss", d.ID, "err", err)
			for _, p := range prev {
				if p.ID == d.ID {
					d.Members = p.Members
				}
			}
		}
	})
	return ds, nil
}

func discussListCall(s session) call {
	return call{api: "get_discus_list", host: hostS, path: "/api/get_discus_list",
		query:   "clientid=" + strconv.Itoa(clientID) + "&psessionid=" + s.psessionid + "&vfwebqq=" + s.vfwebqq + "&t=" + epoch(),
		referer: refS, timeout: modelTimeout, attempts: modelAttempts}
}

func (c *Client) loadDiscussInfo(ctx context.Context, s session, d *openqq.Discuss) error {
	resp, err := c.do(ctx, call{api: "get_discu_info", host: hostD1, path: "/channel/get_discu_info",
		query: "did=" + strconv.FormatInt(int64(d.ID), 10) + "&vfwebqq=" + s.vfwebqq + "&clientid=" +
			strconv.Itoa(clientID) + "&psessionid=" + s.psessionid + "&t=" + epoch(),
		referer: refD1, timeout: modelTimeout, attempts: modelAttempts})
	if err != nil {
		return err
	}
	return decodeDiscussInfo(resp.body, d)
}

// parallel runs f(0…n-1) on at most detailWorkers goroutines and waits.
func parallel(ctx context.Context, n int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, detailWorkers)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

func cloneContacts(ct *openqq.Contacts) *openqq.Contacts {
	return &openqq.Contacts{User: ct.User, Friends: cloneFriends(ct.Friends),
		Groups: cloneGroups(ct.Groups), Discusses: cloneDiscusses(ct.Discusses)}
}

func cloneFriends(fs []openqq.Friend) []openqq.Friend {
	out := make([]openqq.Friend, len(fs))
	copy(out, fs)
	return out
}

func cloneGroups(gs []openqq.Group) []openqq.Group {
	out := make([]openqq.Group, len(gs))
	for i, g := range gs {
		g.Members = append([]openqq.Member(nil), g.Members...)
		out[i] = g
	}
	return out
}

func cloneDiscusses(ds []openqq.Discuss) []openqq.Discuss {
	out := make([]openqq.Discuss, len(ds))
	for i, d := range ds {
		d.Members = append([]openqq.DiscussMember{}, d.Members...)
		out[i] = d
	}
	return out
}
