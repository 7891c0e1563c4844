// Package lambdatest emulates the AWS Lambda Runtime API on 127.0.0.1, so
// tests can run a compiled function (a "bootstrap" binary) as Lambda runs
// it and invoke it with events.
//
// A Runtime models one execution environment: events queue until the
// function asks for the next one, each carries a request id, a deadline,
// a function ARN and a trace id, and the function's answer (or error) is the
// invocation's result. What is faithful:
//
//   - GET /2018-06-01/runtime/invocation/next answers 200 with the event and
//     the Lambda-Runtime-Aws-Request-Id, -Deadline-Ms, -Invoked-Function-Arn
//     and -Trace-Id headers, held open until an event arrives;
//   - POST …/invocation/{id}/response and …/{id}/error answer 202, an unknown
//     or finished id 400, a response over 6 MB 413 (the invocation then
//     fails with Function.ResponseSizeTooLarge);
//   - POST /2018-06-01/runtime/init/error answers 202, and the error is
//     served to the invocations that follow, as Lambda does;
//   - an invocation past its deadline fails with Sandbox.Timedout, and one
//     whose process exits fails with Runtime.ExitError;
//   - events over 6 MB are refused before they reach the function.
//
// Typical use:
//
//	bin := lambdatest.BuildBinary(t, "./cmd/app", "lambda.norpc")
//	rt := lambdatest.NewRuntime(t)
//	rt.StartBinary(bin)
//	res, err := rt.InvokeHTTP(t.Context(), event)
package lambdatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// MaxPayload is Lambda's limit on a synchronous invocation's event and
// response (6 MB).
const MaxPayload = 6 << 20

// DefaultTimeout is the invocation timeout when an Invocation sets none.
const DefaultTimeout = 30 * time.Second

// DefaultFunctionARN is the invoked function ARN when an Invocation sets none.
const DefaultFunctionARN = "arn:aws:lambda:us-east-1:000000000000:function:lambdatest"

const apiPrefix = "/2018-06-01/runtime"

var (
	// ErrClosed is returned by invocations on a Runtime that has shut down.
	ErrClosed = errors.New("lambdatest: runtime closed")
	// ErrEventTooLarge refuses an event over MaxPayload, as Lambda's
	// Invoke API does.
	ErrEventTooLarge = errors.New("lambdatest: event exceeds the 6 MB payload limit")
)

// Invocation is one event to invoke the function with.
type Invocation struct {
	Event []byte
	// Timeout is the function's timeout: the deadline the function sees is
	// the moment it receives the event plus Timeout. 0 means DefaultTimeout.
	Timeout time.Duration
	// RequestID is the invocation's id; "" means a random UUID.
	RequestID string
	// FunctionARN is the invoked ARN; "" means DefaultFunctionARN.
	FunctionARN string
	// TraceID is the X-Ray header; "" means a fresh unsampled one.
	TraceID string
}

// Response is a successful invocation's result.
type Response struct {
	RequestID   string
	Payload     []byte    // the body the function POSTed to …/response
	ContentType string    // its Content-Type
	Deadline    time.Time // the deadline the function was given
}

// FunctionError is an invocation that failed: the function reported an
// error, timed out, exited, or reported an init error (Init).
type FunctionError struct {
	RequestID string // "" for init errors
	Init      bool
	Type      string // errorType, e.g. "InvalidEvent", "Sandbox.Timedout", "Runtime.ExitError"
	Message   string // errorMessage
	Payload   []byte // the body the function POSTed; for an exit, its last output
}

func (e *FunctionError) Error() string {
	if e.Init {
		return fmt.Sprintf("lambdatest: init failed: %s: %s", e.Type, e.Message)
	}
	return fmt.Sprintf("lambdatest: invocation %s failed: %s: %s", e.RequestID, e.Type, e.Message)
}

// Runtime is a Lambda Runtime API emulator listening on 127.0.0.1.
type Runtime struct {
	tb     testing.TB
	srv    *httptest.Server
	queue  chan *invocation // events waiting for a GET …/next
	closed chan struct{}

	mu       sync.Mutex // guards the fields below
	inflight map[string]*invocation
	initErr  *FunctionError
	initCh   chan struct{} // closed when initErr is set
	proc     *Process      // the current process, if any
	isClosed bool
}

// NewRuntime starts a Runtime; it shuts down when the test ends, after the
// processes started on it have stopped.
func NewRuntime(tb testing.TB) *Runtime {
	tb.Helper()
	r := &Runtime{
		tb:       tb,
		queue:    make(chan *invocation),
		closed:   make(chan struct{}),
		inflight: make(map[string]*invocation),
		initCh:   make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/invocation/next", r.next)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/response", r.response)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/error", r.invocationError)
	mux.HandleFunc("POST "+apiPrefix+"/init/error", r.initError)
	r.srv = httptest.NewServer(mux)
	tb.Cleanup(r.close)
	return r
}

// Addr is the host:port to put in AWS_LAMBDA_RUNTIME_API.
func (r *Runtime) Addr() string { return r.srv.Listener.Addr().String() }

// close ends held GET …/next requests with a 500, which tells a runtime to
// exit, then stops the server.
func (r *Runtime) close() {
	r.mu.Lock()
	if r.isClosed {
		r.mu.Unlock()
		return
	}
	r.isClosed = true
	close(r.closed)
	r.mu.Unlock()
	r.srv.Close()
}

// InitError returns the init error the function reported, or nil.
func (r *Runtime) InitError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.initErr == nil {
		return nil
	}
	return r.initErr
}

// Invoke invokes the function with event and the default settings and
// returns its response payload. A function error is a *FunctionError.
func (r *Runtime) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	res, err := r.Do(ctx, Invocation{Event: event})
	if err != nil {
		return nil, err
	}
	return res.Payload, nil
}

// InvokeHTTP invokes the function with a payload 2.0 HTTP event (Function
// URL or HTTP API) and decodes its response.
func (r *Runtime) InvokeHTTP(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	var res events.APIGatewayV2HTTPResponse
	event, err := json.Marshal(e)
	if err != nil {
		return res, fmt.Errorf("lambdatest: encode event: %w", err)
	}
	payload, err := r.Invoke(ctx, event)
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(payload, &res); err != nil {
		return res, fmt.Errorf("lambdatest: decode response %q: %w", payload, err)
	}
	return res, nil
}

// Do runs one invocation: it waits until the function takes the event, then
// until it answers, the deadline passes, its process exits or ctx ends. An
// invocation abandoned through ctx still runs; its answer is discarded.
func (r *Runtime) Do(ctx context.Context, in Invocation) (*Response, error) {
	if len(in.Event) > MaxPayload {
		return nil, ErrEventTooLarge
	}
	inv := newInvocation(in)
	r.mu.Lock()
	if r.isClosed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	initCh, exited := r.initCh, r.procExited()
	r.mu.Unlock()

	select {
	case r.queue <- inv: // a GET …/next took it
	case <-initCh:
		return nil, r.InitError()
	case <-exited:
		return nil, r.exitError(inv)
	case <-r.closed:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	deadline := <-inv.dispatched
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-inv.done:
	case <-timer.C:
		r.finish(inv, nil, &FunctionError{RequestID: inv.id, Type: "Sandbox.Timedout",
			Message: fmt.Sprintf("Task timed out after %.2f seconds", inv.timeout.Seconds())})
	case <-exited:
		r.finish(inv, nil, r.exitError(inv))
	case <-r.closed:
		r.finish(inv, nil, ErrClosed)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	<-inv.done
	if inv.err != nil {
		return nil, inv.err
	}
	inv.res.Deadline = deadline
	return inv.res, nil
}

// procExited returns a channel closed when the current process exits, or
// nil (never ready) when no process was started. Callers hold r.mu.
func (r *Runtime) procExited() <-chan struct{} {
	if r.proc == nil {
		return nil
	}
	return r.proc.done
}

// exitError is how Lambda reports an invocation whose runtime exited.
func (r *Runtime) exitError(inv *invocation) error {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	return &FunctionError{RequestID: inv.id, Type: "Runtime.ExitError",
		Message: "Runtime exited with error: " + p.exitStatus(), Payload: p.outputTail()}
}

// invocation is an event on its way through the runtime.
type invocation struct {
	id, arn, traceID string
	event            []byte
	timeout          time.Duration
	dispatched       chan time.Time // the deadline, sent when GET …/next takes the event
	once             sync.Once
	done             chan struct{} // closed when res or err is set
	res              *Response
	err              error
}

func newInvocation(in Invocation) *invocation {
	inv := &invocation{id: in.RequestID, arn: in.FunctionARN, traceID: in.TraceID, event: in.Event,
		timeout: in.Timeout, dispatched: make(chan time.Time, 1), done: make(chan struct{})}
	if inv.id == "" {
		inv.id = newUUID()
	}
	if inv.arn == "" {
		inv.arn = DefaultFunctionARN
	}
	if inv.traceID == "" {
		inv.traceID = newTraceID()
	}
	if inv.timeout <= 0 {
		inv.timeout = DefaultTimeout
	}
	return inv
}

// finish settles inv once and forgets it, so a later answer gets a 400.
// It reports whether this call settled it.
func (r *Runtime) finish(inv *invocation, res *Response, err error) bool {
	settled := false
	inv.once.Do(func() {
		r.mu.Lock()
		delete(r.inflight, inv.id)
		r.mu.Unlock()
		inv.res, inv.err = res, err
		close(inv.done)
		settled = true
	})
	return settled
}

// lookup returns the in-flight invocation id, or nil.
func (r *Runtime) lookup(id string) *invocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inflight[id]
}

func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	var inv *invocation
	select {
	case inv = <-r.queue:
	case <-r.closed:
		apiError(w, http.StatusInternalServerError, "Runtime.Shutdown", "the runtime is shutting down")
		return
	case <-req.Context().Done():
		return
	}
	deadline := time.Now().Add(inv.timeout)
	r.mu.Lock()
	r.inflight[inv.id] = inv
	r.mu.Unlock()
	inv.dispatched <- deadline
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.arn)
	h.Set("Lambda-Runtime-Trace-Id", inv.traceID)
	w.WriteHeader(http.StatusOK)
	w.Write(inv.event)
}

func (r *Runtime) response(w http.ResponseWriter, req *http.Request) {
	inv := r.lookup(req.PathValue("id"))
	if inv == nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxPayload+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if len(body) > MaxPayload {
		r.finish(inv, nil, &FunctionError{RequestID: inv.id, Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayload)})
		apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxPayload))
		return
	}
	// aws-lambda-go reports a failed streamed body in trailers.
	if typ := req.Trailer.Get("Lambda-Runtime-Function-Error-Type"); typ != "" {
		r.settle(w, inv, nil, &FunctionError{RequestID: inv.id, Type: typ,
			Message: "the function failed while streaming its response", Payload: body})
		return
	}
	r.settle(w, inv, &Response{RequestID: inv.id, Payload: body, ContentType: req.Header.Get("Content-Type")}, nil)
}

func (r *Runtime) invocationError(w http.ResponseWriter, req *http.Request) {
	inv := r.lookup(req.PathValue("id"))
	if inv == nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	fe := readError(req)
	fe.RequestID = inv.id
	r.settle(w, inv, nil, fe)
}

// settle finishes inv with the function's answer; an invocation that timed
// out meanwhile is no longer open to answers.
func (r *Runtime) settle(w http.ResponseWriter, inv *invocation, res *Response, err error) {
	if !r.finish(inv, res, err) {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	accepted(w)
}

func (r *Runtime) initError(w http.ResponseWriter, req *http.Request) {
	fe := readError(req)
	fe.Init = true
	r.mu.Lock()
	if r.initErr == nil {
		r.initErr = fe
		close(r.initCh)
	}
	r.mu.Unlock()
	r.tb.Logf("lambdatest: the function reported an init error: %s: %s", fe.Type, fe.Message)
	accepted(w)
}

// readError reads an error report: the Lambda error JSON when the body has
// one, else the Lambda-Runtime-Function-Error-Type header.
func readError(req *http.Request) *FunctionError {
	body, _ := io.ReadAll(io.LimitReader(req.Body, MaxPayload))
	fe := &FunctionError{Type: req.Header.Get("Lambda-Runtime-Function-Error-Type"), Payload: body}
	var e struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if json.Unmarshal(body, &e) == nil {
		fe.Message = e.Message
		if e.Type != "" {
			fe.Type = e.Type
		}
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

// apiError answers as the Runtime API does: {"errorMessage":…,"errorType":…}.
func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"errorMessage": msg, "errorType": typ})
}

// newUUID returns a random (version 4) UUID, the form of Lambda request ids.
func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newTraceID returns an X-Ray trace header for an unsampled request.
func newTraceID() string {
	b := make([]byte, 20)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), h[:24], h[24:])
}
