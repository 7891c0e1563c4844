package connector_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
)

// writeCase is one write API call with the answer the original gives.
type writeCase struct {
	description string
	api         string
	params      map[string]string
	code        int
	status      string // "" to skip
	sent        *openqq.Outgoing
}

var writeCases = []writeCase{
	{"friend by id", openqq.APISendFriendMessage, map[string]string{"id": "101", "content": "hi"}, 0, "发送成功",
		&openqq.Outgoing{Type: openqq.FriendMessage, TargetID: 101, Content: "hi", From: "api"}},
	{"friend by displayname (markname)", openqq.APISendFriendMessage, map[string]string{"displayname": "灰灰", "content": "a"}, 0, "",
		&openqq.Outgoing{Type: openqq.FriendMessage, TargetID: 101, Content: "a", From: "api"}},
	{"friend selectors are ANDed", openqq.APISendFriendMessage, map[string]string{"id": "101", "name": "小白", "content": "x"}, 100, "friend not found", nil},
	{"friend by uid and name", openqq.APISendFriendMessage, map[string]string{"uid": "9102", "name": "小白", "content": "x"}, 0, "",
		&openqq.Outgoing{Type: openqq.FriendMessage, TargetID: 102, Content: "x", From: "api"}},
	{"friend without selector", openqq.APISendFriendMessage, map[string]string{"content": "x"}, 100, "friend not found", nil},
	{"friend with an empty selector", openqq.APISendFriendMessage, map[string]string{"uid": "", "content": "x"}, 100, "friend not found", nil},
	{"friend not found before content", openqq.APISendFriendMessage, map[string]string{"id": "999"}, 100, "friend not found", nil},
	{"friend content missing", openqq.APISendFriendMessage, map[string]string{"id": "101"}, 400, "content missing", nil},
	{"group by name", openqq.APISendGroupMessage, map[string]string{"name": "第二群", "content": "g"}, 0, "",
		&openqq.Outgoing{Type: openqq.GroupMessage, TargetID: 202, Content: "g", From: "api"}},
	{"group not found", openqq.APISendGroupMessage, map[string]string{"uid": "1", "content": "g"}, 101, "group not found", nil},
	{"group content missing", openqq.APISendGroupMessage, map[string]string{"id": "201", "content": ""}, 400, "content missing", nil},
	{"discuss by id", openqq.APISendDiscussMessage, map[string]string{"id": "401", "content": "d"}, 0, "",
		&openqq.Outgoing{Type: openqq.DiscussMessage, TargetID: 401, Content: "d", From: "api"}},
	{"discuss only by id", openqq.APISendDiscussMessage, map[string]string{"name": "讨论组", "content": "d"}, 102, "discuss not found", nil},
	{"sess through a group", openqq.APISendSessMessage, map[string]string{"group_id": "201", "uid": "7502", "content": "s"}, 0, "",
		&openqq.Outgoing{Type: openqq.SessMessage, TargetID: 502, GroupID: 201, Content: "s", From: "api"}},
	{"sess through a group by uid", openqq.APISendSessMessage, map[string]string{"group_uid": "8202", "id": "503", "content": "s"}, 0, "",
		&openqq.Outgoing{Type: openqq.SessMessage, TargetID: 503, GroupID: 202, Content: "s", From: "api"}},
	{"sess group member missing", openqq.APISendSessMessage, map[string]string{"group_id": "201", "id": "503", "content": "s"}, 103, "group member not found", nil},
	{"sess group missing", openqq.APISendSessMessage, map[string]string{"group_id": "299", "id": "501", "content": "s"}, 103, "group member not found", nil},
	{"sess group wins over discuss", openqq.APISendSessMessage, map[string]string{"group_id": "299", "discuss_id": "401", "id": "601", "content": "s"}, 103, "", nil},
	{"sess through a discussion", openqq.APISendSessMessage, map[string]string{"discuss_id": "401", "id": "601", "content": "s"}, 0, "",
		&openqq.Outgoing{Type: openqq.SessMessage, TargetID: 601, DiscussID: 401, Content: "s", From: "api"}},
	{"sess discuss member missing", openqq.APISendSessMessage, map[string]string{"discuss_id": "401", "id": "501", "content": "s"}, 104, "discuss member not found", nil},
	{"sess without group or discussion", openqq.APISendSessMessage, map[string]string{"id": "501", "content": "s"}, 105, "discuss member or group member  not found", nil},
	{"sess content missing", openqq.APISendSessMessage, map[string]string{"discuss_id": "401", "id": "601"}, 400, "content missing", nil},

	{"kick: group first", openqq.APIKickGroupMember, map[string]string{"group_id": "299", "member_id": ""}, 100, "object not found", nil},
	{"kick: empty list", openqq.APIKickGroupMember, map[string]string{"group_id": "201", "member_id": ""}, 200, "member id empty", nil},
	{"kick: member_id wins even empty", openqq.APIKickGroupMember, map[string]string{"group_id": "201", "member_id": "", "member_uid": "7501"}, 200, "member id empty", nil},
	{"kick: nothing given", openqq.APIKickGroupMember, map[string]string{"group_uid": "8201"}, 200, "member id empty", nil},
	{"kick: first miss", openqq.APIKickGroupMember, map[string]string{"group_id": "201", "member_id": "501,777,888"}, 100, "member 777 not found", nil},
	{"kick: uid list miss", openqq.APIKickGroupMember, map[string]string{"group_id": "201", "member_uid": "7501,501"}, 100, "member 501 not found", nil},

	{"shutup: group first", openqq.APIShutupGroupMember, map[string]string{"group_id": "299"}, 100, "object not found", nil},
	{"shutup: time missing", openqq.APIShutupGroupMember, map[string]string{"group_id": "201", "member_id": "501"}, 400, "shutup time missing or error", nil},
	{"shutup: time not digits", openqq.APIShutupGroupMember, map[string]string{"group_id": "201", "time": "1.5", "member_id": "501"}, 400, "shutup time missing or error", nil},
	{"shutup: time before list", openqq.APIShutupGroupMember, map[string]string{"group_id": "201", "time": "-1", "member_id": ""}, 400, "", nil},
	{"shutup: empty list", openqq.APIShutupGroupMember, map[string]string{"group_id": "201", "time": "5", "member_id": ""}, 200, "member id empty", nil},
	{"shutup: member miss", openqq.APIShutupGroupMember, map[string]string{"group_id": "201", "time": "5", "member_id": "9"}, 100, "member 9 not found", nil},
	{"shutup: zero minutes fails", openqq.APIShutupGroupMember, map[string]string{"group_id": "201", "time": "0", "member_id": "501"}, 201, "failure", nil},
	{"shutup: under a minute in seconds fails", openqq.APIShutupGroupMember, map[string]string{"group_id": "201", "seconds": "59", "member_id": "501"}, 201, "failure", nil},
	{"shutup: minutes", openqq.APIShutupGroupMember, map[string]string{"group_id": "201", "time": "2", "member_uid": "7501,7502"}, 0, "success", nil},
	{"shutup: seconds", openqq.APIShutupGroupMember, map[string]string{"group_id": "201", "seconds": "90", "member_id": "502"}, 0, "success", nil},

	{"unknown api", "get_user_info", nil, 404, "", nil},
}

// Every write API checks in the original's order and answers its codes;
// sends reach the service with the right target and are posted.
func TestWriteAPIs(t *testing.T) {
	e := newEnv(t)
	e.startRunning()
	for _, c := range writeCases {
		t.Run(c.description, func(t *testing.T) {
			before := len(e.srv.Sent())
			code, body := e.submit(c.api, c.params)
			if code != c.code || body["code"] != float64(c.code) {
				t.Errorf("code = %d (body %v), want %d", code, body, c.code)
			}
			if c.status != "" && body["status"] != c.status {
				t.Errorf("status = %q, want %q", body["status"], c.status)
			}
			sent := e.srv.Sent()[before:]
			switch {
			case c.sent == nil && len(sent) > 0:
				t.Errorf("sent %v, want nothing", sent)
			case c.sent != nil && (len(sent) != 1 || sent[0] != *c.sent):
				t.Errorf("sent %v, want %v", sent, *c.sent)
			}
			if c.sent != nil {
				if _, ok := body["id"].(float64); !ok || body["info"] != "发送正常" {
					t.Errorf("send answer %v: want a numeric id and info", body)
				}
			} else if c.api != openqq.APIShutupGroupMember && c.api != openqq.APIKickGroupMember && c.code != 404 {
				if id, ok := body["id"]; !ok || id != nil {
					t.Errorf("failed send answer %v: want \"id\":null", body)
				}
			}
		})
	}
	e.srv.mu.Lock()
	mutes := slices.Clone(e.srv.mutes)
	e.srv.mu.Unlock()
	if want := []time.Duration{2 * time.Minute, 90 * time.Second}; !reflect.DeepEqual(mutes, want) {
		t.Errorf("mutes = %v, want %v", mutes, want)
	}
	// Each successful send was posted as send_message, and went to check_event.
	var sends int
	for _, p := range e.takeCheckEvents() {
		if p.PostType == openqq.PostSendMessage && p.Message.Class == openqq.ClassSend && p.Message.From == "api" {
			sends++
		}
	}
	if want := len(e.srv.Sent()); sends != want {
		t.Errorf("%d send_message posts in check_event, want %d", sends, want)
	}
}

// A successful kick answers 0, posts lose_group_member [member, group] per
// member and drops them from the snapshot; a refused kick answers 201.
func TestKick(t *testing.T) {
	e := newEnv(t)
	e.startRunning()
	code, body := e.submit(openqq.APIKickGroupMember, map[string]string{"group_uid": "8201", "member_id": "501, 502"})
	if code != 0 || body["status"] != "success" {
		t.Fatalf("kick = %d %v", code, body)
	}
	evs := e.waitEvent(openqq.EventLoseGroupMember, 2)
	for i, want := range []float64{501, 502} {
		p := evs[i].Params
		m, _ := p[0].(map[string]any)
		g, _ := p[1].(map[string]any)
		if len(p) != 2 || m["id"] != fmt.Sprint(want) || g["id"] != "201" {
			t.Errorf("lose_group_member %d params = %v", i, p)
		}
		if members, _ := g["member"].([]any); len(members) != 1 {
			t.Errorf("group in the event has %d members, want 1 (after the kick)", len(members))
		}
	}
	waitFor(t, "snapshot without the kicked members", func() bool {
		gs, err := e.db.Groups(t.Context(), e.acct)
		return err == nil && len(gs[0].Members) == 1
	})
	if got := e.takeCheckEvents(); len(got) != 2 || got[0].Name() != openqq.EventLoseGroupMember {
		t.Errorf("check_event = %v, want the two lose_group_member events", names(got))
	}

	e.srv.mu.Lock()
	e.srv.kickErr = errors.New("fake: not an admin")
	e.srv.mu.Unlock()
	code, body = e.submit(openqq.APIKickGroupMember, map[string]string{"group_id": "202", "member_uid": "7503"})
	if code != 201 || body["status"] != "failure" {
		t.Errorf("refused kick = %d %v", code, body)
	}
	if n := len(e.events(openqq.EventLoseGroupMember)); n != 2 {
		t.Errorf("%d lose_group_member events after a refused kick, want 2", n)
	}
}

// relogin answers the original's shape, then logs out and in again with the
// same state sequence; stop_client answers, then stops the client.
func TestReloginAndStopClient(t *testing.T) {
	e := newEnv(t)
	h := e.startRunning()

	code, body := e.submit(openqq.APIRelogin, nil)
	wantStatus := fmt.Sprintf("success, client(%d) will relogin in 3 seconds", e.state().PID)
	if code != 0 || body["account"] != e.acct || body["status"] != wantStatus {
		t.Errorf("relogin = %d %v", code, body)
	}
	e.waitState(openqq.StateScaning) // logged out: a new QR code
	e.srv.Scan()
	waitFor(t, "second login", func() bool { return len(e.srv.Logins()) == 2 })
	e.waitState(openqq.StateRunning)
	want := []string{"running>scaning", "scaning>confirming", "confirming>updating", "updating>running"}
	if got := e.stateChanges(); !reflect.DeepEqual(got[4:], want) {
		t.Errorf("relogin state changes = %v, want %v", got[4:], want)
	}

	code, body = e.submit(openqq.APIStopClient, nil)
	if code != 0 || body["pid"] != float64(e.state().PID) || body["starttime"] == nil || body["runtime"] == nil ||
		body["status"] != fmt.Sprintf("success, client(%d) will stop in 3 seconds", e.state().PID) {
		t.Errorf("stop_client = %d %v", code, body)
	}
	if err := h.wait(); err != nil {
		t.Errorf("Run after stop_client = %v, want nil", err)
	}
	if st := e.state(); st.State != openqq.StateStop {
		t.Errorf("state = %s", st.State)
	}
	if n := len(e.events(openqq.EventStop)); n != 1 {
		t.Errorf("%d stop events", n)
	}
}

// Commands wait while the client is not running and run once it is.
func TestCommandsWaitForRunning(t *testing.T) {
	e := newEnv(t)
	e.start(nil)
	e.waitState(openqq.StateScaning)
	answered := make(chan int, 1)
	go func() {
		code, _ := e.submit(openqq.APISendGroupMessage, map[string]string{"id": "201", "content": "早"})
		answered <- code
	}()
	e.srv.Scan()
	if code := <-answered; code != 0 {
		t.Errorf("code %d", code)
	}
	if got := e.srv.Sent(); len(got) != 1 {
		t.Errorf("sent %v", got)
	}
}
