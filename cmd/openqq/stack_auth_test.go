package main

// Full-stack tests of the login page and of the API tokens.

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestStackLoginAndAuth runs a stack that waits for the login page's
// button (no auto-confirm) and needs tokens: the QR code is served while
// scanning, the button confirms the scan, and every route checks its
// token.
func TestStackLoginAndAuth(t *testing.T) {
	const rw, ro = "rw-s3cret", "ro-s3cret"
	ts := startStack(t, stackEnv(t, "OPENQQ_SANDBOX_AUTO_CONFIRM", "0", "OPENQQ_API_TOKENS", rw+","+ro+":ro"))
	ts.token = rw

	// Scanning: the QR code is there for whoever holds a token.
	var qr answer
	eventually(t, "a QR code to scan", func() bool { qr = ts.get(t, "/openqq/get_qrcode"); return qr.status == http.StatusOK })
	if qr.header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(qr.body, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("get_qrcode: %s, %d bytes", qr.header.Get("Content-Type"), len(qr.body))
	}
	if a := ts.get(t, "/healthz"); a.status != http.StatusServiceUnavailable {
		t.Errorf("/healthz while scanning: HTTP %d %s", a.status, a.body)
	}
	page := ts.get(t, "/?access_token="+rw)
	if page.status != http.StatusOK || !strings.Contains(page.header.Get("Content-Type"), "text/html") ||
		!bytes.Contains(page.body, []byte(`data-confirm="`+confirmPath+`"`)) {
		t.Fatalf("login page: HTTP %d %s:\n%s", page.status, page.header.Get("Content-Type"), page.body)
	}
	if st := ts.sandbox.State(); st.QR != "waiting" || st.LoggedIn {
		t.Fatalf("the sandbox confirmed the scan by itself: %+v", st)
	}

	// The page's button: a same-origin POST without a token.
	anon := &testStack{url: ts.url}
	if a := anon.post(t, confirmPath, nil); a.status != http.StatusOK || !bytes.Contains(a.body, []byte(`"ok":true`)) {
		t.Fatalf("POST %s: HTTP %d %s", confirmPath, a.status, a.body)
	}
	ts.waitRunning(t)
	if a := ts.get(t, "/openqq/get_qrcode"); a.status != http.StatusNotFound {
		t.Errorf("get_qrcode after the login: HTTP %d", a.status)
	}
	// The other sandbox controls stay off the relay's listener.
	if a := anon.post(t, "/sandbox/messages", url.Values{}); a.status != http.StatusForbidden {
		t.Errorf("POST /sandbox/messages on the relay: HTTP %d %s", a.status, a.body)
	}

	testAuth(t, ts, pickWorld(t, ts.sandbox), rw, ro)
}

// authRoute is one route and whether it needs a read-write token.
type authRoute struct {
	method, path string
	write        bool
}

func testAuth(t *testing.T, ts *testStack, w stackWorld, rw, ro string) {
	send := "?id=" + decimal(w.friend.ID) + "&content=denied"
	routes := []authRoute{
		{"GET", "/", false},
		{"GET", "/metrics", false},
		{"GET", "/openqq/get_user_info", false},
		{"GET", "/openqq/get_friend_info", false},
		{"GET", "/openqq/get_group_info", false},
		{"GET", "/openqq/get_group_basic_info", false},
		{"GET", "/openqq/get_discuss_info", false},
		{"GET", "/openqq/search_friend?id=" + decimal(w.friend.ID), false},
		{"POST", "/openqq/search_group?id=" + decimal(w.create.ID), false},
		{"GET", "/openqq/get_client_info", false},
		{"GET", "/openqq/check_client", false},
		{"GET", "/openqq/check_event", false},
		{"GET", "/openqq/send_friend_message" + send, true},
		{"POST", "/openqq/send_group_message?id=" + decimal(w.create.ID) + "&content=denied", true},
		{"GET", "/openqq/send_discuss_message?id=" + decimal(w.discuss.ID) + "&content=denied", true},
		{"GET", "/openqq/send_sess_message?discuss_id=" + decimal(w.discuss.ID) + "&id=" + decimal(w.otherDiscussMember().ID) + "&content=denied", true},
		{"GET", "/openqq/kick_group_member?group_id=" + decimal(w.create.ID) + "&member_id=" + decimal(w.members(w.create, "member")[0].ID), true},
		{"GET", "/openqq/shutup_group_member?group_id=" + decimal(w.create.ID) + "&time=1&member_id=" + decimal(w.members(w.create, "member")[0].ID), true},
		{"GET", "/openqq/relogin", true},
		{"POST", "/openqq/stop_client", true},
	}
	sent := len(ts.sandbox.Sent())
	for _, rt := range routes {
		for _, c := range []struct {
			name string
			hdr  http.Header
			want int // Openqq code; 0: served
		}{
			{"no token", nil, -6},
			{"wrong token", http.Header{"Authorization": {"Bearer nope"}}, -6},
			{"read-only token", http.Header{"X-Auth-Token": {ro}}, map[bool]int{true: -7}[rt.write]},
		} {
			a := ts.fetchAs(t, rt.method, rt.path, c.hdr)
			switch c.want {
			case -6:
				a.wantResult(t, http.StatusUnauthorized, -6, "auth failure")
			case -7:
				a.wantResult(t, http.StatusForbidden, -7, "permission denied")
			default:
				if a.status != http.StatusOK {
					t.Errorf("%s %s with the read-only token: HTTP %d %s", rt.method, rt.path, a.status, a.body)
				}
			}
		}
	}
	if n := len(ts.sandbox.Sent()); n != sent || len(ts.sandbox.Kicks()) != 0 || len(ts.sandbox.Mutes()) != 0 {
		t.Errorf("refused writes reached the sandbox: %d sends, kicks %v, mutes %v", n-sent, ts.sandbox.Kicks(), ts.sandbox.Mutes())
	}
	// Open to all: the preflight and /healthz.
	if a := ts.fetchAs(t, http.MethodOptions, "/openqq/send_friend_message", nil); a.status != http.StatusOK {
		t.Errorf("OPTIONS without a token: HTTP %d", a.status)
	}
	if a := ts.fetchAs(t, http.MethodGet, "/healthz", nil); a.status != http.StatusOK {
		t.Errorf("/healthz without a token: HTTP %d", a.status)
	}
	// The read-write token, in each of its three places.
	for i, hdr := range []http.Header{{"Authorization": {"Bearer " + rw}}, {"X-Auth-Token": {rw}}, nil} {
		path := "/openqq/send_friend_message" + send + strconv.Itoa(i)
		if hdr == nil {
			path += "&access_token=" + rw
		}
		checkSendResult(t, ts.fetchAs(t, http.MethodGet, path, hdr))
	}
}
