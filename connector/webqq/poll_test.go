package webqq

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
)

func loggedInWithContacts(t *testing.T, f *fakeQQ, o Options) *Client {
	t.Helper()
	c, _ := loggedIn(t, f, o)
	if _, err := c.Contacts(t.Context()); err != nil {
		t.Fatalf("contacts: %v", err)
	}
	return c
}

const pollBatchJSON = `{"retcode":0,"result":[
 {"poll_type":"message","value":{"msg_id":11,"from_uin":1,"to_uin":10001,"msg_id2":1,"msg_type":9,"reply_ip":1,"time":1500000001,
   "content":[["font",{"size":10,"color":"000000","style":[0,0,0],"name":"宋体"}],"hi ",["face",14]]}},
 {"poll_type":"group_message","value":{"msg_id":12,"from_uin":100,"send_uin":3,"to_uin":10001,"time":1500000002,"group_code":200,
   "content":[["font",{}],"a &amp; b\r\nc"]}},
 {"poll_type":"discu_message","value":{"msg_id":13,"did":300,"send_uin":5,"from_uin":300,"to_uin":10001,"time":1500000003,
   "content":[["font",{}],":joy:"]}},
 {"poll_type":"sess_message","value":{"msg_id":14,"from_uin":4,"to_uin":10001,"time":1500000004,"id":100,"service_type":0,
   "content":[["font",{}]]}},
 {"poll_type":"sess_message","value":{"msg_id":15,"from_uin":5,"to_uin":10001,"time":1500000005,"id":300,"service_type":1,
   "content":[["font",{}],["cface",{"name":"x"}]]}},
 {"poll_type":"message","value":{"msg_id":16,"from_uin":10001,"to_uin":1,"time":1500000006,"content":[["font",{}],"own"]}},
 {"poll_type":"group_web_message","value":{"msg_id":17,"from_uin":100,"send_uin":1,"to_uin":10001,
   "xml":"<?xml version=\"1.0\"?><d><n t=\"h\" u=\"20001\"/><n t=\"t\" s=\"共享文件\"/><n t=\"t\" s=\"a.pdf\"/></d>"}},
 {"poll_type":"group_message","value":{"msg_id":18,"from_uin":100,"send_uin":3,"to_uin":10001,"time":1,"content":[["font",{}]," \u0000\n\u0000\u0000\u0000\u0000\u0002宋体\r"]}},
 {"poll_type":"input_notify","value":{"from_uin":1}},
 {"poll_type":"message","value":"not an object"},
 {"poll_type":"message","value":{"msg_id":19,"from_uin":77,"to_uin":10001,"time":1,"content":[["font",{}],"stranger"]}},
 {"poll_type":"message","value":{"msg_id":20,"from_uin":78,"to_uin":10001,"time":1,"content":[["font",{}],"stranger"]}},
 {"poll_type":"buddies_status_change","value":{"uin":2,"status":"busy","client_type":21}}
]}`

func TestPollMessages(t *testing.T) {
	f := newFakeQQ(t)
	c := loggedInWithContacts(t, f, Options{})
	friendLoads := len(f.requests("/api/get_user_friends2"))
	f.polls = []string{pollBatchJSON}
	msgs, err := c.Poll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []openqq.Message{
		{Type: "friend_message", Class: "recv", ID: 11, Time: 1500000001, Content: "hi [微笑]", SenderID: 1, Sender: "阿丽",
			ReceiverID: 10001, Receiver: "小灰", ReceiverUID: 10001},
		{Type: "group_message", Class: "recv", ID: 12, Time: 1500000002, Content: "a & b\nc", SenderID: 3, Sender: "卡罗",
			ReceiverID: 10001, Receiver: "群主卡", ReceiverUID: 10001, GroupID: 100, Group: "测试群"},
		{Type: "discuss_message", Class: "recv", ID: 13, Time: 1500000003, Content: "[高兴]", SenderID: 5, Sender: "Eve",
			SenderUID: 20005, ReceiverID: 10001, Receiver: "小灰", ReceiverUID: 10001, DiscussID: 300, Discuss: "讨论组"},
		{Type: "sess_message", Class: "recv", ID: 14, Time: 1500000004, Content: "[图片]", SenderID: 4, Sender: "Dave",
			ReceiverID: 10001, Receiver: "小灰", ReceiverUID: 10001, GroupID: 100, Group: "测试群", Via: "group"},
		{Type: "sess_message", Class: "recv", ID: 15, Time: 1500000005, Content: "[图片]", SenderID: 5, Sender: "Eve",
			SenderUID: 20005, ReceiverID: 10001, Receiver: "小灰", ReceiverUID: 10001, DiscussID: 300, Discuss: "讨论组", Via: "discuss"},
		{Type: "group_message", Class: "recv", ID: 17, Content: "共享文件 [a.pdf]", SenderID: 1, Sender: "阿丽",
			ReceiverID: 10001, Receiver: "群主卡", ReceiverUID: 10001, GroupID: 100, Group: "测试群"},
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d: %+v", len(msgs), len(want), msgs)
	}
	for i := range want {
		got := msgs[i]
		if i == 5 {
			if got.Time < openqq.Int(time.Now().Add(-time.Hour).Unix()) {
				t.Errorf("file notice time %d, want now", got.Time)
			}
			got.Time = 0
		}
		if got != want[i] {
			t.Errorf("message %d\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	// Two unknown friends cost one refresh; the status change reached the cache.
	if n := len(f.requests("/api/get_user_friends2")) - friendLoads; n != 1 {
		t.Errorf("%d friend refreshes, want 1", n)
	}
	if fr := c.contacts().Friend(2); fr.State != "busy" || fr.ClientType != "mobile" {
		t.Errorf("friend 2 after status change: %+v", fr)
	}
	p := f.requests("/channel/poll2")[0].Form.Get("r")
	if p != `{"clientid":53999199,"key":"","psessionid":"`+fakePSID+`","ptwebqq":"`+fakePTW+`"}` {
		t.Errorf("poll2 r=%s", p)
	}
}

func TestPollRetcodes(t *testing.T) {
	for _, tc := range []struct {
		description string
		answers     []string
		loginReq    bool // the last poll reports ErrLoginRequired
		errOther    bool // the last poll reports another error
		check       func(t *testing.T, f *fakeQQ, c *Client)
	}{
		{"idle 102", []string{`{"retcode":102,"errmsg":""}`}, false, false, nil},
		{"ignored codes", []string{`{"retcode":109}`, `{"retcode":110}`, `{"retcode":1202}`, `{"retcode":100012}`, `{"retcode":0,"result":[]}`, `{"retcode":0}`}, false, false, nil},
		{"116 new ptwebqq", []string{`{"retcode":116,"p":"ptw-new"}`, `{"retcode":102}`}, false, false,
			func(t *testing.T, f *fakeQQ, c *Client) {
				polls := f.requests("/channel/poll2")
				last := polls[len(polls)-1]
				if last.Cookies["ptwebqq"] != "ptw-new" || !strings.Contains(last.Form.Get("r"), `"ptwebqq":"ptw-new"`) {
					t.Errorf("after 116: cookie %q, r=%s", last.Cookies["ptwebqq"], last.Form.Get("r"))
				}
			}},
		{"121 relink", []string{`{"retcode":121,"t":"0"}`, `{"retcode":102}`}, false, false,
			func(t *testing.T, f *fakeQQ, c *Client) {
				l2 := f.requests("/channel/login2")
				if r := l2[len(l2)-1].Form.Get("r"); r != `{"clientid":53999199,"key":"","psessionid":"`+fakePSID+`","ptwebqq":"`+fakePTW+`","status":"online"}` {
					t.Errorf("relink r=%s", r)
				}
				polls := f.requests("/channel/poll2")
				last := polls[len(polls)-1]
				if !strings.Contains(last.Form.Get("r"), `"psessionid":"psid-relinked"`) || last.Cookies["skey"] != "@SK2" {
					t.Errorf("after relink: r=%s cookies %v", last.Form.Get("r"), last.Cookies)
				}
			}},
		{"103 lost session", []string{`{"retcode":103,"errmsg":""}`}, true, false, nil},
		{"100 lost session", []string{`{"retcode":100}`}, true, false, nil},
		{"100000 expired", []string{`{"retcode":100000}`}, true, false, nil},
		{"fourth unknown retcode", []string{`{"retcode":5}`, `{"retcode":6}`, `{"retcode":7}`, `{"retcode":8}`}, true, false, nil},
		{"unknown counter reset by 102", []string{`{"retcode":5}`, `{"retcode":6}`, `{"retcode":7}`, `{"retcode":102}`, `{"retcode":8}`}, false, false, nil},
		{"502 and 504 keep polling", []string{"HTTP 502", "HTTP 504", `{"retcode":102}`}, false, false, nil},
		{"500 is transient", []string{"HTTP 500"}, false, true, nil},
		{"truncated json", []string{`{"retcode":0,"result":[{"poll_type":`}, false, true, nil},
		{"html page", []string{`<html><body>error</body></html>`}, false, true, nil},
		{"result of the wrong type", []string{`{"retcode":0,"result":{"a":1}}`}, false, true, nil},
		{"no retcode", []string{`{"result":[]}`}, false, true, nil},
	} {
		t.Run(tc.description, func(t *testing.T) {
			f := newFakeQQ(t)
			c := loggedInWithContacts(t, f, Options{})
			f.polls = tc.answers
			var err error
			for range tc.answers {
				var msgs []openqq.Message
				msgs, err = c.Poll(t.Context())
				if len(msgs) != 0 {
					t.Errorf("messages %v", msgs)
				}
			}
			if got := errors.Is(err, openqq.ErrLoginRequired); got != tc.loginReq {
				t.Errorf("err %v; login required %v, want %v", err, got, tc.loginReq)
			}
			if got := err != nil && !tc.loginReq; got != tc.errOther {
				t.Errorf("err %v; want error %v", err, tc.errOther)
			}
			if tc.check != nil {
				tc.check(t, f, c)
			}
		})
	}
}

func TestPollRelinkFailure(t *testing.T) {
	f := newFakeQQ(t)
	c := loggedInWithContacts(t, f, Options{})
	f.handle("/channel/login2", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, `{"retcode":103}`) })
	f.polls = []string{`{"retcode":120}`}
	if _, err := c.Poll(t.Context()); !errors.Is(err, openqq.ErrLoginRequired) {
		t.Errorf("failed relink: %v", err)
	}
}

func TestPollKick(t *testing.T) {
	f := newFakeQQ(t)
	c := loggedInWithContacts(t, f, Options{})
	f.polls = []string{`{"retcode":0,"result":[
	  {"poll_type":"message","value":{"msg_id":1,"from_uin":1,"to_uin":10001,"time":1,"content":[["font",{}],"bye"]}},
	  {"poll_type":"kick_message","value":{"show_reason":1,"reason":"您的帐号在另一地点登录"}}]}`}
	msgs, err := c.Poll(t.Context())
	if !errors.Is(err, openqq.ErrForcedOffline) || !strings.Contains(err.Error(), "另一地点") {
		t.Fatalf("err %v", err)
	}
	if len(msgs) != 1 || msgs[0].Content != "bye" {
		t.Errorf("messages before the kick: %+v", msgs)
	}
}

func TestPollTimeoutAndCancel(t *testing.T) {
	f := newFakeQQ(t)
	c := loggedInWithContacts(t, f, Options{})
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	f.handle("/channel/poll2", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Poll(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("held poll: %v", err)
	}
}

func TestPollLoadsContactsOnFirstMessage(t *testing.T) {
	f := newFakeQQ(t)
	c, _ := loggedIn(t, f, Options{})
	f.polls = []string{`{"retcode":0,"result":[{"poll_type":"message","value":{"msg_id":1,"from_uin":2,"to_uin":10001,"time":1,"content":[["font",{}],"x"]}}]}`}
	msgs, err := c.Poll(t.Context())
	if err != nil || len(msgs) != 1 || msgs[0].Sender != "Bob" || msgs[0].Receiver != "小灰" {
		t.Errorf("Poll = %+v, %v", msgs, err)
	}
}
