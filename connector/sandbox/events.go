package sandbox

import (
	"encoding/json"
	"fmt"
	"time"
)

// Incoming traffic: what the other side of the account says, delivered
// through poll2 (spec §18.2).

// Message types for Message.Type.
const (
	MessageFriend  = "friend"
	MessageGroup   = "group"
	MessageDiscuss = "discuss"
	MessageSess    = "sess"
)

// Message is an incoming message to deliver through poll2.
type Message struct {
	Type    string `json:"type"`              // MessageFriend, MessageGroup, MessageDiscuss or MessageSess
	From    int64  `json:"from"`              // the sender's session id
	Group   int64  `json:"group,omitempty"`   // gid: group messages, and sess messages via a group
	Discuss int64  `json:"discuss,omitempty"` // did: discussion messages, and sess messages via a discussion
	// Text is the message, with [face name] tokens (spec §5.5) turned into
	// face elements.
	Text string `json:"text,omitempty"`
	// Content, when set, is delivered as the content array verbatim instead
	// of Text (a picture-only [["font",…]], unknown elements, …).
	Content json.RawMessage `json:"content,omitempty"`
	Time    int64           `json:"time,omitempty"` // epoch seconds; 0 means now
}

// Push queues an incoming message for the next poll2 and returns its msg_id.
// The sender must be a friend, or a member of the group or discussion; a
// group or discussion message may come from the account itself (a message
// sent from another device).
func (s *Server) Push(msg Message) (int64, error) {
	var content any
	switch {
	case len(msg.Content) > 0:
		var arr []json.RawMessage
		if json.Unmarshal(msg.Content, &arr) != nil {
			return 0, fmt.Errorf("%w: content is not a JSON array", ErrInvalid)
		}
		content = msg.Content
	case msg.Text != "":
		content = textContent(msg.Text)
	default:
		return 0, fmt.Errorf("%w: empty message", ErrInvalid)
	}
	if msg.Time == 0 {
		msg.Time = time.Now().Unix()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	self := s.m.self.id
	s.msgSeq++
	v := map[string]any{"content": content, "msg_id": s.msgSeq, "time": msg.Time, "to_uin": self}
	pollType := ""
	switch msg.Type {
	case MessageFriend:
		if s.m.friend(msg.From) == nil {
			return 0, fmt.Errorf("%w: friend %d", ErrNotFound, msg.From)
		}
		pollType, v["from_uin"] = "message", msg.From
	case MessageGroup:
		g := s.m.group(msg.Group)
		if g == nil || g.member(msg.From) == nil {
			return 0, fmt.Errorf("%w: group %d member %d", ErrNotFound, msg.Group, msg.From)
		}
		pollType, v["from_uin"], v["send_uin"], v["group_code"] = "group_message", g.gid, msg.From, g.code
	case MessageDiscuss:
		d := s.m.discuss(msg.Discuss)
		if d == nil || d.member(msg.From) == nil {
			return 0, fmt.Errorf("%w: discussion %d member %d", ErrNotFound, msg.Discuss, msg.From)
		}
		pollType, v["did"], v["from_uin"], v["send_uin"] = "discu_message", d.did, d.did, msg.From
	case MessageSess:
		ss := sessSig{id: msg.Group, to: msg.From}
		if msg.Discuss != 0 {
			ss = sessSig{id: msg.Discuss, to: msg.From, serviceType: 1}
		}
		if (msg.Group == 0) == (msg.Discuss == 0) {
			return 0, fmt.Errorf("%w: a sess message names one group or one discussion", ErrInvalid)
		}
		if !s.reachableLocked(ss) {
			return 0, fmt.Errorf("%w: member %d of %d", ErrNotFound, msg.From, ss.id)
		}
		pollType, v["from_uin"], v["id"], v["service_type"] = "sess_message", msg.From, ss.id, ss.serviceType
		v["flags"] = map[string]int{"text": 1, "pic": 1, "file": 1, "audio": 1, "video": 1}
	default:
		return 0, fmt.Errorf("%w: message type %q", ErrInvalid, msg.Type)
	}
	s.queueLocked(event{PollType: pollType, Value: v})
	return s.msgSeq, nil
}

func (s *Server) queueLocked(e event) {
	s.events = append(s.events, e)
	s.notifyLocked()
}

// SetStatus changes a friend's online state and queues the
// buddies_status_change event the service sent for it.
func (s *Server) SetStatus(id int64, status string, clientType int) error {
	if statusCodes[status] == 0 || status == "hidden" {
		return fmt.Errorf("%w: status %q", ErrInvalid, status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.m.friend(id)
	if f == nil {
		return fmt.Errorf("%w: friend %d", ErrNotFound, id)
	}
	f.status, f.clientType = status, clientType
	if status == "offline" {
		f.clientType = 0
	}
	s.queueLocked(event{PollType: "buddies_status_change", Value: map[string]any{
		"uin": id, "status": status, "client_type": clientType,
	}})
	return nil
}

// PushGroupFile queues the group_web_message a member's shared file upload
// produced (spec §18.2) and returns its msg_id.
func (s *Server) PushGroupFile(gid, from int64, file string) (int64, error) {
	if file == "" {
		return 0, fmt.Errorf("%w: empty file name", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.m.group(gid)
	if g == nil || g.member(from) == nil {
		return 0, fmt.Errorf("%w: group %d member %d", ErrNotFound, gid, from)
	}
	mb := g.member(from)
	s.msgSeq++
	xml := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><d><n t="h" u="%d" i="%d" s="%s"/><n t="t" s="共享文件"/><n t="b"/><n t="t" s="%s"/></d>`,
		mb.uid, mb.id, escapeName(mb.nick), escapeName(file))
	s.queueLocked(event{PollType: "group_web_message", Value: map[string]any{
		"from_uin": g.gid, "group_code": g.code, "group_type": 1, "msg_id": s.msgSeq, "send_uin": from,
		"to_uin": s.m.self.id, "ver": 1, "xml": xml,
	}})
	return s.msgSeq, nil
}
