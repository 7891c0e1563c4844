// Package lambda serves an http.Handler as an AWS Lambda function behind a
// Function URL or an API Gateway HTTP API (payload format 2.0, buffered).
//
// The adapter builds the *http.Request a net/http server would have built
// and turns what the handler wrote into the event response:
//
//   - the path comes from rawPath (else requestContext.http.path) and the
//     query from rawQueryString, so repeated query values survive;
//   - the gateway joins repeated header lines with commas; each joined value
//     stays one field line (see [Adapter.ServeEvent] for why);
//   - the cookies array becomes one Cookie header, and every Set-Cookie the
//     handler writes goes to the response's cookies array;
//   - base64 bodies are decoded; a body over [Options.MaxBodyBytes] is
//     answered 413 without calling the handler;
//   - r.Context() carries the invocation deadline and the Lambda context
//     (lambdacontext.FromContext); [Remaining] reads the time left;
//   - the front door's request id is in the X-Request-Id header and in
//     [RequestID];
//   - a panicking handler answers 500 {"code":500,"status":"internal error"}
//     and is logged; the runtime keeps serving.
//
// Binaries that use it are built with -tags lambda.norpc.
package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// MaxPayload is Lambda's limit on a synchronous invocation's request and
// response payloads (6 MB).
const MaxPayload = 6 << 20

// RequestIDHeader is the request header that carries the front door's
// request id (requestContext.requestId). The adapter overwrites any value
// the client sent, so logs can trust it.
const RequestIDHeader = "X-Request-Id"

// Options configures an Adapter; the zero value works.
type Options struct {
	// MaxBodyBytes caps the decoded request body; 0 means MaxPayload.
	// Larger bodies are answered 413 without calling the handler.
	MaxBodyBytes int64
	// Logger receives handler panics and refused responses; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Adapter serves payload-2.0 HTTP events with an http.Handler. It is safe
// for concurrent use.
type Adapter struct {
	h       http.Handler
	maxBody int64
	log     *slog.Logger
}

// New returns an Adapter that serves events with h. o may be nil.
func New(h http.Handler, o *Options) *Adapter {
	a := &Adapter{h: h, maxBody: MaxPayload, log: slog.Default()}
	if o != nil {
		if o.MaxBodyBytes > 0 {
			a.maxBody = o.MaxBodyBytes
		}
		if o.Logger != nil {
			a.log = o.Logger
		}
	}
	a.log = a.log.With("component", "lambda")
	return a
}

// Handler returns a Lambda handler function that serves Function URL and
// HTTP API payload-2.0 events with h (both use the same JSON, so
// events.LambdaFunctionURLRequest decodes into the same type).
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return New(h, nil).ServeEvent
}

// Start runs h as the function's handler through the Lambda Runtime API
// named by AWS_LAMBDA_RUNTIME_API. It never returns.
func Start(h http.Handler) { New(h, nil).Start() }

// Start runs the adapter through the Lambda Runtime API named by
// AWS_LAMBDA_RUNTIME_API. It never returns.
func (a *Adapter) Start() { awslambda.Start(a) }

// errNotHTTPEvent answers events that carry no HTTP method: another event
// source wired to the function, or a payload 1.0 event.
var errNotHTTPEvent = errors.New("lambda: event has no requestContext.http.method: not a payload 2.0 HTTP event")

// Invoke decodes a raw event, serves it and encodes the response; it makes
// Adapter an aws-lambda-go lambda.Handler. A payload that is not an HTTP
// event is an invocation error (errorType "InvalidEvent"), not an HTTP answer.
func (a *Adapter) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, messages.InvokeResponse_Error{Type: "InvalidEvent", Message: "lambda: decode event: " + err.Error()}
	}
	res, err := a.ServeEvent(ctx, e)
	if err != nil {
		return nil, messages.InvokeResponse_Error{Type: "InvalidEvent", Message: err.Error()}
	}
	return encode(res)
}

// ServeEvent serves one event with the handler. The only error is for an
// event without an HTTP method; every other problem is an HTTP answer.
//
// Repeated request header lines reach the handler as the gateway joined
// them, one comma-separated value per field. RFC 9110 §5.3 makes that
// equivalent to separate lines for list fields, it is what a net/http server
// gives for a one-line list (so Header.Get and net/http's own list parsing,
// e.g. If-None-Match in http.ServeContent, see every element), and no split
// is safe for the fields that are not lists (User-Agent, dates, Range and
// custom headers carry commas in their values). Cookies are the exception
// HTTP makes: they arrive apart and are joined with "; ".
func (a *Adapter) ServeEvent(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if e.RequestContext.HTTP.Method == "" {
		return events.APIGatewayV2HTTPResponse{}, errNotHTTPEvent
	}
	req, status := a.request(ctx, &e)
	if status != 0 {
		a.log.DebugContext(ctx, "request refused", "status", status, "method", e.RequestContext.HTTP.Method)
		return errorResponse(status), nil
	}
	w := newResponseWriter(req.Method == http.MethodHead)
	if !a.serve(w, req) {
		return errorResponse(http.StatusInternalServerError), nil
	}
	if w.tooLarge {
		a.log.ErrorContext(ctx, "response refused: over the Lambda payload limit",
			"method", req.Method, "path", req.URL.Path, "limit", MaxPayload)
		return errorResponse(http.StatusInternalServerError), nil
	}
	res := w.event()
	if payloadTooLarge(&res) {
		a.log.ErrorContext(ctx, "response refused: over the Lambda payload limit",
			"method", req.Method, "path", req.URL.Path, "limit", MaxPayload)
		return errorResponse(http.StatusInternalServerError), nil
	}
	return res, nil
}

// serve runs the handler and reports whether it returned normally.
func (a *Adapter) serve(w *responseWriter, req *http.Request) (ok bool) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		ok = false
		if v == http.ErrAbortHandler {
			// The handler asked to drop the response, as net/http allows;
			// buffered mode can only answer with an error instead.
			a.log.DebugContext(req.Context(), "handler aborted", "method", req.Method, "path", req.URL.Path)
			return
		}
		a.log.ErrorContext(req.Context(), "handler panicked", "method", req.Method, "path", req.URL.Path,
			"err", v, "stack", string(debug.Stack()))
	}()
	a.h.ServeHTTP(w, req)
	return true
}

// errorBody is the JSON the adapter answers with when the handler cannot:
// the Openqq {"code":…,"status":…} shape.
type errorBody struct {
	Code   int    `json:"code"`
	Status string `json:"status"`
}

func errorResponse(code int) events.APIGatewayV2HTTPResponse {
	status := "internal error"
	switch code {
	case http.StatusBadRequest:
		status = "bad request"
	case http.StatusRequestEntityTooLarge:
		status = "request body too large"
	}
	b, _ := json.Marshal(errorBody{Code: code, Status: status}) // cannot fail
	return events.APIGatewayV2HTTPResponse{
		StatusCode: code,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(b),
	}
}

// encode writes res as the Runtime API payload, without HTML escaping (as
// aws-lambda-go's own encoder).
func encode(res events.APIGatewayV2HTTPResponse) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// payloadTooLarge reports whether res would exceed MaxPayload once encoded.
// JSON escaping grows a string at most sixfold (\u00XX), so only responses
// near the limit are encoded to measure them.
func payloadTooLarge(res *events.APIGatewayV2HTTPResponse) bool {
	n := len(res.Body)
	for k, v := range res.Headers {
		n += len(k) + len(v)
	}
	for _, c := range res.Cookies {
		n += len(c)
	}
	if 6*n+1024 <= MaxPayload {
		return false
	}
	b, err := encode(*res)
	return err != nil || len(b) > MaxPayload
}

type requestIDKey struct{}

// RequestID returns the front door's request id of the event being served
// (requestContext.requestId, else the Lambda invocation's id), or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestID picks the id a handler should log: the front door's, which the
// client can see, else the invocation's.
func requestID(ctx context.Context, e *events.APIGatewayV2HTTPRequest) string {
	if e.RequestContext.RequestID != "" {
		return e.RequestContext.RequestID
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}

// Remaining returns the time left before ctx's deadline, which inside a
// Lambda invocation is the invocation's deadline; ok is false when ctx has
// no deadline (plain HTTP). It never returns a negative duration.
func Remaining(ctx context.Context) (d time.Duration, ok bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return max(time.Until(deadline), 0), true
}
