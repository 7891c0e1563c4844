package relay

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
)

func TestCommandCarriesTheRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCommandTimeout(7*time.Second)).seed()
	e.connector(defaultAnswer)
	res := e.do(postForm("/openqq/send_friend_message?client=&datatype=jsonp&callback=cb&_=1",
		"uid=123456&name=&content=%E4%BD%A0%E5%A5%BD&access_token=x&async=0"))
	if res.status != http.StatusOK || string(res.body) != `cb({"code":0,"id":23910327,"info":"发送正常","status":"发送成功"})` {
		t.Fatalf("answer %d %s", res.status, res.body)
	}
	cmds := e.commands()
	if len(cmds) != 1 {
		t.Fatalf("connector saw %d commands", len(cmds))
	}
	c := cmds[0]
	if c.API != openqq.APISendFriendMessage || c.Async || c.ID == "" {
		t.Errorf("command %+v", c)
	}
	// Reserved and empty parameters stay behind.
	if want := map[string]string{"uid": "123456", "content": "你好"}; !maps.Equal(c.Params, want) {
		t.Errorf("params %v, want %v", c.Params, want)
	}
	if d := c.Deadline.Sub(c.Created); d < 7*time.Second-time.Millisecond || d > 7*time.Second+time.Millisecond {
		t.Errorf("deadline is %s after creation, want the command timeout (7s)", d)
	}
}

func TestAsyncCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t).seed()
	e.connector(defaultAnswer)
	async := []struct{ target, api string }{
		{"/openqq/send_friend_message?id=2457053936&content=a&async=1", openqq.APISendFriendMessage},
		{"/openqq/send_group_message?uid=67890&content=b&async=true", openqq.APISendGroupMessage},
		// [GO] spec §6.7: the original answered but sent nothing.
		{"/openqq/send_discuss_message?id=4118239384&content=c&async=1", openqq.APISendDiscussMessage},
	}
	for _, a := range async {
		res := e.do(get(a.target))
		if string(res.body) != `{"code":0,"status":"request already in execution"}` {
			t.Errorf("%s: %s", a.target, res.body)
		}
	}
	cmds := e.waitCommands(len(async))
	for i, a := range async {
		if cmds[i].API != a.api || !cmds[i].Async {
			t.Errorf("command %d: %s async=%v, want %s async", i, cmds[i].API, cmds[i].Async, a.api)
		}
	}
	// The original has no async sess sends: the answer is the send result.
	res := e.do(get("/openqq/send_sess_message?group_id=2617047292&id=2832277643&content=d&async=1"))
	if res.code(t) != 0 || res.json(t)["id"] == nil {
		t.Errorf("sess with async=1: %s", res.body)
	}
	if c := e.waitCommands(4)[3]; c.API != openqq.APISendSessMessage || c.Async {
		t.Errorf("sess command %s async=%v", c.API, c.Async)
	}
}

// The connector's answer is written as it is: failures, other codes, HTTP
// statuses.
func TestConnectorAnswersPassThrough(t *testing.T) {
	t.Parallel()
	e := newEnv(t).seed()
	e.connector(func(cmd openqq.Command) openqq.Result {
		switch cmd.API {
		case openqq.APISendFriendMessage:
			return openqq.Result{Code: -3, Body: json.RawMessage(`{"id":5,"code":-3,"status":"发送失败","info":"发送异常"}`)}
		case openqq.APIKickGroupMember:
			return openqq.ErrorResult(openqq.ErrFailure)
		case openqq.APIStopClient:
			return openqq.ErrorResult(openqq.ErrFailure)
		}
		return openqq.ErrorResult(openqq.ErrClientNotReady)
	})
	cases := []struct {
		target string
		status int
		body   string
	}{
		{"/openqq/send_friend_message?id=2457053936&content=x", 200, `{"code":-3,"id":5,"info":"发送异常","status":"发送失败"}`},
		{"/openqq/kick_group_member?group_uid=67890&member_uid=45678", 200, `{"code":201,"status":"failure"}`},
		{"/openqq/stop_client", 200, `{"code":201,"status":"failure"}`},
		{"/openqq/send_group_message?uid=67890&content=x", 503, `{"code":503,"status":"client not ready"}`},
	}
	for _, c := range cases {
		res := e.do(get(c.target))
		if res.status != c.status || string(res.body) != c.body {
			t.Errorf("%s: %d %s, want %d %s", c.target, res.status, res.body, c.status, c.body)
		}
	}
}

// A connector that is down or not logged in is answered at once; one that
// looks alive but never answers is answered at the deadline. Never a hang.
func TestConnectorDown(t *testing.T) {
	t.Parallel()
	send := "/openqq/send_friend_message?id=2457053936&content=x"
	notReady := `{"code":503,"status":"client not ready"}`
	t.Run("never started", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		if err := e.db.SaveContacts(t.Context(), e.acct, fixtureContacts()); err != nil {
			t.Fatal(err)
		}
		for _, target := range []string{send, "/openqq/get_client_info", "/openqq/stop_client", "/openqq/relogin"} {
			if res := e.do(get(target)); res.status != 503 || string(res.body) != notReady {
				t.Errorf("%s: %d %s", target, res.status, res.body)
			}
		}
	})
	for name, setup := range map[string]func(e *env){
		"stale heartbeat": stale,
		"stopped":         func(e *env) { e.setState(openqq.StateStop, e.now) },
		"not logged in":   scanning,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t).seed()
			setup(e)
			if res := e.do(get(send)); res.status != 503 || string(res.body) != notReady {
				t.Errorf("%d %s", res.status, res.body)
			}
			if n := len(e.commands()); n != 0 {
				t.Errorf("%d commands queued for a connector that cannot run them", n)
			}
		})
	}
	t.Run("alive but silent", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, withCommandTimeout(time.Second)).seed()
		res := e.do(get(send))
		if res.status != http.StatusGatewayTimeout || string(res.body) != `{"code":504,"status":"request timeout, not executed"}` {
			t.Errorf("%d %s", res.status, res.body)
		}
	})
	t.Run("started, never answered", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, withCommandTimeout(time.Second)).seed()
		e.startOnly()
		res := e.do(get(send))
		if res.status != http.StatusGatewayTimeout || string(res.body) != `{"code":520,"status":"outcome unknown"}` {
			t.Errorf("%d %s", res.status, res.body)
		}
	})
	t.Run("Lambda invocation shorter than the command timeout", func(t *testing.T) {
		t.Parallel()
		e := newEnvOver(t, true, withCommandTimeout(time.Minute)).seed()
		// Without the cap the invocation would end first and answer nothing.
		res := e.do(request{method: http.MethodGet, target: send, deadline: 4 * time.Second})
		if res.status != http.StatusGatewayTimeout || res.code(t) != 504 {
			t.Errorf("%d %s", res.status, res.body)
		}
	})
}

// startOnly plays a connector that takes commands and then hangs.
func (e *env) startOnly() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	e.t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		for ctx.Err() == nil {
			// What it reads has started, and is never answered.
			if _, err := e.db.Consume(ctx, e.acct, "hung-connector", 16, 200*time.Millisecond); err != nil {
				return
			}
		}
	})
}
