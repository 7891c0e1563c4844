package webqq

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
)

const fontWire = `[\"font\",{\"color\":\"000000\",\"name\":\"宋体\",\"size\":10,\"style\":[0,0,0]}]`

func TestSendEveryKind(t *testing.T) {
	f := newFakeQQ(t)
	c := loggedInWithContacts(t, f, Options{})
	for _, tc := range []struct {
		out   openqq.Outgoing
		path  string
		r     string // r= without msg_id
		check func(t *testing.T, m *openqq.Message)
	}{
		{openqq.Outgoing{Type: openqq.FriendMessage, TargetID: 1, Content: "hi[微笑] <b>", From: "api"},
			"/channel/send_buddy_msg2",
			`{"clientid":53999199,"content":"[\"hi\",[\"face\",14],\" ＜b＞\",` + fontWire + `]","face":570,"psessionid":"psid0123","to":1}`,
			func(t *testing.T, m *openqq.Message) {
				if m.Sender != "小灰" || m.SenderID != 10001 || m.SenderUID != 10001 || m.Receiver != "阿丽" || m.ReceiverID != 1 ||
					m.From != "api" || m.Content != "hi[微笑] ＜b＞" {
					t.Errorf("friend message %+v", m)
				}
			}},
		{openqq.Outgoing{Type: openqq.GroupMessage, TargetID: 100, Content: "hello"},
			"/channel/send_qun_msg2",
			`{"clientid":53999199,"content":"[\"hello\",` + fontWire + `]","face":591,"group_uin":100,"psessionid":"psid0123"}`,
			func(t *testing.T, m *openqq.Message) {
				if m.Group != "测试群" || m.GroupID != 100 || m.Sender != "群主卡" || m.From != "code" {
					t.Errorf("group message %+v", m)
				}
			}},
		{openqq.Outgoing{Type: openqq.DiscussMessage, TargetID: 300, Content: "d"},
			"/channel/send_discu_msg2",
			`{"clientid":53999199,"content":"[\"d\",` + fontWire + `]","did":300,"face":591,"psessionid":"psid0123"}`,
			func(t *testing.T, m *openqq.Message) {
				if m.Discuss != "讨论组" || m.DiscussID != 300 || m.Sender != "小灰" {
					t.Errorf("discuss message %+v", m)
				}
			}},
		{openqq.Outgoing{Type: openqq.SessMessage, TargetID: 4, GroupID: 100, Content: "s"},
			"/channel/send_sess_msg2",
			`{"clientid":53999199,"content":"[\"s\",` + fontWire + `]","face":591,"group_sig":"SIG-100-4","psessionid":"psid0123","service_type":0,"to":4}`,
			func(t *testing.T, m *openqq.Message) {
				if m.Via != "group" || m.Receiver != "Dave" || m.Group != "测试群" {
					t.Errorf("sess message %+v", m)
				}
			}},
		{openqq.Outgoing{Type: openqq.SessMessage, TargetID: 5, DiscussID: 300, Content: "s2"},
			"/channel/send_sess_msg2",
			`{"clientid":53999199,"content":"[\"s2\",` + fontWire + `]","face":591,"group_sig":"SIG-300-5","psessionid":"psid0123","service_type":1,"to":5}`,
			func(t *testing.T, m *openqq.Message) {
				if m.Via != "discuss" || m.Receiver != "Eve" || m.ReceiverUID != 20005 || m.Discuss != "讨论组" {
					t.Errorf("sess message %+v", m)
				}
			}},
	} {
		before := len(f.requests(tc.path))
		m, err := c.Send(t.Context(), tc.out)
		if err != nil {
			t.Fatalf("%s: %v", tc.out.Type, err)
		}
		if m.Class != "send" || m.Source != "local" || m.Code != 0 || m.Msg != "发送成功" || m.Info != "发送正常" ||
			m.TTL != DefaultSendAttempts-1 || m.Time == 0 || m.ID == 0 || m.Type != tc.out.Type {
			t.Errorf("%s: result %+v", tc.out.Type, m)
		}
		tc.check(t, m)
		reqs := f.requests(tc.path)
		if len(reqs) != before+1 {
			t.Fatalf("%s: %d requests", tc.path, len(reqs)-before)
		}
		r := reqs[len(reqs)-1].Form.Get("r")
		msgID := `"msg_id":` + m.ID.String() + `,`
		if !strings.Contains(r, msgID) || strings.Replace(r, msgID, "", 1) != tc.r {
			t.Errorf("%s r=\n%s\nwant (with %s)\n%s", tc.path, r, msgID, tc.r)
		}
	}
	sig := f.requests("/channel/get_c2cmsg_sig2")
	if len(sig) != 2 || !strings.HasPrefix(sig[0].Query, "id=100&to_uin=4&service_type=0&clientid=53999199&psessionid=psid0123&t=") {
		t.Errorf("sess signatures %v", sig)
	}
	// The signature is cached.
	if _, err := c.Send(t.Context(), openqq.Outgoing{Type: openqq.SessMessage, TargetID: 4, GroupID: 100, Content: "again"}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests("/channel/get_c2cmsg_sig2")); n != 2 {
		t.Errorf("%d signature requests, want the cached one reused", n)
	}
}

func TestSendRetriesAndStatus(t *testing.T) {
	for _, tc := range []struct {
		description string
		kind        string
		target      openqq.ID
		answers     []string
		attempts    int
		want        openqq.SendResult
		sends, ttl  int
	}{
		{"retry until success", openqq.FriendMessage, 1, []string{`{"retcode":100001}`, `{"errCode":1,"errMsg":"ERROR"}`, `{"retcode":0}`}, 0,
			openqq.SendResult{Code: 0, Msg: "发送成功", Info: "发送正常"}, 3, 0},
		{"attempts exhausted", openqq.GroupMessage, 100, []string{`{"retcode":100001}`, `{"retcode":100001}`, `{"retcode":100003}`}, 0,
			openqq.SendResult{Code: -5, Msg: "发送失败", Info: "未识别返回值:100003"}, 3, 0},
		{"1202 ignored as success", openqq.FriendMessage, 1, []string{`{"retcode":1202,"errmsg":""}`}, 0,
			openqq.SendResult{Code: 0, Msg: "发送成功", Info: "忽略返回值: 1202"}, 1, 2},
		{"discuss -3 not retried", openqq.DiscussMessage, 300, []string{`{"errCode":1,"errMsg":"ERROR"}`}, 0,
			openqq.SendResult{Code: -3, Msg: "发送失败", Info: "发送异常"}, 1, 2},
		{"html answer", openqq.FriendMessage, 1, []string{`<html>`, `<html>`}, 2,
			openqq.SendResult{Code: -1, Msg: "发送失败", Info: "数据格式错误"}, 2, 0},
		{"no attempts at all", openqq.FriendMessage, 1, nil, -1,
			openqq.SendResult{Code: -5, Msg: "发送失败", Info: "TTL失效"}, 0, 0},
	} {
		t.Run(tc.description, func(t *testing.T) {
			f := newFakeQQ(t)
			c := loggedInWithContacts(t, f, Options{SendAttempts: tc.attempts})
			f.sends = tc.answers
			m, err := c.Send(t.Context(), openqq.Outgoing{Type: tc.kind, TargetID: tc.target, Content: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if m.SendResult != tc.want || m.TTL != tc.ttl {
				t.Errorf("result %+v ttl %d, want %+v ttl %d", m.SendResult, m.TTL, tc.want, tc.ttl)
			}
			n := 0
			for _, p := range []string{"send_buddy_msg2", "send_qun_msg2", "send_discu_msg2"} {
				reqs := f.requests("/channel/" + p)
				n += len(reqs)
				for _, r := range reqs[min(1, len(reqs)):] {
					if rParam(t, r)["msg_id"] != rParam(t, reqs[0])["msg_id"] {
						t.Error("a retry changed the msg_id")
					}
				}
			}
			if n != tc.sends {
				t.Errorf("%d send requests, want %d", n, tc.sends)
			}
		})
	}
}

func TestSendFailuresRequestRelogin(t *testing.T) {
	f := newFakeQQ(t)
	c := loggedInWithContacts(t, f, Options{SendAttempts: 1})
	for i := range maxSendFails {
		f.sends = []string{`{"errCode":1,"errMsg":"ERROR"}`}
		m, err := c.Send(t.Context(), openqq.Outgoing{Type: openqq.FriendMessage, TargetID: 1, Content: "x"})
		if err != nil || m.Code != -3 {
			t.Fatalf("send %d: %+v, %v", i, m, err)
		}
	}
	if _, err := c.Poll(t.Context()); !errors.Is(err, openqq.ErrLoginRequired) {
		t.Errorf("Poll after five -3: %v", err)
	}
	if _, err := c.Poll(t.Context()); err != nil {
		t.Errorf("the relogin request is reported once: %v", err)
	}
}

func TestSendErrors(t *testing.T) {
	f := newFakeQQ(t)
	c := loggedInWithContacts(t, f, Options{})
	for _, tc := range []struct {
		out  openqq.Outgoing
		want error
	}{
		{openqq.Outgoing{Type: openqq.FriendMessage, TargetID: 1, Content: ""}, openqq.ErrContentMissing},
		{openqq.Outgoing{Type: openqq.FriendMessage, TargetID: 99, Content: "x"}, openqq.ErrFriendNotFound},
		{openqq.Outgoing{Type: openqq.GroupMessage, TargetID: 99, Content: "x"}, openqq.ErrGroupNotFound},
		{openqq.Outgoing{Type: openqq.DiscussMessage, TargetID: 99, Content: "x"}, openqq.ErrDiscussNotFound},
		{openqq.Outgoing{Type: openqq.SessMessage, TargetID: 99, GroupID: 100, Content: "x"}, openqq.ErrGroupMemberNotFound},
		{openqq.Outgoing{Type: openqq.SessMessage, TargetID: 99, DiscussID: 300, Content: "x"}, openqq.ErrDiscussMemberNotFound},
		{openqq.Outgoing{Type: openqq.SessMessage, TargetID: 4, Content: "x"}, openqq.ErrSessTargetNotFound},
	} {
		if _, err := c.Send(t.Context(), tc.out); !errors.Is(err, tc.want) {
			t.Errorf("Send(%+v) = %v, want %v", tc.out, err, tc.want)
		}
	}
	for _, p := range []string{"send_buddy_msg2", "send_qun_msg2", "send_discu_msg2", "send_sess_msg2"} {
		if n := len(f.requests("/channel/" + p)); n != 0 {
			t.Errorf("%d requests to %s", n, p)
		}
	}
}

func TestSendQueueSpacing(t *testing.T) {
	var q sendQueue
	const interval = time.Hour // slots only, nothing waits
	a := q.reserve(interval)
	b := q.reserve(interval)
	c := q.reserve(interval)
	if b.Sub(a) != interval || c.Sub(b) != interval {
		t.Errorf("slots %v %v %v: want one interval apart, in order", a, b, c)
	}
	var none sendQueue
	if x, y := none.reserve(0), none.reserve(0); y.Before(x) {
		t.Errorf("zero spacing slots out of order: %v %v", x, y)
	}
}
