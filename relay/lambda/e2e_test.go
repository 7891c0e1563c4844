package lambda_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.uber.org/goleak"

	"github.com/openqq-relay/openqq/relay/lambda/internal/echo"
	"github.com/openqq-relay/openqq/relay/lambda/lambdatest"
)

// The echo function is built once per test binary, on first use, into a
// directory TestMain removes.
var (
	echoOnce sync.Once
	echoDir  string
	echoBin  string
	echoErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if echoDir != "" {
		os.RemoveAll(echoDir)
	}
	if code == 0 {
		// Every goroutine the adapter and the emulator start must end.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func echoBinary(t *testing.T) string {
	t.Helper()
	echoOnce.Do(func() {
		if echoDir, echoErr = os.MkdirTemp("", "lambda-echo-"); echoErr == nil {
			echoBin, echoErr = lambdatest.Build(context.Background(), echoDir, "./internal/echoapp", "lambda.norpc")
		}
	})
	if echoErr != nil {
		t.Fatal(echoErr)
	}
	return echoBin
}

func decodeReply(t *testing.T, status int, body []byte) echo.Reply {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("status %d, body %s", status, body)
	}
	var rep echo.Reply
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return rep
}

// TestEndToEnd runs the echo function as Lambda runs it: a compiled
// bootstrap (-tags lambda.norpc) polling the Runtime API emulator.
func TestEndToEnd(t *testing.T) {
	rt := lambdatest.NewRuntime(t)
	proc := rt.StartBinary(echoBinary(t))
	ctx := t.Context()

	t.Run("Function URL event", func(t *testing.T) {
		raw, err := os.ReadFile("testdata/function-url-form.json")
		if err != nil {
			t.Fatal(err)
		}
		res, err := rt.Do(ctx, lambdatest.Invocation{Event: raw, RequestID: "inv-furl"})
		if err != nil {
			t.Fatal(err)
		}
		var out events.LambdaFunctionURLResponse
		if err := json.Unmarshal(res.Payload, &out); err != nil {
			t.Fatal(err)
		}
		equal(t, "Content-Type", out.Headers["Content-Type"], "application/json")
		r := decodeReply(t, out.StatusCode, []byte(out.Body))
		equal(t, "method", r.Method, "POST")
		equal(t, "path", r.Path, "/openqq/send_friend_message")
		equalSlice(t, "form content", r.Form["content"], []string{"你好, world"})
		equalSlice(t, "cookies", r.Cookies, []string{"session=8f2c1d", "theme=dark"})
		equal(t, "remote addr", r.RemoteAddr, "203.0.113.7:0")
		equal(t, "request id", r.RequestID, "0b7c2f1e-9d4a-4c3b-8e6f-1a2b3c4d5e6f")
		equal(t, "aws request id", r.AwsRequestID, "inv-furl")
	})

	t.Run("HTTP API event", func(t *testing.T) {
		out, err := rt.InvokeHTTP(ctx, loadEvent(t, "http-api-get.json"))
		if err != nil {
			t.Fatal(err)
		}
		r := decodeReply(t, out.StatusCode, []byte(out.Body))
		equal(t, "method", r.Method, "GET")
		equalSlice(t, "uid", r.Query["uid"], []string{"1001", "1002"})
		equalSlice(t, "name", r.Query["name"], []string{"张三"})
		equalSlice(t, "cookies", r.Cookies, []string{"session=8f2c1d", "lang=zh-CN"})
		equalSlice(t, "If-None-Match", r.Header["If-None-Match"], []string{`"v1","v2"`})
		equal(t, "host", r.Host, "r4nd0m1d.execute-api.ap-east-1.amazonaws.com")
	})

	t.Run("HTTP client through a Function URL", func(t *testing.T) {
		form := url.Values{"uid": {"308165330"}, "content": {"hi & bye"}}
		req, err := http.NewRequestWithContext(ctx, "POST",
			"https://fn.lambda-url.us-east-1.on.aws/openqq/send?set_cookie=a%3D1&set_cookie=b%3D2%3B+Path%3D%2F&x=1&x=2",
			strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Add("X-Trace", "one")
		req.Header.Add("X-Trace", "two")
		req.AddCookie(&http.Cookie{Name: "session", Value: "s1"})
		req.AddCookie(&http.Cookie{Name: "lang", Value: "zh"})
		resp, err := rt.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		r := decodeReply(t, resp.StatusCode, body)
		equalSlice(t, "form uid", r.Form["uid"], form["uid"])
		equalSlice(t, "form content", r.Form["content"], form["content"])
		equalSlice(t, "x", r.Query["x"], []string{"1", "2"})
		equalSlice(t, "cookies", r.Cookies, []string{"session=s1", "lang=zh"})
		equalSlice(t, "X-Trace", r.Header["X-Trace"], []string{"one,two"})
		equal(t, "host", r.Host, "fn.lambda-url.us-east-1.on.aws")
		var got []string
		for _, c := range resp.Cookies() {
			got = append(got, c.Name+"="+c.Value+" path="+c.Path)
		}
		equalSlice(t, "set cookies", got, []string{"a=1 path=", "b=2 path=/"})
	})

	t.Run("binary body both ways", func(t *testing.T) {
		payload := append([]byte(nil), pngHeader...)
		payload = append(payload, 0, 0xff, 0x80)
		req, err := http.NewRequestWithContext(ctx, "PUT", "http://fn/raw", bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "image/png")
		resp, err := rt.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		equal(t, "status", resp.StatusCode, 200)
		equal(t, "Content-Type", resp.Header.Get("Content-Type"), "image/png")
		if !bytes.Equal(body, payload) {
			t.Errorf("body %q, want %q", body, payload)
		}
	})

	t.Run("handler sees the invocation deadline", func(t *testing.T) {
		e, err := json.Marshal(newEvent("GET", "/deadline"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := rt.Do(ctx, lambdatest.Invocation{Event: e, Timeout: 7 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var out events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(res.Payload, &out); err != nil {
			t.Fatal(err)
		}
		r := decodeReply(t, out.StatusCode, []byte(out.Body))
		equal(t, "deadline ms", r.DeadlineMs, res.Deadline.UnixMilli())
	})

	t.Run("panic answers 500 and the function keeps serving", func(t *testing.T) {
		out, err := rt.InvokeHTTP(ctx, newEvent("GET", "/panic"))
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "status", out.StatusCode, 500)
		equal(t, "body", out.Body, `{"code":500,"status":"internal error"}`)
		out, err = rt.InvokeHTTP(ctx, newEvent("GET", "/after"))
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "path", decodeReply(t, out.StatusCode, []byte(out.Body)).Path, "/after")
	})

	t.Run("an event that is not HTTP is a function error", func(t *testing.T) {
		for _, bad := range []string{`"not an event"`, `{"Records":[]}`} {
			_, err := rt.Invoke(ctx, []byte(bad))
			fe, ok := errors.AsType[*lambdatest.FunctionError](err)
			if !ok || fe.Type != "InvalidEvent" {
				t.Errorf("Invoke(%s) = %v, want an InvalidEvent function error", bad, err)
			}
		}
		if proc.Exited() {
			t.Fatalf("the function exited: %s", proc.Output())
		}
	})

	t.Run("stops cleanly on interrupt", func(t *testing.T) {
		if err := proc.Stop(); err != nil {
			t.Fatal(err)
		}
		if !proc.Exited() {
			t.Fatal("Stop returned before the process ended")
		}
		_, err := rt.InvokeHTTP(ctx, newEvent("GET", "/"))
		fe, ok := errors.AsType[*lambdatest.FunctionError](err)
		if !ok || fe.Type != "Runtime.ExitError" {
			t.Fatalf("invoke after stop = %v, want Runtime.ExitError", err)
		}
	})
}
