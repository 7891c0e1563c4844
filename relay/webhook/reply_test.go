package webhook

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/openqq-relay/openqq"
)

func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json":                true,
		"application/json; charset=utf-8": true,
		"Text/JSON":                       true,
		"application/vnd.x+json":          false,
		"text/plain":                      false,
		"":                                false,
	} {
		if isJSON(ct) != want {
			t.Errorf("isJSON(%q) = %v", ct, !want)
		}
	}
}

func TestParseQuickReply(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, c := range []struct {
		body    string
		reply   *string
		shutup  bool
		secs    int64
		wantErr bool
	}{
		{body: ``},
		{body: `  `},
		{body: `{}`},
		{body: `{"reply":null}`},
		{body: `{"reply":"你好"}`, reply: str("你好")},
		{body: `{"reply":"\u4f60"}`, reply: str("你")},
		{body: `{"reply":""}`, reply: str("")},
		{body: `{"reply":42}`, reply: str("42")},
		{body: `{"reply":true}`, reply: str("1")},
		{body: `{"shutup":1}`, shutup: true, secs: 60},
		{body: `{"shutup":"1","shutup_time":120}`, shutup: true, secs: 120},
		{body: `{"shutup":true,"shutup_time":"90"}`, shutup: true, secs: 90},
		{body: `{"shutup":1.0,"shutup_time":0}`, shutup: true, secs: 60},
		{body: `{"shutup":2}`},
		{body: `{"shutup":"yes"}`},
		{body: `{"code":0,"reply":"x","extra":[1]}`, reply: str("x")},
		{body: `[1,2]`, wantErr: true},
		{body: `{"reply":`, wantErr: true},
		{body: `{"reply":{"a":1}}`, wantErr: true},
	} {
		q, err := parseQuickReply([]byte(c.body))
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err = %v", c.body, err)
			continue
		}
		if q == nil {
			if c.reply != nil || c.shutup {
				t.Errorf("%s: nil reply", c.body)
			}
			continue
		}
		if (q.Reply == nil) != (c.reply == nil) || (q.Reply != nil && *q.Reply != *c.reply) {
			t.Errorf("%s: reply = %v", c.body, q.Reply)
		}
		if q.Shutup != c.shutup || (c.shutup && q.ShutupSecs != c.secs) {
			t.Errorf("%s: shutup = %v %d", c.body, q.Shutup, q.ShutupSecs)
		}
	}
	q, _ := parseQuickReply([]byte(`{"shutup":1,"shutup_time":"soon"}`))
	if q == nil || q.shutupError == nil {
		t.Errorf("a bad shutup_time must be an error, got %+v", q)
	}
}

// Each message type gets its reply where the original sent it (spec §8.3).
func TestReplyCommands(t *testing.T) {
	recv := func(m openqq.Message) *openqq.Post {
		m.Class = openqq.ClassRecv
		p := openqq.NewMessagePost(&m)
		return &p
	}
	sent := func(m openqq.Message) *openqq.Post {
		m.Class = openqq.ClassSend
		p := openqq.NewMessagePost(&m)
		return &p
	}
	hi := "hi"
	reply := &quickReply{Reply: &hi}
	for _, c := range []struct {
		name        string
		post        *openqq.Post
		q           *quickReply
		replyToSent bool
		want        []openqq.Command
	}{
		{"friend → sender", recv(openqq.Message{Type: openqq.FriendMessage, SenderID: 11, ReceiverID: 1}), reply, false,
			[]openqq.Command{{API: openqq.APISendFriendMessage, Params: map[string]string{"id": "11", "content": "hi"}}}},
		{"group → group", recv(openqq.Message{Type: openqq.GroupMessage, SenderID: 11, GroupID: 22}), reply, false,
			[]openqq.Command{{API: openqq.APISendGroupMessage, Params: map[string]string{"id": "22", "content": "hi"}}}},
		{"discuss → discuss", recv(openqq.Message{Type: openqq.DiscussMessage, SenderID: 11, DiscussID: 33}), reply, false,
			[]openqq.Command{{API: openqq.APISendDiscussMessage, Params: map[string]string{"id": "33", "content": "hi"}}}},
		{"sess via group", recv(openqq.Message{Type: openqq.SessMessage, SenderID: 11, Via: "group", GroupID: 22}), reply, false,
			[]openqq.Command{{API: openqq.APISendSessMessage, Params: map[string]string{"id": "11", "group_id": "22", "content": "hi"}}}},
		{"sess via discuss", recv(openqq.Message{Type: openqq.SessMessage, SenderID: 11, Via: "discuss", DiscussID: 33}), reply, false,
			[]openqq.Command{{API: openqq.APISendSessMessage, Params: map[string]string{"id": "11", "discuss_id": "33", "content": "hi"}}}},
		{"group shutup mutes the sender", recv(openqq.Message{Type: openqq.GroupMessage, SenderID: 11, GroupID: 22}),
			&quickReply{Shutup: true, ShutupSecs: 90}, false,
			[]openqq.Command{{API: openqq.APIShutupGroupMember, Params: map[string]string{"group_id": "22", "member_id": "11", "seconds": "90"}}}},
		{"shutup only for group messages", recv(openqq.Message{Type: openqq.FriendMessage, SenderID: 11}),
			&quickReply{Shutup: true, ShutupSecs: 60}, false, nil},
		{"empty reply sends nothing", recv(openqq.Message{Type: openqq.FriendMessage, SenderID: 11}),
			&quickReply{Reply: new(string)}, false, nil},
		{"sent: loop guard", sent(openqq.Message{Type: openqq.FriendMessage, SenderID: 1, ReceiverID: 11}), reply, false, nil},
		{"sent: flag on, to the receiver", sent(openqq.Message{Type: openqq.FriendMessage, SenderID: 1, ReceiverID: 11}), reply, true,
			[]openqq.Command{{API: openqq.APISendFriendMessage, Params: map[string]string{"id": "11", "content": "hi"}}}},
		{"sent: flag on, group", sent(openqq.Message{Type: openqq.GroupMessage, SenderID: 1, GroupID: 22}), reply, true,
			[]openqq.Command{{API: openqq.APISendGroupMessage, Params: map[string]string{"id": "22", "content": "hi"}}}},
		{"sent: no shutup", sent(openqq.Message{Type: openqq.GroupMessage, SenderID: 1, GroupID: 22}),
			&quickReply{Shutup: true, ShutupSecs: 60}, true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Through JSON, as the payload comes from the stream.
			b, _ := json.Marshal(c.post)
			var p openqq.Post
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			got, err := replyCommands(&p, true, c.q, c.replyToSent)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d commands, want %d: %+v", len(got), len(c.want), got)
			}
			for i := range got {
				if got[i].API != c.want[i].API || !maps.Equal(got[i].Params, c.want[i].Params) {
					t.Errorf("command %d = %s %v, want %s %v", i, got[i].API, got[i].Params, c.want[i].API, c.want[i].Params)
				}
			}
		})
	}
}

func TestReplyCommandsNeedTargets(t *testing.T) {
	hi := "hi"
	m := openqq.Message{Type: openqq.GroupMessage, Class: openqq.ClassRecv}
	p := openqq.NewMessagePost(&m)
	if _, err := replyCommands(&p, true, &quickReply{Reply: &hi}, false); err == nil {
		t.Error("a reply without group_id must fail")
	}
	if got, err := replyCommands(&p, true, &quickReply{Shutup: true, ShutupSecs: 60}, false); err == nil || len(got) != 0 {
		t.Errorf("a shutup without ids must fail: %v %v", got, err)
	}
}

func TestCommandIDDeterministic(t *testing.T) {
	if commandID("a", "1-0", 0) != commandID("a", "1-0", 0) || commandID("a", "1-0", 0) == commandID("a", "1-0", 1) {
		t.Error("command ids must be stable per event and index")
	}
}
