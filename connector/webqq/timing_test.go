package webqq

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/openqq-relay/openqq"
)

// rtFunc answers requests in memory, so that tests can run in a synctest
// bubble (a real socket would freeze its clock).
type rtFunc func(*http.Request) (int, string)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) {
	status, body := f(r)
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// memClient is a logged-in client whose HTTP answers come from answer.
func memClient(o Options, answer rtFunc) *Client {
	o.Endpoint = "http://qq.test"
	o.HTTPClient = &http.Client{Transport: answer}
	o.Logger = slog.New(slog.DiscardHandler)
	c := New(o)
	c.sess = session{loggedIn: true, uid: 10001, psessionid: "p", vfwebqq: "v",
		contacts: &openqq.Contacts{User: openqq.User{ID: 10001, UID: 10001, Name: "me"},
			Friends: []openqq.Friend{{ID: 2, Name: "friend"}}}}
	return c
}

func TestSendSpacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var dispatched []time.Time
		fails := 1
		c := memClient(Options{}, func(r *http.Request) (int, string) {
			mu.Lock()
			defer mu.Unlock()
			dispatched = append(dispatched, time.Now())
			if fails > 0 {
				fails--
				return 200, `{"retcode":100001}`
			}
			return 200, `{"errCode":0,"msg":"send ok"}`
		})
		start := time.Now()
		out := openqq.Outgoing{Type: openqq.FriendMessage, TargetID: 2, Content: "x"}
		first, err := c.Send(t.Context(), out) // fails once, retried 3 s later
		if err != nil {
			t.Fatal(err)
		}
		second, err := c.Send(t.Context(), out)
		if err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{0, 3 * time.Second, 6 * time.Second}
		if len(dispatched) != 3 {
			t.Fatalf("%d dispatches", len(dispatched))
		}
		for i, d := range dispatched {
			if d.Sub(start) != want[i] {
				t.Errorf("dispatch %d at +%v, want +%v", i, d.Sub(start), want[i])
			}
		}
		if first.Time != openqq.Int(start.Add(3*time.Second).Unix()) || second.Time != openqq.Int(start.Add(6*time.Second).Unix()) {
			t.Errorf("message times %d %d", first.Time, second.Time)
		}
	})
}

func TestSendNoDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := memClient(Options{SendInterval: NoDelay}, func(*http.Request) (int, string) {
			return 200, `{"errCode":0,"msg":"send ok"}`
		})
		start := time.Now()
		for range 3 {
			if _, err := c.Send(t.Context(), openqq.Outgoing{Type: openqq.FriendMessage, TargetID: 2, Content: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("three sends without spacing took %v of fake time", d)
		}
	})
}

func TestPollPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts []time.Time
		c := memClient(Options{}, func(*http.Request) (int, string) {
			starts = append(starts, time.Now())
			time.Sleep(30 * time.Second) // the server holds the poll
			return 200, `{"retcode":102}`
		})
		for range 2 {
			if _, err := c.Poll(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if gap := starts[1].Sub(starts[0]); gap != 31*time.Second {
			t.Errorf("second poll %v after the first, want 30 s hold + 1 s pause", gap)
		}
	})
}

func TestQRPollInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var checks []time.Time
		codes := []string{"66", "67", "0"}
		c := New(Options{Endpoint: "http://qq.test", Logger: slog.New(slog.DiscardHandler),
			HTTPClient: &http.Client{Transport: cookieRT(func(r *http.Request) (int, string, []string) {
				switch r.URL.Path {
				case "/ptqrshow":
					return 200, "png", []string{"qrsig=q; Path=/"}
				case "/ptqrlogin":
					checks = append(checks, time.Now())
					code := codes[0]
					codes = codes[1:]
					return 200, "ptuiCB('" + code + "','0','http://qq.test/check_sig?x=1','0','m', 'n')", []string{"uin=o0010001; Path=/"}
				case "/api/getvfwebqq":
					return 200, `{"retcode":0,"result":{"vfwebqq":"v"}}`, nil
				case "/channel/login2":
					return 200, `{"retcode":0,"result":{"uin":10001,"psessionid":"p"}}`, nil
				}
				return 200, "", nil
			})}})
		if _, err := c.Login(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		if len(checks) != 3 || checks[1].Sub(checks[0]) != 3*time.Second || checks[2].Sub(checks[1]) != 3*time.Second {
			t.Errorf("ptqrlogin checks at %v, want 3 s apart", checks)
		}
	})
}

// cookieRT is rtFunc with Set-Cookie headers.
type cookieRT func(*http.Request) (int, string, []string)

func (f cookieRT) RoundTrip(r *http.Request) (*http.Response, error) {
	status, body, cookies := f(r)
	h := http.Header{}
	for _, c := range cookies {
		h.Add("Set-Cookie", c)
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}
