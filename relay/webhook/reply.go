package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"

	"github.com/openqq-relay/openqq"
)

// defaultShutupSeconds is the mute length when a reply asks for a shutup
// without shutup_time (spec §8.3: seconds, not the API's minutes).
const defaultShutupSeconds = 60

// maxReplyBody bounds how much of a receiver's answer is read for a reply.
const maxReplyBody = 1 << 20

// quickReply is a receiver's answer to a message post (spec §8.3).
type quickReply struct {
	Reply       *string // nil: no reply asked
	Shutup      bool
	ShutupSecs  int64
	shutupError error // a shutup was asked with a bad shutup_time
}

// isJSON reports whether a Content-Type names JSON the way the original
// matched it: a substring test for application/json or text/json.
func isJSON(contentType string) bool {
	ct := strings.ToLower(contentType)
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	return strings.Contains(ct, "application/json") || strings.Contains(ct, "text/json")
}

// parseQuickReply decodes a receiver's JSON answer. An empty body is no
// answer at all (NapCat users see needless errors there, ecosystem §2.3).
func parseQuickReply(body []byte) (*quickReply, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("webhook: reply: %w", err)
	}
	q := &quickReply{}
	if v, ok := raw["reply"]; ok {
		s, defined, err := scalarText(v)
		if err != nil {
			return nil, fmt.Errorf("webhook: reply: reply: %w", err)
		}
		if defined {
			q.Reply = &s
		}
	}
	if v, ok := raw["shutup"]; ok {
		s, _, err := scalarText(v)
		if f, perr := strconv.ParseFloat(s, 64); err == nil && perr == nil && f == 1 {
			q.Shutup = true // numeric compare: 1, "1", true and 1.0 all work
		}
	}
	if q.Shutup {
		q.ShutupSecs, q.shutupError = shutupSeconds(raw["shutup_time"])
	}
	return q, nil
}

// shutupSeconds reads shutup_time: absent, null, 0 and "" mean the default
// (the original's `shutup_time || 60`); anything else must be a number.
func shutupSeconds(v json.RawMessage) (int64, error) {
	if v == nil {
		return defaultShutupSeconds, nil
	}
	s, defined, err := scalarText(v)
	if err != nil {
		return 0, fmt.Errorf("shutup_time: %w", err)
	}
	if !defined || s == "" {
		return defaultShutupSeconds, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f < 0 || f > 1<<40 {
		return 0, fmt.Errorf("shutup_time %q: not a number of seconds", s)
	}
	if f < 1 {
		return defaultShutupSeconds, nil
	}
	return int64(f), nil
}

// scalarText turns a JSON scalar into the text Perl would see: strings as
// they are, numbers as written, true/false as "1"/"0". null is undefined.
func scalarText(v json.RawMessage) (s string, defined bool, err error) {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0 || string(v) == "null":
		return "", false, nil
	case v[0] == '"':
		err = json.Unmarshal(v, &s)
		return s, err == nil, err
	case string(v) == "true":
		return "1", true, nil
	case string(v) == "false":
		return "0", true, nil
	case v[0] == '{' || v[0] == '[':
		return "", false, errors.New("not a string or number")
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		return "", false, err
	}
	return n.String(), true, nil
}

// replyCommands turns a quick reply to one message post into commands.
// replyToSent allows replies to send_message reports, which loop forever
// with a receiver that always replies ([GO] spec §8.3 quirk, issue #237).
func replyCommands(post *openqq.Post, formatText bool, q *quickReply, replyToSent bool) ([]*openqq.Command, error) {
	m := post.Message
	if m == nil || q == nil {
		return nil, nil
	}
	var cmds []*openqq.Command
	switch post.PostType {
	case openqq.PostReceiveMessage:
		if q.Reply != nil && *q.Reply != "" {
			c, err := sendCommand(m, *q.Reply, m.SenderID)
			if err != nil {
				return nil, err
			}
			cmds = append(cmds, c)
		}
		if q.Shutup && m.Type == openqq.GroupMessage {
			if q.shutupError != nil {
				return cmds, q.shutupError
			}
			if m.GroupID == 0 || m.SenderID == 0 {
				return cmds, errors.New("shutup: message without group_id or sender_id")
			}
			cmds = append(cmds, &openqq.Command{API: openqq.APIShutupGroupMember, Params: map[string]string{
				"group_id":  m.GroupID.String(),
				"member_id": m.SenderID.String(),
				"seconds":   strconv.FormatInt(q.ShutupSecs, 10),
			}})
		}
	case openqq.PostSendMessage:
		// The original "replies" to its own sent message: it sends again to
		// the same friend, group or discussion, for text messages only.
		if replyToSent && formatText && q.Reply != nil && *q.Reply != "" {
			c, err := sendCommand(m, *q.Reply, m.ReceiverID)
			if err != nil {
				return nil, err
			}
			cmds = append(cmds, c)
		}
	}
	return cmds, nil
}

// sendCommand addresses a reply to the conversation of m; person is the
// other party of a friend or sess conversation.
func sendCommand(m *openqq.Message, content string, person openqq.ID) (*openqq.Command, error) {
	p := map[string]string{"content": content}
	var api string
	var target openqq.ID
	switch m.Type {
	case openqq.FriendMessage:
		api, target, p["id"] = openqq.APISendFriendMessage, person, person.String()
	case openqq.GroupMessage:
		api, target, p["id"] = openqq.APISendGroupMessage, m.GroupID, m.GroupID.String()
	case openqq.DiscussMessage:
		api, target, p["id"] = openqq.APISendDiscussMessage, m.DiscussID, m.DiscussID.String()
	case openqq.SessMessage:
		api, target, p["id"] = openqq.APISendSessMessage, person, person.String()
		if m.Via == "discuss" {
			if m.DiscussID == 0 {
				return nil, errors.New("reply: sess message without discuss_id")
			}
			p["discuss_id"] = m.DiscussID.String()
		} else {
			if m.GroupID == 0 {
				return nil, errors.New("reply: sess message without group_id")
			}
			p["group_id"] = m.GroupID.String()
		}
	default:
		return nil, fmt.Errorf("reply: message type %q", m.Type)
	}
	if target == 0 {
		return nil, fmt.Errorf("reply: %s without a target id", m.Type)
	}
	return &openqq.Command{API: api, Params: p}, nil
}

// commandID is the id of the n-th command caused by one event, so that a
// reply enqueued twice (a crash between enqueue and ack) runs once.
func commandID(account, entryID string, n int) string {
	h := sha256.Sum256([]byte(account + "\x00" + entryID + "\x00" + strconv.Itoa(n)))
	return "wh-" + hex.EncodeToString(h[:12])
}
