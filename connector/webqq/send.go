package webqq

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/openqq-relay/openqq"
)

// Send status texts (spec §5.6).
const (
	msgOK        = "发送成功"
	msgFailed    = "发送失败"
	infoOK       = "发送正常"
	infoNotInit  = "未初始化"
	infoBadData  = "数据格式错误"
	infoError    = "发送异常"
	infoTTL      = "TTL失效"
	infoNoSig    = "无法获取到sess_sig"
	maxSendFails = 5 // consecutive -3 results before a relogin (spec §5.4)
)

// sendQueue is the one FIFO every outgoing message goes through: each
// dispatch gets the slot max(now, previous slot + interval), in the order
// the slots were asked for (spec §5.4). A retry asks for a new slot, so it
// queues behind the messages already waiting.
type sendQueue struct {
	mu   sync.Mutex // guards last
	last time.Time
}

func (q *sendQueue) reserve(interval time.Duration) time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	slot := time.Now()
	if next := q.last.Add(interval); !q.last.IsZero() && next.After(slot) {
		slot = next
	}
	q.last = slot
	return slot
}

// Send sends one message through the global queue, with the configured
// spacing and attempts, and returns it as sent: class send, with from,
// ttl (attempts left), source local, the dispatch time and the final
// code/msg/info of spec §5.6: a failed send is a result, not an error.
// The error is only for empty content (ErrEmptyContent), a target missing
// from the contacts (the openqq not-found errors of the message type), no
// session (openqq.ErrLoginRequired) or a cancelled ctx.
//
// Sess messages fetch a signature with get_c2cmsg_sig2 through the group or
// discussion first ([GO] spec §6.8: the original looked the group up by the
// member's id and never sent them).
func (c *Client) Send(ctx context.Context, out openqq.Outgoing) (*openqq.Message, error) {
	if out.Content == "" {
		return nil, ErrEmptyContent
	}
	if !c.snapshot().loggedIn {
		return nil, errNotLoggedIn
	}
	msg := &openqq.Message{Type: out.Type, Class: openqq.ClassSend, ID: openqq.ID(c.ids.next()),
		Content: out.Content, From: out.From, TTL: c.sendAttempts, Source: openqq.SourceLocal,
		SendResult: openqq.SendResult{Code: -2, Msg: infoNotInit, Info: infoNotInit}}
	if msg.From == "" {
		msg.From = "code"
	}
	if !c.realBrackets {
		msg.Content = fullWidthBrackets(msg.Content)
	}
	t, err := c.sendTarget(ctx, out, msg)
	if err != nil {
		return nil, err
	}
	wire, err := wireContent(msg.Content)
	if err != nil {
		return nil, err
	}
	for {
		slot := c.queue.reserve(c.sendInterval)
		if err := sleep(ctx, time.Until(slot)); err != nil {
			return nil, err
		}
		msg.Time = openqq.Int(slot.Unix())
		if msg.TTL <= 0 {
			msg.SendResult = openqq.SendResult{Code: -5, Msg: msgFailed, Info: infoTTL}
			break
		}
		msg.TTL--
		msg.SendResult = c.dispatch(ctx, t, msg, wire)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.countSendResult(msg.Code)
		if msg.OK() || msg.TTL <= 0 || (t.kind == openqq.DiscussMessage && msg.Code == -3) {
			break
		}
		c.log.WarnContext(ctx, "send failed, queued again", "type", msg.Type, "id", msg.ID,
			"code", msg.Code, "info", msg.Info, "ttl", msg.TTL)
	}
	c.log.DebugContext(ctx, "message sent", "type", msg.Type, "id", msg.ID, "code", msg.Code)
	return msg, nil
}

// countSendResult keeps the -3 counter: five in a row ask for a relogin,
// which the next Poll reports (spec §5.4).
func (c *Client) countSendResult(code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case code == 0:
		c.sess.sendFails = 0
	case code == -3:
		c.sess.sendFails++
		if c.sess.sendFails >= maxSendFails {
			c.sess.sendFails = 0
			c.sess.relogin = fmt.Errorf("webqq: send: %d send errors in a row: %w", maxSendFails, openqq.ErrLoginRequired)
		}
	}
}

// sendTarget is where a message goes on the wire.
type sendTarget struct {
	kind        string    // the message type
	id          openqq.ID // friend, group gid, did, or sess member
	via         openqq.ID // sess: the group gid or did
	serviceType int       // sess: 0 group, 1 discussion
	face        int64
}

// sendTarget resolves the target in the contacts (refreshing a missing
// list once) and fills the names of spec §5.2 into msg.
func (c *Client) sendTarget(ctx context.Context, out openqq.Outgoing, msg *openqq.Message) (sendTarget, error) {
	ct := c.contacts()
	if ct == nil {
		if _, err := c.Contacts(ctx); err != nil && ctx.Err() != nil {
			return sendTarget{}, ctx.Err()
		}
		if ct = c.contacts(); ct == nil {
			ct = &openqq.Contacts{}
		}
	}
	r := &resolver{c: c, ctx: ctx, ct: ct, refreshed: map[string]bool{}}
	me := ct.User
	msg.SenderID, msg.Sender, msg.SenderUID = me.ID, me.DisplayName(), me.UID
	t := sendTarget{kind: out.Type, id: out.TargetID, face: int64(me.Face)}
	if t.face == 0 {
		t.face = 591
	}
	switch out.Type {
	case openqq.FriendMessage:
		if me.Face == 0 {
			t.face = 570
		}
		f := r.friend(out.TargetID)
		if f == nil {
			return t, openqq.ErrFriendNotFound
		}
		msg.ReceiverID, msg.Receiver, msg.ReceiverUID = f.ID, f.DisplayName(), f.UID
	case openqq.GroupMessage:
		g := r.group(out.TargetID)
		if g == nil {
			return t, openqq.ErrGroupNotFound
		}
		msg.GroupID, msg.Group, msg.GroupUID = g.ID, g.DisplayName(), g.UID
		if m := g.Member(me.ID); m != nil {
			msg.SenderID, msg.Sender = m.ID, m.DisplayName()
		}
	case openqq.DiscussMessage:
		d := r.discuss(out.TargetID)
		if d == nil {
			return t, openqq.ErrDiscussNotFound
		}
		msg.DiscussID, msg.Discuss = d.ID, d.Name
		if m := d.Member(me.ID); m != nil {
			msg.SenderID, msg.Sender = m.ID, m.Name
		}
	case openqq.SessMessage:
		return t, c.sessTarget(r, out, msg, &t)
	default:
		return t, fmt.Errorf("webqq: send: unknown message type %q", out.Type)
	}
	return t, nil
}

func (c *Client) sessTarget(r *resolver, out openqq.Outgoing, msg *openqq.Message, t *sendTarget) error {
	switch {
	case out.GroupID != 0:
		g, m := r.member(out.GroupID, out.TargetID)
		if g == nil || m == nil {
			return openqq.ErrGroupMemberNotFound
		}
		t.via, t.serviceType = g.ID, 0
		msg.Via, msg.GroupID, msg.Group, msg.GroupUID = "group", g.ID, g.DisplayName(), g.UID
		msg.ReceiverID, msg.Receiver, msg.ReceiverUID = m.ID, r.ct.MemberDisplayName(m), m.UID
	case out.DiscussID != 0:
		d, m := r.discussMember(out.DiscussID, out.TargetID)
		if d == nil || m == nil {
			return openqq.ErrDiscussMemberNotFound
		}
		t.via, t.serviceType = d.ID, 1
		msg.Via, msg.DiscussID, msg.Discuss = "discuss", d.ID, d.Name
		msg.ReceiverID, msg.Receiver, msg.ReceiverUID = m.ID, r.discussMemberName(m), m.UID
	default:
		return openqq.ErrSessTargetNotFound
	}
	return nil
}

// dispatch makes one send request and maps its answer (spec §19.1, §5.6).
func (c *Client) dispatch(ctx context.Context, t sendTarget, msg *openqq.Message, wire string) openqq.SendResult {
	s := c.snapshot()
	r := map[string]any{"clientid": clientID, "content": wire, "face": t.face,
		"msg_id": int64(msg.ID), "psessionid": s.psessionid}
	var path string
	switch t.kind {
	case openqq.FriendMessage:
		path, r["to"] = "/channel/send_buddy_msg2", int64(t.id)
	case openqq.GroupMessage:
		path, r["group_uin"] = "/channel/send_qun_msg2", int64(t.id)
	case openqq.DiscussMessage:
		path, r["did"] = "/channel/send_discu_msg2", int64(t.id)
	case openqq.SessMessage:
		sig, err := c.sessSig(ctx, s, t)
		if err != nil {
			c.log.WarnContext(ctx, "sess signature failed", "err", err)
			return openqq.SendResult{Code: -5, Msg: msgFailed, Info: infoNoSig}
		}
		path, r["to"], r["group_sig"], r["service_type"] = "/channel/send_sess_msg2", int64(t.id), sig, t.serviceType
	}
	form, err := rForm(r)
	if err != nil {
		return openqq.SendResult{Code: -1, Msg: msgFailed, Info: infoBadData}
	}
	resp, err := c.do(ctx, call{api: path[len("/channel/"):], method: http.MethodPost, host: hostD1,
		path: path, form: form, referer: refD1})
	if err != nil {
		c.log.WarnContext(ctx, "send request failed", "err", err)
		return openqq.SendResult{Code: -1, Msg: msgFailed, Info: infoBadData}
	}
	return sendStatus(resp.body)
}

// sendStatus maps a send answer to code/msg/info (spec §5.6).
func sendStatus(body []byte) openqq.SendResult {
	var a map[string]json.RawMessage
	if json.Unmarshal(body, &a) != nil || a == nil {
		return openqq.SendResult{Code: -1, Msg: msgFailed, Info: infoBadData}
	}
	if ec, ok := a["errCode"]; ok {
		var code openqq.Int
		var text, errMsg string
		codeOK := json.Unmarshal(ec, &code) == nil
		_ = json.Unmarshal(a["msg"], &text)
		_ = json.Unmarshal(a["errMsg"], &errMsg)
		switch {
		case codeOK && code == 0 && text == "send ok":
			return openqq.SendResult{Code: 0, Msg: msgOK, Info: infoOK}
		case errMsg == "ERROR":
			return openqq.SendResult{Code: -3, Msg: msgFailed, Info: infoError}
		}
		return openqq.SendResult{Code: -4, Msg: msgFailed, Info: "响应未知: " + canonicalJSON(body)}
	}
	if rc, ok := a["retcode"]; ok {
		var code openqq.Int
		if json.Unmarshal(rc, &code) != nil {
			return openqq.SendResult{Code: -5, Msg: msgFailed, Info: "未识别返回值:" + string(rc)}
		}
		switch code {
		case 0:
			return openqq.SendResult{Code: 0, Msg: msgOK, Info: infoOK}
		case 1202, 100100:
			return openqq.SendResult{Code: 0, Msg: msgOK, Info: fmt.Sprintf("忽略返回值: %d", code)}
		}
		return openqq.SendResult{Code: -5, Msg: msgFailed, Info: fmt.Sprintf("未识别返回值:%d", code)}
	}
	// [GO] spec §5.6: the original died here; report the answer instead.
	return openqq.SendResult{Code: -2, Msg: msgFailed, Info: "响应未知: " + canonicalJSON(body)}
}

// canonicalJSON re-encodes a JSON answer as the original logged it
// (sorted keys, Mojo escaping).
func canonicalJSON(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return string(body)
	}
	s, err := encodeR(v)
	if err != nil {
		return string(body)
	}
	return s
}
