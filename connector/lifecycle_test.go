package connector_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
)

// A first start scans a QR code: the states pass in order, in Redis and as
// events (init→loading never posted), the QR code sits in Redis while
// scanning and goes out as input_qrcode, and after login the cookies and the
// contact snapshot are stored and the QR code is gone.
func TestLoginByQRCode(t *testing.T) {
	e := newEnv(t)
	h := e.start(nil)

	e.waitState(openqq.StateScaning)
	admin := httptest.NewServer(h.AdminHandler())
	t.Cleanup(admin.Close)
	if code, body := get(t, admin.URL+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "scaning") {
		t.Errorf("healthz while scanning = %d %s", code, body)
	}
	png, err := e.db.QRCode(t.Context(), e.acct)
	if err != nil || len(png) == 0 {
		t.Fatalf("qr code in redis while scanning: %q, %v", png, err)
	}
	qr := e.waitEvent(openqq.EventInputQRCode, 1)[0]
	if name, _ := qr.Params[0].(string); !strings.HasSuffix(name, ".png") {
		t.Errorf("input_qrcode name = %v", qr.Params[0])
	}
	b64, _ := qr.Params[1].(string)
	for i, line := range strings.Split(strings.TrimSuffix(b64, "\n"), "\n") {
		if len(line) > 76 {
			t.Errorf("base64 line %d has %d chars", i, len(line))
		}
	}
	if dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(b64, "\n", "")); err != nil || string(dec) != string(png) {
		t.Errorf("input_qrcode image differs from the stored one (%v)", err)
	}

	e.srv.Scan()
	e.waitState(openqq.StateRunning)

	want := []string{"loading>scaning", "scaning>confirming", "confirming>updating", "updating>running"}
	if got := e.stateChanges(); !reflect.DeepEqual(got, want) {
		t.Errorf("state_change events = %v, want %v", got, want)
	}
	if got := e.events(openqq.EventLogin); len(got) != 1 || got[0].Params[0] != float64(1) {
		t.Errorf("login events = %v, want one [1]", got)
	}
	st := e.state()
	if st.Previous != openqq.StateUpdating || st.PID == 0 || st.Host == "" || st.OS == "" ||
		st.Version != openqq.Version || st.StartTime.IsZero() || st.LoginTime.IsZero() || st.Owner != h.Owner() {
		t.Errorf("state record = %+v", st)
	}
	waitFor(t, "heartbeat", func() bool { return !e.state().Heartbeat.IsZero() })

	waitFor(t, "qr code deleted", func() bool {
		png, _ := e.db.QRCode(t.Context(), e.acct)
		return png == nil
	})
	jar, err := e.db.Cookies(t.Context(), e.acct)
	if err != nil || !strings.Contains(string(jar), "token-1") {
		t.Errorf("cookies = %s, %v", jar, err)
	}
	c, err := e.db.Contacts(t.Context(), e.acct)
	if err != nil {
		t.Fatal(err)
	}
	if want := cloneContacts(testContacts()); !reflect.DeepEqual(c, want) {
		t.Errorf("contact snapshot = %+v\nwant %+v", c, want)
	}
	for _, name := range []string{openqq.EventNewFriend, openqq.EventNewGroup, openqq.EventNewGroupMember} {
		if got := e.events(name); len(got) > 0 {
			t.Errorf("the first load after login posted %s", name)
		}
	}
	if got := e.takeCheckEvents(); len(got) != 0 {
		t.Errorf("lifecycle events reached check_event: %v", names(got))
	}
}

// SIGTERM (ctx cancelled) stops polling and commands, finishes the command
// in flight, publishes stop, sets state stop and releases the lease, in
// that order.
func TestShutdownOrder(t *testing.T) {
	e := newEnv(t)
	e.srv.holdSend = make(chan struct{})
	h := e.startRunning()

	answered := make(chan map[string]any, 1)
	go func() {
		_, body := e.submit(openqq.APISendFriendMessage, map[string]string{"id": "101", "content": "在吗"})
		answered <- body
	}()
	<-e.srv.sends // the send is in flight
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()

	waitFor(t, "polling to stop", func() bool { return !e.srv.Polling(h.client) })
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) with a command in flight", err)
	default:
	}
	if got := e.state().State; got != openqq.StateRunning {
		t.Errorf("state %s before the in-flight command finished", got)
	}
	close(e.srv.holdSend)
	if body := <-answered; body["code"] != float64(0) {
		t.Errorf("in-flight send answered %v", body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run = %v, want nil after SIGTERM", err)
	}

	var tail []string
	for _, p := range e.posts() {
		tail = append(tail, p.PostType+":"+p.Name())
	}
	want := []string{"send_message:friend_message", "event:stop", "event:state_change"}
	if len(tail) < 3 || !reflect.DeepEqual(tail[len(tail)-3:], want) {
		t.Errorf("last posts = %v, want … %v", tail, want)
	}
	if got := e.stateChanges(); got[len(got)-1] != "running>stop" {
		t.Errorf("last state change = %s", got[len(got)-1])
	}
	if st := e.state(); st.State != openqq.StateStop {
		t.Errorf("state = %s, want stop", st.State)
	}
	owner, _, err := e.db.LeaseHolder(t.Context(), e.acct)
	if err != nil || owner != "" {
		t.Errorf("lease holder after stop = %q, %v", owner, err)
	}
}

// A restart finds the cookies in Redis: login(0), no QR code, no scan states.
func TestRestartReusesCookies(t *testing.T) {
	e := newEnv(t)
	h := e.startRunning()
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	before := len(e.posts())

	e.start(nil)
	waitFor(t, "second login", func() bool { return len(e.srv.Logins()) == 2 })
	e.waitState(openqq.StateRunning)
	if got := e.srv.Logins(); got[1] {
		t.Errorf("second login scanned a QR code")
	}
	if n := e.srv.QRCodes(); n != 1 {
		t.Errorf("%d QR codes shown, want 1", n)
	}
	var after []string
	for _, p := range e.posts()[before:] {
		b, _ := json.Marshal(p)
		after = append(after, string(b))
	}
	joined := strings.Join(after, "\n")
	for _, bad := range []string{"input_qrcode", "scaning"} {
		if strings.Contains(joined, bad) {
			t.Errorf("restart posted %s:\n%s", bad, joined)
		}
	}
	if !strings.Contains(joined, `"params":["loading","updating"]`) || !strings.Contains(joined, `"event":"login","params":[0]`) {
		t.Errorf("restart posts:\n%s", joined)
	}
}

// A command still running when the drain gives up is cancelled and
// answered "outcome unknown" by the connector itself (its answer written
// directly once the session's writes are over), not left to the caller's
// deadline; nothing stays pending.
func TestDrainTimeoutAnswersOutcomeUnknown(t *testing.T) {
	e := newEnv(t)
	e.srv.holdSend = make(chan struct{}) // never released
	h := e.startRunning(func(o *connector.Options) { o.DrainTimeout = 100 * time.Millisecond })

	answered := make(chan int, 1)
	go func() {
		code, _ := e.submit(openqq.APISendFriendMessage, map[string]string{"id": "101", "content": "卡住"})
		answered <- code
	}()
	<-e.srv.sends // the send is in flight
	if err := h.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if code := <-answered; code != openqq.ErrOutcomeUnknown.Code {
		t.Errorf("answer code %d, want %d (outcome unknown)", code, openqq.ErrOutcomeUnknown.Code)
	}
	if ds, err := e.db.Reclaim(t.Context(), e.acct, "probe", 0); err != nil || len(ds) != 0 {
		t.Errorf("pending after shutdown: %v, %v", ds, err)
	}
}
