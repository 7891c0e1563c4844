package openqq

import (
	"encoding/json"
	"errors"
	"fmt"
)

// post_type values of webhook payloads and check_event items (spec §8.2).
const (
	PostReceiveMessage = "receive_message"
	PostSendMessage    = "send_message"
	PostEvent          = "event"
)

// Event names (spec §3, §8.2).
const (
	EventLogin                       = "login"
	EventStop                        = "stop"
	EventStateChange                 = "state_change"
	EventInputQRCode                 = "input_qrcode"
	EventNewFriend                   = "new_friend"
	EventLoseFriend                  = "lose_friend"
	EventNewGroup                    = "new_group"
	EventLoseGroup                   = "lose_group"
	EventNewGroupMember              = "new_group_member"
	EventLoseGroupMember             = "lose_group_member"
	EventNewDiscuss                  = "new_discuss"
	EventLoseDiscuss                 = "lose_discuss"
	EventNewDiscussMember            = "new_discuss_member"
	EventLoseDiscussMember           = "lose_discuss_member"
	EventFriendPropertyChange        = "friend_property_change"
	EventGroupPropertyChange         = "group_property_change"
	EventGroupMemberPropertyChange   = "group_member_property_change"
	EventUserPropertyChange          = "user_property_change"
	EventDiscussPropertyChange       = "discuss_property_change"
	EventDiscussMemberPropertyChange = "discuss_member_property_change"
)

// DefaultPostEventList is the original's default post_event_list (spec §6.1).
var DefaultPostEventList = []string{
	EventLogin, EventStop, EventStateChange, EventInputQRCode,
	EventNewGroup, EventNewFriend, EventNewGroupMember,
	EventLoseGroup, EventLoseFriend, EventLoseGroupMember,
}

// Event is a non-message event: {"post_type":"event","event":…,"params":[…]}.
type Event struct {
	Name   string `json:"event"`
	Params []any  `json:"params"`
}

// Post is one item of the events stream: what post_api receives and what
// check_event returns. Exactly one of Message and Event is set.
type Post struct {
	PostType string // PostReceiveMessage, PostSendMessage or PostEvent
	Message  *Message
	Event    *Event
}

// NewMessagePost wraps a message, choosing post_type from its class.
func NewMessagePost(m *Message) Post {
	t := PostReceiveMessage
	if m.Class == ClassSend {
		t = PostSendMessage
	}
	return Post{PostType: t, Message: m}
}

// NewEventPost wraps an event.
func NewEventPost(name string, params ...any) Post {
	if params == nil {
		params = []any{}
	}
	return Post{PostType: PostEvent, Event: &Event{Name: name, Params: params}}
}

// Name is the event name, or the message type for messages.
func (p Post) Name() string {
	if p.Event != nil {
		return p.Event.Name
	}
	if p.Message != nil {
		return p.Message.Type
	}
	return ""
}

// MarshalJSON writes the original's payload: the message fields plus
// post_type, or post_type, event and params.
func (p Post) MarshalJSON() ([]byte, error) {
	switch {
	case p.Message != nil:
		o := p.Message.fields()
		o["post_type"] = p.PostType
		return json.Marshal(o)
	case p.Event != nil:
		params := p.Event.Params
		if params == nil {
			params = []any{}
		}
		return json.Marshal(map[string]any{"post_type": PostEvent, "event": p.Event.Name, "params": params})
	}
	return nil, errors.New("openqq: empty post")
}

// UnmarshalJSON reads either payload shape.
func (p *Post) UnmarshalJSON(b []byte) error {
	var head struct {
		PostType string `json:"post_type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	switch head.PostType {
	case PostReceiveMessage, PostSendMessage:
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		*p = Post{PostType: head.PostType, Message: &m}
	case PostEvent:
		var e Event
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		*p = Post{PostType: PostEvent, Event: &e}
	default:
		return fmt.Errorf("openqq: unknown post_type %q", head.PostType)
	}
	return nil
}
