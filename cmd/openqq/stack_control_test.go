package main

// Full-stack tests of the group and client controls: kick, shutup,
// get_client_info, check_client, relogin and stop_client.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openqq-relay/openqq"
)

func testKickShutup(t *testing.T, ts *testStack, w stackWorld) {
	create := w.members(w.create, "member")
	manage := w.members(w.manage, "member")
	owner := w.members(w.manage, "owner")[0]
	attendee := w.members(w.attend, "member")[0]
	cg, mg := "group_id="+decimal(w.create.ID), "group_id="+decimal(w.manage.ID)
	cases := []struct {
		name   string
		query  string
		code   int
		status string
	}{
		// The original's order of checks (spec §6.10, §6.11).
		{"kick: group not found", "kick_group_member?group_uid=1&member_id=" + decimal(create[0].ID), 100, "object not found"},
		{"kick: member id empty", "kick_group_member?" + cg + "&member_id=&member_uid=" + decimal(create[0].UID), 200, "member id empty"},
		{"kick: no member list", "kick_group_member?" + cg, 200, "member id empty"},
		{"kick: member not found", "kick_group_member?" + cg + "&member_id=" + decimal(create[0].ID) + ",999", 100, "member 999 not found"},
		{"kick: not an admin there", "kick_group_member?group_id=" + decimal(w.attend.ID) + "&member_id=" + decimal(attendee.ID), 201, "failure"},
		{"kick: the owner", "kick_group_member?" + mg + "&member_id=" + decimal(owner.ID), 201, "failure"},
		{"shutup: group not found", "shutup_group_member?group_id=1&time=1&member_id=" + decimal(manage[0].ID), 100, "object not found"},
		{"shutup: time missing", "shutup_group_member?" + mg + "&member_id=" + decimal(manage[0].ID), 400, "shutup time missing or error"},
		{"shutup: time not digits", "shutup_group_member?" + mg + "&time=1.5&member_id=" + decimal(manage[0].ID), 400, "shutup time missing or error"},
		{"shutup: member id empty", "shutup_group_member?" + mg + "&time=1&member_id=", 200, "member id empty"},
		{"shutup: member not found", "shutup_group_member?" + mg + "&time=1&member_uid=999", 100, "member 999 not found"},
		{"shutup: the owner", "shutup_group_member?" + mg + "&time=1&member_id=" + decimal(owner.ID), 201, "failure"},
		{"shutup: under a minute", "shutup_group_member?" + mg + "&time=0&member_id=" + decimal(manage[0].ID), 201, "failure"},
	}
	for _, c := range cases {
		ts.get(t, "/openqq/"+c.query).wantResult(t, http.StatusOK, c.code, c.status)
	}
	if k, m := ts.sandbox.Kicks(), ts.sandbox.Mutes(); len(k) != 0 || len(m) != 0 {
		t.Fatalf("refused calls reached the sandbox: kicks %+v, mutes %+v", k, m)
	}

	// Ext works (the sandbox and the client share a password): kick by
	// ids, kick by QQ numbers in a POST form, mute for one minute.
	ts.get(t, "/openqq/kick_group_member?"+cg+"&member_id="+decimal(create[0].ID)).wantResult(t, http.StatusOK, 0, "success")
	ts.post(t, "/openqq/kick_group_member", url.Values{
		"group_uid": {decimal(w.create.UID)}, "member_uid": {decimal(create[1].UID) + "," + decimal(create[2].UID)},
	}).wantResult(t, http.StatusOK, 0, "success")
	ts.get(t, "/openqq/shutup_group_member?group_uid="+decimal(w.manage.UID)+"&time=1&member_uid="+decimal(manage[0].UID)).
		wantResult(t, http.StatusOK, 0, "success")

	var kicked []int64
	for _, k := range ts.sandbox.Kicks() {
		if k.GroupID != w.create.ID {
			t.Errorf("kick in group %d, want %d", k.GroupID, w.create.ID)
		}
		kicked = append(kicked, k.MemberID)
	}
	if want := []int64{create[0].ID, create[1].ID, create[2].ID}; !slices.Equal(kicked, want) {
		t.Errorf("the sandbox kicked %v, want %v", kicked, want)
	}
	if m := ts.sandbox.Mutes(); len(m) != 1 || m[0].GroupID != w.manage.ID || m[0].MemberID != manage[0].ID || m[0].Seconds != 60 {
		t.Errorf("the sandbox muted %+v, want member %d of group %d for 60 s", m, manage[0].ID, w.manage.ID)
	}
}

func testClientInfo(t *testing.T, ts *testStack) {
	for _, a := range []answer{ts.get(t, "/openqq/get_client_info"), ts.post(t, "/openqq/get_client_info", nil)} {
		o := a.wantResult(t, http.StatusOK, 0, "success")
		if o["account"] != ts.acct || o["pid"] != json.Number(strconv.Itoa(os.Getpid())) || o["version"] != openqq.Version {
			t.Errorf("get_client_info: %s", a.body)
		}
		checkGolden(t, "get_client_info", o)
	}
	// One account, then all that the Redis knows: a shared server may hold
	// other tests' accounts.
	a := ts.get(t, "/openqq/check_client?client="+ts.acct)
	clients, _ := a.object(t)["client"].([]any)
	if len(clients) != 1 {
		t.Fatalf("check_client: %s", a.body)
	}
	if c := clients[0].(map[string]any); c["account"] != ts.acct || c["state"] != "running" || c["alive"] != true {
		t.Errorf("check_client: %s", a.body)
	}
	a = ts.get(t, "/openqq/check_client")
	all, _ := a.object(t)["client"].([]any)
	// Heartbeat and last_poll move on between the two calls: compare the
	// fields that do not.
	same := func(c any) bool {
		m, _ := c.(map[string]any)
		return m["account"] == ts.acct && m["state"] == "running" && m["pid"] == clients[0].(map[string]any)["pid"]
	}
	if !slices.ContainsFunc(all, same) {
		t.Errorf("check_client of every account lacks %v: %s", clients[0], a.body)
	}
}

// testRelogin: the client logs in again (the sandbox confirms by itself)
// and sends again.
func testRelogin(t *testing.T, ts *testStack, hooks *webhookReceiver) {
	logins := hooks.events("login")
	a := ts.get(t, "/openqq/relogin")
	want := fmt.Sprintf("success, client(%d) will relogin in 3 seconds", os.Getpid())
	if o := a.wantResult(t, http.StatusOK, 0, want); o["account"] != ts.acct {
		t.Errorf("relogin: %s", a.body)
	}
	eventually(t, "a new login", func() bool { return hooks.events("login") > logins })
	ts.waitRunning(t)
	w := pickWorld(t, ts.sandbox)
	checkSendResult(t, ts.get(t, "/openqq/send_friend_message?id="+decimal(w.friend.ID)+"&content=after-relogin"))
	checkSent(t, ts.sandbox, "after-relogin", sendCase{typ: "friend", to: w.friend.ID})
}

// testStopClient: stop_client answers, then the whole stack stops cleanly:
// the connector published stop, which the dispatcher still delivered.
func testStopClient(t *testing.T, ts *testStack, hooks *webhookReceiver) {
	a := ts.get(t, "/openqq/stop_client")
	o := a.wantResult(t, http.StatusOK, 0, fmt.Sprintf("success, client(%d) will stop in 3 seconds", os.Getpid()))
	if o["account"] != ts.acct || o["pid"] != json.Number(strconv.Itoa(os.Getpid())) {
		t.Errorf("stop_client: %s", a.body)
	}
	ts.waitStopped(t, "stop_client")
	if hooks.events("stop") != 1 {
		t.Errorf("post_api got %d stop events, want 1", hooks.events("stop"))
	}
	if out := ts.stderr.String(); !strings.Contains(out, "Scan this QR code") || !strings.Contains(out, "▄") {
		t.Errorf("no QR code on stderr:\n%s", out)
	}
}
