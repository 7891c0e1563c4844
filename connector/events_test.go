package connector_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
)

// editContacts changes the address book in every way a refresh can see.
func editContacts(c *openqq.Contacts) {
	c.Friends = c.Friends[1:]                                                            // lose 101
	c.Friends = append(c.Friends, openqq.Friend{ID: 103, Name: "小新", State: "online"})   // new 103
	c.Friends[0].State = "online"                                                        // 102 property
	c.Groups[0].Name = "改名群"                                                             // group property
	c.Groups[0].Members = append(c.Groups[0].Members[:1], c.Groups[0].Members[2:]...)    // lose 501
	c.Groups[0].Members[1].Card = strp("乙卡")                                             // member property
	c.Groups[0].Members = append(c.Groups[0].Members, openqq.Member{ID: 504, Name: "戊"}) // new 504
	c.Groups = c.Groups[:1]                                                              // lose 202
	c.Groups = append(c.Groups, openqq.Group{ID: 203, Name: "新群", Members: []openqq.Member{{ID: 10, Name: "我"}}})
	c.Discusses[0].Members = append(c.Discusses[0].Members, openqq.DiscussMember{ID: 602, Name: "己"})
	c.Discusses = append(c.Discusses, openqq.Discuss{ID: 402, Name: "新讨论组"})
}

// A refresh posts the differences against the last snapshot to the events
// stream; check_event gets only the listed contact events.
func TestRefreshEvents(t *testing.T) {
	e := newEnv(t)
	e.startRunning()
	e.takeCheckEvents()
	before := len(e.posts())
	e.srv.Edit(editContacts)
	if code, body := e.submit(openqq.APIRefreshContacts, nil); code != 0 || body["status"] != "success" {
		t.Fatalf("refresh_contacts = %d %v", code, body)
	}
	got := names(e.posts()[before:])
	want := []string{
		"event:lose_friend", "event:new_friend", "event:friend_property_change",
		"event:lose_group", "event:new_group", "event:group_property_change",
		"event:lose_group_member", "event:new_group_member", "event:group_member_property_change",
		"event:new_discuss", "event:new_discuss_member",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("posts = %v\nwant %v", got, want)
	}
	for _, ev := range e.events(openqq.EventFriendPropertyChange) {
		if !reflect.DeepEqual(ev.Params[1:], []any{"state", "offline", "online"}) {
			t.Errorf("friend_property_change params = %v", ev.Params)
		}
	}
	for _, ev := range e.events(openqq.EventGroupMemberPropertyChange) {
		if !reflect.DeepEqual(ev.Params[1:], []any{"card", nil, "乙卡"}) {
			t.Errorf("group_member_property_change params = %v", ev.Params)
		}
	}
	if ev := e.events(openqq.EventNewDiscussMember)[0]; len(ev.Params) != 1 {
		t.Errorf("new_discuss_member params = %v, want [member] only", ev.Params)
	}
	if ev := e.events(openqq.EventNewGroupMember)[0]; len(ev.Params) != 2 {
		t.Errorf("new_group_member params = %v, want [member, group]", ev.Params)
	}
	// The default post_event_list: new/lose of friends, groups and members.
	wantCheck := []string{"event:lose_friend", "event:new_friend", "event:lose_group", "event:new_group",
		"event:lose_group_member", "event:new_group_member"}
	if got := names(e.takeCheckEvents()); !reflect.DeepEqual(got, wantCheck) {
		t.Errorf("check_event = %v\nwant %v", got, wantCheck)
	}
	snap, err := e.db.Contacts(t.Context(), e.acct)
	if err != nil || len(snap.Friends) != 2 || snap.Friends[1].ID != 103 {
		t.Errorf("snapshot after refresh = %+v, %v", snap, err)
	}
}

// check_event rules (spec §7): messages always; contact events only when
// post_event is on and the event is listed; never the lifecycle events.
func TestCheckEventRouting(t *testing.T) {
	cases := []struct {
		description string
		postEvent   bool
		list        []string
		want        []string
	}{
		{"events off: messages only", false, nil, []string{"receive_message:friend_message"}},
		{"a custom list", true, []string{openqq.EventFriendPropertyChange, openqq.EventNewDiscuss, openqq.EventLogin, openqq.EventStateChange},
			[]string{"receive_message:friend_message", "event:friend_property_change", "event:new_discuss"}},
	}
	for _, c := range cases {
		t.Run(c.description, func(t *testing.T) {
			e := newEnv(t)
			e.startRunning(func(o *connector.Options) { o.PostEvent = &c.postEvent; o.PostEventList = c.list })
			e.srv.Edit(func(c *openqq.Contacts) {
				c.Friends[0].State = "away"
				c.Discusses = append(c.Discusses, openqq.Discuss{ID: 402, Name: "新讨论组"})
			})
			e.srv.Push(openqq.Message{Type: openqq.FriendMessage, Class: openqq.ClassRecv, ID: 1, SenderID: 101, Content: "hi"},
				openqq.Message{Type: "system_message", Class: openqq.ClassRecv, ID: 2})
			waitFor(t, "the messages", func() bool { return slices.Contains(names(e.posts()), "receive_message:system_message") })
			if code, _ := e.submit(openqq.APIRefreshContacts, nil); code != 0 {
				t.Fatal(code)
			}
			if got := names(e.takeCheckEvents()); !reflect.DeepEqual(got, c.want) {
				t.Errorf("check_event = %v\nwant %v", got, c.want)
			}
			// The events stream has everything, whatever the settings.
			all := names(e.posts())
			for _, n := range []string{"event:login", "event:input_qrcode", "event:state_change",
				"receive_message:friend_message", "receive_message:system_message",
				"event:friend_property_change", "event:new_discuss"} {
				if !slices.Contains(all, n) {
					t.Errorf("events stream lacks %s: %v", n, all)
				}
			}
		})
	}
}

// Polled messages go out in order; a lost session logs in again; a kick
// ends the session with an error after publishing stop.
func TestPollOutcomes(t *testing.T) {
	e := newEnv(t)
	h := e.startRunning()
	for i := range 5 {
		e.srv.Push(openqq.Message{Type: openqq.GroupMessage, Class: openqq.ClassRecv, ID: openqq.ID(i + 1),
			GroupID: 201, SenderID: 501, Content: "msg"})
	}
	var got []openqq.Post
	waitFor(t, "five messages in check_event", func() bool {
		got = append(got, e.takeCheckEvents()...)
		return len(got) >= 5
	})
	var ids []openqq.ID
	for _, p := range e.posts() {
		if p.Message != nil {
			ids = append(ids, p.Message.ID)
		}
	}
	if !reflect.DeepEqual(ids, []openqq.ID{1, 2, 3, 4, 5}) {
		t.Errorf("message order = %v", ids)
	}

	e.srv.Expire()
	e.waitState(openqq.StateScaning)
	if n := e.srv.QRCodes(); n != 2 {
		t.Errorf("%d QR codes after the session expired, want 2", n)
	}
	e.srv.Scan()
	waitFor(t, "relogin", func() bool { return len(e.srv.Logins()) == 2 })
	e.waitState(openqq.StateRunning)

	e.srv.KickOff()
	if err := h.wait(); err == nil {
		t.Error("Run after a forced offline = nil, want an error")
	}
	if e.state().State != openqq.StateStop || len(e.events(openqq.EventStop)) != 1 {
		t.Errorf("after the kick: state %s, stop events %d", e.state().State, len(e.events(openqq.EventStop)))
	}
}
