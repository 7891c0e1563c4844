package openqq

import "encoding/json"

// Message types (spec §5.1).
const (
	FriendMessage  = "friend_message"
	GroupMessage   = "group_message"
	DiscussMessage = "discuss_message"
	SessMessage    = "sess_message"
)

// Message classes.
const (
	ClassRecv = "recv"
	ClassSend = "send"
)

// Sources of a sent message.
const (
	SourceLocal = "local" // sent by this client
	SourceOuter = "outer" // synced from another device of the same account
)

// Message is a received or sent QQ message, as posted to webhooks and
// check_event (spec §5.1, §5.2). Which keys appear on the wire depends on
// Type and Class, exactly as in the original; see MarshalJSON.
type Message struct {
	Type    string `json:"type"`
	Class   string `json:"class"`
	ID      ID     `json:"id"`
	Time    Int    `json:"time"`
	Content string `json:"content"`

	SenderID    ID     `json:"sender_id"`
	Sender      string `json:"sender"` // display name
	SenderUID   ID     `json:"sender_uid"`
	ReceiverID  ID     `json:"receiver_id"`
	Receiver    string `json:"receiver"` // display name
	ReceiverUID ID     `json:"receiver_uid"`
	GroupID     ID     `json:"group_id"`
	Group       string `json:"group"` // group display name
	GroupUID    ID     `json:"group_uid"`
	DiscussID   ID     `json:"discuss_id"`
	Discuss     string `json:"discuss"` // discuss name
	Via         string `json:"via"`     // sess messages: "group" or "discuss"

	// Sent messages only.
	From   string `json:"from"`   // "api" when sent through Openqq, else "code"
	TTL    int    `json:"ttl"`    // attempts left
	Source string `json:"source"` // SourceLocal or SourceOuter
	SendResult
}

// SendResult is the outcome of sending a message (spec §5.6). Code 0 is
// success; -1…-5 are the original's failure codes.
type SendResult struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`  // 发送成功 / 发送失败
	Info string `json:"info"` // detail, e.g. 发送正常
}

// OK reports whether the send succeeded.
func (r SendResult) OK() bool { return r.Code == 0 }

// MarshalJSON writes the key set of spec §5.2 for the message's type and
// class. Keys come out sorted, as Mojo::JSON wrote them.
func (m Message) MarshalJSON() ([]byte, error) { return json.Marshal(m.fields()) }

// fields is the message's key set (MarshalJSON), for posts to extend.
func (m Message) fields() map[string]any {
	o := map[string]any{
		"type":    m.Type,
		"class":   m.Class,
		"id":      m.ID,
		"time":    m.Time,
		"content": m.Content,
	}
	send := m.Class == ClassSend
	personal := m.Type == FriendMessage || m.Type == SessMessage
	o["sender_id"], o["sender"], o["sender_uid"] = m.SenderID, m.Sender, m.SenderUID
	if !send || personal {
		o["receiver_id"], o["receiver"], o["receiver_uid"] = m.ReceiverID, m.Receiver, m.ReceiverUID
	}
	switch m.Type {
	case GroupMessage:
		o["group_id"], o["group"], o["group_uid"] = m.GroupID, m.Group, m.GroupUID
	case DiscussMessage:
		o["discuss_id"], o["discuss"] = m.DiscussID, m.Discuss
	case SessMessage:
		o["via"] = m.Via
		if m.Via == "discuss" {
			o["discuss_id"], o["discuss"] = m.DiscussID, m.Discuss
		} else {
			o["group_id"], o["group"], o["group_uid"] = m.GroupID, m.Group, m.GroupUID
		}
	}
	if send {
		o["from"], o["ttl"], o["source"] = m.From, m.TTL, m.Source
		o["code"], o["msg"], o["info"] = m.Code, m.Msg, m.Info
	}
	return o
}

// UnmarshalJSON reads any of the shapes MarshalJSON writes.
func (m *Message) UnmarshalJSON(b []byte) error {
	type plain Message // no methods: plain struct decoding
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*m = Message(p)
	return nil
}
