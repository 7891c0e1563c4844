package lambdatest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openqq-relay/openqq/relay/lambda/lambdatest"
)

// The tests below speak the Runtime API over HTTP as a function's runtime
// client does, so each side of the emulator is exercised for real.

// result is what a Do call returned.
type result struct {
	res *lambdatest.Response
	err error
}

// invoke starts rt.Do in the background; the returned channel yields its
// result.
func invoke(ctx context.Context, rt *lambdatest.Runtime, in lambdatest.Invocation) <-chan result {
	ch := make(chan result, 1)
	go func() {
		res, err := rt.Do(ctx, in)
		ch <- result{res, err}
	}()
	return ch
}

func apiURL(rt *lambdatest.Runtime, path string) string {
	return "http://" + rt.Addr() + "/2018-06-01/runtime" + path
}

// next takes the next event as a runtime does.
func next(t *testing.T, rt *lambdatest.Runtime) (http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", apiURL(rt, "/invocation/next"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("next: status %d: %s", resp.StatusCode, body)
	}
	return resp.Header, body
}

// post sends a runtime's POST and returns the status and the decoded JSON.
func post(t *testing.T, rt *lambdatest.Runtime, path string, body []byte, header http.Header) (int, map[string]string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", apiURL(rt, path), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: status %d, undecodable body: %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func TestInvocationRoundTrip(t *testing.T) {
	rt := lambdatest.NewRuntime(t)
	before := time.Now()
	ch := invoke(t.Context(), rt, lambdatest.Invocation{
		Event: []byte(`{"hello":"world"}`), Timeout: 90 * time.Second,
		RequestID: "req-1", FunctionARN: "arn:aws:lambda:eu-west-1:111122223333:function:relay",
	})
	h, body := next(t, rt)
	after := time.Now()

	if string(body) != `{"hello":"world"}` {
		t.Errorf("event = %s", body)
	}
	if got := h.Get("Lambda-Runtime-Aws-Request-Id"); got != "req-1" {
		t.Errorf("request id = %q", got)
	}
	if got := h.Get("Lambda-Runtime-Invoked-Function-Arn"); got != "arn:aws:lambda:eu-west-1:111122223333:function:relay" {
		t.Errorf("function ARN = %q", got)
	}
	if got := h.Get("Lambda-Runtime-Trace-Id"); !strings.HasPrefix(got, "Root=1-") {
		t.Errorf("trace id = %q", got)
	}
	ms, err := strconv.ParseInt(h.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
	if err != nil {
		t.Fatalf("deadline header: %v", err)
	}
	deadline := time.UnixMilli(ms)
	if deadline.Before(before.Add(90*time.Second).Truncate(time.Millisecond)) || deadline.After(after.Add(90*time.Second)) {
		t.Errorf("deadline %v is not 90 s after the hand-out (%v…%v)", deadline, before, after)
	}

	status, out := post(t, rt, "/invocation/req-1/response", []byte(`{"ok":true}`),
		http.Header{"Content-Type": {"application/json"}})
	if status != http.StatusAccepted || out["status"] != "OK" {
		t.Fatalf("response: %d %v", status, out)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	if string(r.res.Payload) != `{"ok":true}` || r.res.ContentType != "application/json" || r.res.RequestID != "req-1" {
		t.Errorf("response = %+v", r.res)
	}
	if r.res.Deadline.UnixMilli() != ms {
		t.Errorf("Response.Deadline %v, header said %d", r.res.Deadline, ms)
	}

	// The invocation is over: another answer for it is refused.
	status, out = post(t, rt, "/invocation/req-1/response", []byte(`{}`), nil)
	if status != http.StatusBadRequest || out["errorType"] != "InvalidRequestID" {
		t.Errorf("second response: %d %v", status, out)
	}
}

func TestInvocationError(t *testing.T) {
	rt := lambdatest.NewRuntime(t)
	ch := invoke(t.Context(), rt, lambdatest.Invocation{Event: []byte(`{}`)})
	h, _ := next(t, rt)
	id := h.Get("Lambda-Runtime-Aws-Request-Id")
	body := []byte(`{"errorMessage":"redis: connection refused","errorType":"OpError"}`)
	status, _ := post(t, rt, "/invocation/"+id+"/error", body,
		http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.Unknown"}})
	if status != http.StatusAccepted {
		t.Fatalf("status %d", status)
	}
	r := <-ch
	fe, ok := errors.AsType[*lambdatest.FunctionError](r.err)
	if !ok {
		t.Fatalf("err = %v, want a FunctionError", r.err)
	}
	if fe.RequestID != id || fe.Type != "OpError" || fe.Message != "redis: connection refused" || !bytes.Equal(fe.Payload, body) {
		t.Errorf("error = %+v", fe)
	}
}

func TestErrorTypeFromHeader(t *testing.T) {
	rt := lambdatest.NewRuntime(t)
	ch := invoke(t.Context(), rt, lambdatest.Invocation{Event: []byte(`{}`)})
	h, _ := next(t, rt)
	post(t, rt, "/invocation/"+h.Get("Lambda-Runtime-Aws-Request-Id")+"/error", []byte("not json"),
		http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.Crash"}})
	fe, ok := errors.AsType[*lambdatest.FunctionError]((<-ch).err)
	if !ok || fe.Type != "Runtime.Crash" {
		t.Errorf("error = %v, want type Runtime.Crash", fe)
	}
}

func TestUnknownRequestID(t *testing.T) {
	rt := lambdatest.NewRuntime(t)
	for _, path := range []string{"/invocation/nope/response", "/invocation/nope/error"} {
		status, out := post(t, rt, path, []byte(`{}`), nil)
		if status != http.StatusBadRequest || out["errorType"] != "InvalidRequestID" || out["errorMessage"] == "" {
			t.Errorf("POST %s: %d %v", path, status, out)
		}
	}
}

func TestResponseTooLarge(t *testing.T) {
	rt := lambdatest.NewRuntime(t)
	ch := invoke(t.Context(), rt, lambdatest.Invocation{Event: []byte(`{}`)})
	h, _ := next(t, rt)
	status, out := post(t, rt, "/invocation/"+h.Get("Lambda-Runtime-Aws-Request-Id")+"/response",
		make([]byte, lambdatest.MaxPayload+1), nil)
	if status != http.StatusRequestEntityTooLarge || out["errorType"] != "RequestEntityTooLarge" {
		t.Errorf("status %d %v", status, out)
	}
	fe, ok := errors.AsType[*lambdatest.FunctionError]((<-ch).err)
	if !ok || fe.Type != "Function.ResponseSizeTooLarge" {
		t.Errorf("error = %v", fe)
	}
}

func TestEventTooLarge(t *testing.T) {
	rt := lambdatest.NewRuntime(t)
	_, err := rt.Invoke(t.Context(), make([]byte, lambdatest.MaxPayload+1))
	if !errors.Is(err, lambdatest.ErrEventTooLarge) {
		t.Errorf("err = %v", err)
	}
}

func TestTimeout(t *testing.T) {
	rt := lambdatest.NewRuntime(t)
	ch := invoke(t.Context(), rt, lambdatest.Invocation{Event: []byte(`{}`), Timeout: 50 * time.Millisecond})
	h, _ := next(t, rt)
	r := <-ch // the function never answers
	fe, ok := errors.AsType[*lambdatest.FunctionError](r.err)
	if !ok || fe.Type != "Sandbox.Timedout" || fe.Message != "Task timed out after 0.05 seconds" {
		t.Fatalf("err = %v", r.err)
	}
	status, out := post(t, rt, "/invocation/"+h.Get("Lambda-Runtime-Aws-Request-Id")+"/response", []byte(`{}`), nil)
	if status != http.StatusBadRequest {
		t.Errorf("late answer: %d %v", status, out)
	}
}

func TestInitError(t *testing.T) {
	rt := lambdatest.NewRuntime(t)
	ch := invoke(t.Context(), rt, lambdatest.Invocation{Event: []byte(`{}`)})
	status, out := post(t, rt, "/init/error", []byte(`{"errorMessage":"OPENQQ_REDIS_URL: required","errorType":"ConfigError"}`),
		http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.InitError"}})
	if status != http.StatusAccepted || out["status"] != "OK" {
		t.Fatalf("init error: %d %v", status, out)
	}
	for _, err := range []error{(<-ch).err, rt.InitError()} {
		fe, ok := errors.AsType[*lambdatest.FunctionError](err)
		if !ok || !fe.Init || fe.Type != "ConfigError" || fe.Message != "OPENQQ_REDIS_URL: required" {
			t.Errorf("err = %v, want the init error", err)
		}
	}
	if _, err := rt.Invoke(t.Context(), []byte(`{}`)); err == nil {
		t.Error("an invocation after the init error succeeded")
	}
}

func TestAbandonedInvocation(t *testing.T) {
	rt := lambdatest.NewRuntime(t)
	ctx, cancel := context.WithCancel(t.Context())
	ch := invoke(ctx, rt, lambdatest.Invocation{Event: []byte(`{}`)})
	h, _ := next(t, rt)
	cancel()
	if r := <-ch; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v", r.err)
	}
	// The function still finishes its work, and its answer is accepted.
	status, _ := post(t, rt, "/invocation/"+h.Get("Lambda-Runtime-Aws-Request-Id")+"/response", []byte(`{}`), nil)
	if status != http.StatusAccepted {
		t.Errorf("answer after the caller left: %d", status)
	}

	queued, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if _, err := rt.Do(queued, lambdatest.Invocation{Event: []byte(`{}`)}); !errors.Is(err, context.Canceled) {
		t.Errorf("queued invocation: err = %v", err)
	}
}

func TestClosedRuntime(t *testing.T) {
	var rt *lambdatest.Runtime
	t.Run("inner", func(t *testing.T) { rt = lambdatest.NewRuntime(t) })
	if _, err := rt.Invoke(t.Context(), []byte(`{}`)); !errors.Is(err, lambdatest.ErrClosed) {
		t.Errorf("err = %v", err)
	}
}

func TestProcessExit(t *testing.T) {
	script := filepath.Join(t.TempDir(), "bootstrap")
	err := os.WriteFile(script, []byte("#!/bin/sh\necho \"starting on $AWS_LAMBDA_RUNTIME_API\"\necho 'panic: no config' >&2\nexit 3\n"), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	rt := lambdatest.NewRuntime(t)
	p := rt.StartBinary(script)
	_, err = rt.Invoke(t.Context(), []byte(`{}`))
	fe, ok := errors.AsType[*lambdatest.FunctionError](err)
	if !ok || fe.Type != "Runtime.ExitError" || fe.Message != "Runtime exited with error: exit status 3" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(string(fe.Payload), "panic: no config") {
		t.Errorf("payload %q lacks the output", fe.Payload)
	}
	if !strings.Contains(p.Output(), "starting on "+rt.Addr()) {
		t.Errorf("output %q: AWS_LAMBDA_RUNTIME_API not set", p.Output())
	}
	if err := p.Stop(); err == nil {
		t.Error("Stop after a failed exit returned nil")
	}

	// A new process may start once the old one is gone.
	p2 := rt.StartBinary(script)
	<-p2.Done()
}
