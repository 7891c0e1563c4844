package webqq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openqq-relay/openqq"
)

// resolver names the people and places of one poll batch. A miss triggers
// one refresh of the list concerned per batch (spec §18.2); what is still
// unknown afterwards is dropped, as the original's ignore_unknown_id.
type resolver struct {
	c         *Client // nil: never refresh (tests, fuzzing)
	ctx       context.Context
	ct        *openqq.Contacts
	refreshed map[string]bool
}

func (r *resolver) refresh(key string, load func() error) bool {
	if r.c == nil || r.refreshed[key] {
		return false
	}
	r.refreshed[key] = true
	if err := load(); err != nil {
		r.c.log.WarnContext(r.ctx, "contact refresh failed", "what", key, "err", err)
	}
	if ct := r.c.contacts(); ct != nil {
		r.ct = ct
	}
	return true
}

func (r *resolver) friend(id openqq.ID) *openqq.Friend {
	if f := r.ct.Friend(id); f != nil {
		return f
	}
	if r.refresh("friends", func() error { return r.c.refreshFriends(r.ctx) }) {
		return r.ct.Friend(id)
	}
	return nil
}

func (r *resolver) group(gid openqq.ID) *openqq.Group {
	if g := r.ct.Group(gid); g != nil {
		return g
	}
	if r.refresh("groups", func() error { return r.c.refreshGroups(r.ctx) }) {
		return r.ct.Group(gid)
	}
	return nil
}

func (r *resolver) member(gid, id openqq.ID) (*openqq.Group, *openqq.Member) {
	g := r.group(gid)
	if g == nil {
		return nil, nil
	}
	if m := g.Member(id); m != nil {
		return g, m
	}
	key := fmt.Sprint("group ", gid)
	if r.refresh(key, func() error { return r.c.refreshGroup(r.ctx, gid) }) {
		if g = r.ct.Group(gid); g != nil {
			return g, g.Member(id)
		}
	}
	return g, nil
}

func (r *resolver) discuss(did openqq.ID) *openqq.Discuss {
	if d := r.ct.Discuss(did); d != nil {
		return d
	}
	if r.refresh("discusses", func() error { return r.c.refreshDiscusses(r.ctx) }) {
		return r.ct.Discuss(did)
	}
	return nil
}

func (r *resolver) discussMember(did, id openqq.ID) (*openqq.Discuss, *openqq.DiscussMember) {
	d := r.discuss(did)
	if d == nil {
		return nil, nil
	}
	if m := d.Member(id); m != nil {
		return d, m
	}
	key := fmt.Sprint("discuss ", did)
	if r.refresh(key, func() error { return r.c.refreshDiscuss(r.ctx, did) }) {
		if d = r.ct.Discuss(did); d != nil {
			return d, d.Member(id)
		}
	}
	return d, nil
}

// errDropped marks an item that yields no message (own message, unknown
// sender, ignored content); it is not a failure.
var errDropped = errors.New("dropped")

// messages converts the items of a poll2 batch, in order.
func (c *Client) messages(ctx context.Context, items []pollItem) ([]openqq.Message, error) {
	if len(items) == 0 {
		return nil, nil
	}
	ct := c.contacts()
	if ct == nil {
		// Nothing loaded yet: load everything once to name the senders.
		if _, err := c.Contacts(ctx); err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if ct = c.contacts(); ct == nil {
			ct = &openqq.Contacts{}
		}
	}
	r := &resolver{c: c, ctx: ctx, ct: ct, refreshed: map[string]bool{}}
	var out []openqq.Message
	for _, it := range items {
		switch it.Type {
		case "kick_message":
			reason := "您已被迫下线"
			if it.Value.ShowReason == 1 && it.Value.Reason != "" {
				reason = string(it.Value.Reason)
			}
			c.log.ErrorContext(ctx, "forced offline", "reason", reason)
			return out, fmt.Errorf("webqq: poll2: %s: %w", reason, openqq.ErrForcedOffline)
		case "buddies_status_change":
			c.friendPresence(it.Value)
			continue
		}
		m, err := buildMessage(r, it, time.Now())
		if err != nil {
			if !errors.Is(err, errDropped) {
				c.log.WarnContext(ctx, "message dropped", "poll_type", it.Type, "err", err)
			} else {
				c.log.DebugContext(ctx, "message dropped", "poll_type", it.Type, "err", err)
			}
			continue
		}
		c.log.DebugContext(ctx, "message received", "type", m.Type, "id", m.ID)
		out = append(out, m)
	}
	return out, nil
}

// friendPresence applies a buddies_status_change to the cached friend.
func (c *Client) friendPresence(v pollValue) {
	c.editContacts(func(ct *openqq.Contacts) {
		for i := range ct.Friends {
			if ct.Friends[i].ID == v.UIN {
				fs := cloneFriends(ct.Friends)
				fs[i].State, fs[i].ClientType = string(v.Status), clientTypeName(int64(v.ClientType))
				ct.Friends = fs
				return
			}
		}
	})
}

// buildMessage turns one poll item into a received message with the
// fields of spec §5.2. now is the time of group file notices.
func buildMessage(r *resolver, it pollItem, now time.Time) (openqq.Message, error) {
	v := it.Value
	me := r.ct.User
	m := openqq.Message{Class: openqq.ClassRecv, ID: v.MsgID, Time: v.Time, ReceiverID: v.ToUIN,
		Receiver: me.DisplayName(), ReceiverUID: me.UID}
	var err error
	switch it.Type {
	case "message":
		m.Type, m.SenderID = openqq.FriendMessage, v.FromUIN
		if err = notSelf(me, v.FromUIN); err != nil {
			return m, err
		}
		f := r.friend(v.FromUIN)
		if f == nil {
			return m, fmt.Errorf("unknown friend %d: %w", v.FromUIN, errDropped)
		}
		m.Sender, m.SenderUID = f.DisplayName(), f.UID
		m.Content, err = convertContent(v.Content)
	case "group_message", "group_web_message":
		m.Type, m.SenderID, m.GroupID = openqq.GroupMessage, v.SendUIN, v.FromUIN
		if err = notSelf(me, v.SendUIN); err != nil {
			return m, err
		}
		if it.Type == "group_web_message" {
			file, ok := sharedFile(string(v.XML))
			if !ok {
				return m, fmt.Errorf("group web message is not a file share: %w", errDropped)
			}
			m.Content, m.Time = "共享文件 ["+file+"]", openqq.Int(now.Unix())
		} else if isJunkGroupContent(v.Content) {
			return m, fmt.Errorf("junk group content: %w", errDropped)
		} else if m.Content, err = convertContent(v.Content); err != nil {
			return m, err
		}
		err = r.fillGroup(&m, v.FromUIN, v.SendUIN)
	case "discu_message":
		m.Type, m.SenderID, m.DiscussID = openqq.DiscussMessage, v.SendUIN, v.DID
		if err = notSelf(me, v.SendUIN); err != nil {
			return m, err
		}
		if m.Content, err = convertContent(v.Content); err != nil {
			return m, err
		}
		err = r.fillDiscuss(&m, v.DID, v.SendUIN)
	case "sess_message":
		m.Type, m.SenderID = openqq.SessMessage, v.FromUIN
		if err = notSelf(me, v.FromUIN); err != nil {
			return m, err
		}
		if m.Content, err = convertContent(v.Content); err != nil {
			return m, err
		}
		err = r.fillSess(&m, v)
	default:
		return m, fmt.Errorf("poll_type %q not handled: %w", it.Type, errDropped)
	}
	return m, err
}

// notSelf drops our own messages synced from other devices (the original's
// allow_message_sync is off by default).
func notSelf(me openqq.User, sender openqq.ID) error {
	if sender != 0 && sender == me.ID {
		return fmt.Errorf("own message: %w", errDropped)
	}
	return nil
}

func (r *resolver) fillGroup(m *openqq.Message, gid, sender openqq.ID) error {
	g, mem := r.member(gid, sender)
	if g == nil {
		return fmt.Errorf("unknown group %d: %w", gid, errDropped)
	}
	if mem == nil {
		return fmt.Errorf("unknown member %d of group %d: %w", sender, gid, errDropped)
	}
	m.Group, m.GroupUID = g.DisplayName(), g.UID
	m.Sender, m.SenderUID = r.ct.MemberDisplayName(mem), mem.UID
	if self := g.Member(r.ct.User.ID); self != nil {
		m.Receiver = self.DisplayName() // self as a member: card or name
	}
	return nil
}

func (r *resolver) fillDiscuss(m *openqq.Message, did, sender openqq.ID) error {
	d, mem := r.discussMember(did, sender)
	if d == nil {
		return fmt.Errorf("unknown discussion %d: %w", did, errDropped)
	}
	if mem == nil {
		return fmt.Errorf("unknown member %d of discussion %d: %w", sender, did, errDropped)
	}
	m.Discuss = d.Name
	m.Sender, m.SenderUID = r.discussMemberName(mem), mem.UID
	return nil
}

// discussMemberName is the friend markname of a member who is a friend,
// else the member's name (spec §4.5).
func (r *resolver) discussMemberName(mem *openqq.DiscussMember) string {
	if f := r.ct.Friend(mem.ID); f != nil && f.Markname != nil && *f.Markname != "" {
		return *f.Markname
	}
	return mem.Name
}

// fillSess names a temporary message by the group (service_type 0) or
// discussion (1) it came through; other service types are skipped.
func (r *resolver) fillSess(m *openqq.Message, v pollValue) error {
	if v.ServiceType == nil {
		return fmt.Errorf("sess message without service_type: %w", errDropped)
	}
	switch *v.ServiceType {
	case 0:
		m.Via, m.GroupID = "group", v.ID
		g, mem := r.member(v.ID, v.FromUIN)
		if g == nil || mem == nil {
			return fmt.Errorf("unknown sess sender %d via group %d: %w", v.FromUIN, v.ID, errDropped)
		}
		m.Group, m.GroupUID = g.DisplayName(), g.UID
		m.Sender, m.SenderUID = r.ct.MemberDisplayName(mem), mem.UID
	case 1:
		m.Via, m.DiscussID = "discuss", v.ID
		d, mem := r.discussMember(v.ID, v.FromUIN)
		if d == nil || mem == nil {
			return fmt.Errorf("unknown sess sender %d via discussion %d: %w", v.FromUIN, v.ID, errDropped)
		}
		m.Discuss = d.Name
		m.Sender, m.SenderUID = r.discussMemberName(mem), mem.UID
	default:
		return fmt.Errorf("sess service_type %d: %w", *v.ServiceType, errDropped)
	}
	return nil
}
