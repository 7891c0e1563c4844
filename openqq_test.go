package openqq_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/openqq-relay/openqq"
)

func TestIDJSON(t *testing.T) {
	for _, in := range []string{`"2457053936"`, `2457053936`, `2.457053936e9`} {
		var id openqq.ID
		if err := json.Unmarshal([]byte(in), &id); err != nil || id != 2457053936 {
			t.Fatalf("decode %s: %v, %v", in, id, err)
		}
	}
	var id openqq.ID
	if err := json.Unmarshal([]byte(`"x"`), &id); err == nil {
		t.Fatal("decoded a non-number")
	}
	b, _ := json.Marshal(struct {
		A, B openqq.ID
		C    openqq.Int
	}{A: 12, B: 0, C: 0})
	if got, want := string(b), `{"A":"12","B":null,"C":"0"}`; got != want {
		t.Fatalf("encode: got %s want %s", got, want)
	}
}

func TestMessageShapes(t *testing.T) {
	cases := []struct {
		name string
		msg  openqq.Message
		want string
	}{
		{"recv friend", openqq.Message{Type: openqq.FriendMessage, Class: openqq.ClassRecv, ID: 1, Time: 2, Content: "hi", SenderID: 3, Sender: "a", ReceiverID: 4, Receiver: "me", ReceiverUID: 5},
			`{"class":"recv","content":"hi","id":"1","receiver":"me","receiver_id":"4","receiver_uid":"5","sender":"a","sender_id":"3","sender_uid":null,"time":"2","type":"friend_message"}`},
		{"send group", openqq.Message{Type: openqq.GroupMessage, Class: openqq.ClassSend, ID: 1, Time: 2, Content: "x", SenderID: 3, Sender: "me", GroupID: 6, Group: "g", From: "api", TTL: 2, Source: openqq.SourceLocal, SendResult: openqq.SendResult{Msg: "发送成功", Info: "发送正常"}},
			`{"class":"send","code":0,"content":"x","from":"api","group":"g","group_id":"6","group_uid":null,"id":"1","info":"发送正常","msg":"发送成功","sender":"me","sender_id":"3","sender_uid":null,"source":"local","time":"2","ttl":2,"type":"group_message"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(c.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != c.want {
				t.Fatalf("got  %s\nwant %s", b, c.want)
			}
			var back openqq.Message
			if err := json.Unmarshal(b, &back); err != nil || back != c.msg {
				t.Fatalf("round trip: %+v, %v", back, err)
			}
		})
	}
}

func TestPostJSON(t *testing.T) {
	p := openqq.NewEventPost(openqq.EventStateChange, "scaning", "confirming")
	b, _ := json.Marshal(p)
	if got, want := string(b), `{"event":"state_change","params":["scaning","confirming"],"post_type":"event"}`; got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	m := &openqq.Message{Type: openqq.FriendMessage, Class: openqq.ClassRecv, ID: 9}
	b, _ = json.Marshal(openqq.NewMessagePost(m))
	var back openqq.Post
	if err := json.Unmarshal(b, &back); err != nil || back.PostType != openqq.PostReceiveMessage || back.Message.ID != 9 {
		t.Fatalf("round trip %s: %+v %v", b, back, err)
	}
	if err := json.Unmarshal([]byte(`{"post_type":"nope"}`), &back); err == nil {
		t.Fatal("accepted an unknown post_type")
	}
}

func TestSearchANDsKnownKeysAndIgnoresUnknown(t *testing.T) {
	mk := "老王"
	c := openqq.Contacts{Friends: []openqq.Friend{
		{ID: 1, UID: 11, Name: "王", Markname: &mk, Category: "我的好友"},
		{ID: 2, UID: 22, Name: "王", Category: "同事"},
	}}
	cases := []struct {
		crit openqq.Criteria
		want int
	}{
		{openqq.Criteria{"name": "王"}, 2},
		{openqq.Criteria{"name": "王", "category": "同事"}, 1},
		{openqq.Criteria{"displayname": "老王"}, 1},
		{openqq.Criteria{"displayname": "王"}, 1},
		{openqq.Criteria{"uid": "22", "callback": "cb", "client": "x"}, 1},
		{openqq.Criteria{"datatype": "jsonp"}, 0},
		{openqq.Criteria{}, 0},
		{openqq.Criteria{"id": "1", "uid": "22"}, 0},
	}
	for _, tc := range cases {
		if got := len(c.SearchFriends(tc.crit)); got != tc.want {
			t.Errorf("%v: got %d matches, want %d", tc.crit, got, tc.want)
		}
	}
}

func TestErrorJSON(t *testing.T) {
	b, _ := json.Marshal(openqq.ErrFriendNotFound)
	if got, want := string(b), `{"code":100,"id":null,"status":"friend not found"}`; got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	if !errors.Is(openqq.MemberNotFound("1"), openqq.MemberNotFound("1")) || errors.Is(openqq.ErrObjectNotFound, openqq.ErrFriendNotFound) {
		t.Fatal("errors.Is semantics")
	}
}

// A message post is the message's own JSON with post_type added, byte for
// byte, for every shape of message.
func TestMessagePostIsMessagePlusPostType(t *testing.T) {
	for _, m := range []*openqq.Message{
		{Type: openqq.FriendMessage, Class: openqq.ClassRecv, ID: 1, Content: "<b>&", Sender: "阿丽"},
		{Type: openqq.GroupMessage, Class: openqq.ClassSend, ID: 2, Group: "群", From: "api",
			SendResult: openqq.SendResult{Code: -3, Msg: "发送失败", Info: "x"}},
		{Type: openqq.DiscussMessage, Class: openqq.ClassRecv, ID: 3, Discuss: "d"},
		{Type: openqq.SessMessage, Class: openqq.ClassSend, ID: 4, Via: "discuss"},
		{Type: openqq.SessMessage, Class: openqq.ClassRecv, ID: 5, Via: "group"},
	} {
		mb, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var o map[string]json.RawMessage
		if err := json.Unmarshal(mb, &o); err != nil {
			t.Fatal(err)
		}
		p := openqq.NewMessagePost(m)
		o["post_type"], _ = json.Marshal(p.PostType)
		want, _ := json.Marshal(o)
		got, err := json.Marshal(p)
		if err != nil || string(got) != string(want) {
			t.Errorf("post of %s message = %s, %v; want %s", m.Type, got, err, want)
		}
	}
}
