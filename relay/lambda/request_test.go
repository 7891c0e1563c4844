package lambda_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/openqq-relay/openqq/relay/lambda"
	"github.com/openqq-relay/openqq/relay/lambda/internal/echo"
)

// loadEvent reads a payload 2.0 event from testdata. Function URL events
// decode through their own type first, to show both types carry the same
// JSON.
func loadEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(name, "function-url") {
		var fu events.LambdaFunctionURLRequest
		if err := json.Unmarshal(b, &fu); err != nil {
			t.Fatal(err)
		}
		if b, err = json.Marshal(fu); err != nil {
			t.Fatal(err)
		}
	}
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// newEvent returns a minimal Function URL event.
func newEvent(method, rawPath string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RawPath:  rawPath,
		RouteKey: "$default",
		Headers:  map[string]string{"host": "fn.lambda-url.us-east-1.on.aws"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID:  "req-1",
			DomainName: "fn.lambda-url.us-east-1.on.aws",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: method, Path: rawPath, Protocol: "HTTP/1.1", SourceIP: "192.0.2.10",
			},
		},
	}
}

func testAdapter(t testing.TB, h http.Handler) *lambda.Adapter {
	return lambda.New(h, &lambda.Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
}

// serveEcho serves e with the echo handler and decodes its reply.
func serveEcho(t *testing.T, ctx context.Context, e events.APIGatewayV2HTTPRequest) echo.Reply {
	t.Helper()
	res, err := testAdapter(t, echo.Handler()).ServeEvent(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, body %s", res.StatusCode, res.Body)
	}
	var rep echo.Reply
	if err := json.Unmarshal([]byte(res.Body), &rep); err != nil {
		t.Fatalf("decode %q: %v", res.Body, err)
	}
	return rep
}

func equal[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func equalSlice(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

var sampleTests = []struct {
	name  string
	event string
	check func(t *testing.T, r echo.Reply)
}{
	{
		name:  "function URL form post with a base64 body",
		event: "function-url-form.json",
		check: func(t *testing.T, r echo.Reply) {
			equal(t, "method", r.Method, "POST")
			equal(t, "path", r.Path, "/openqq/send_friend_message")
			equal(t, "request URI", r.RequestURI, "/openqq/send_friend_message")
			equal(t, "host", r.Host, "abcdefghijklmnopqrstuvwxyz0123.lambda-url.us-east-1.on.aws")
			equal(t, "remote addr", r.RemoteAddr, "203.0.113.7:0")
			equal(t, "proto", r.Proto, "HTTP/1.1")
			equalSlice(t, "form uid", r.Form["uid"], []string{"308165330"})
			equalSlice(t, "form content", r.Form["content"], []string{"你好, world"})
			equalSlice(t, "form async", r.Form["async"], []string{"1"})
			equal(t, "content length", r.ContentLength, int64(len(r.Body)))
			equalSlice(t, "Content-Length", r.Header["Content-Length"], []string{"57"})
			equalSlice(t, "cookies", r.Cookies, []string{"session=8f2c1d", "theme=dark"})
			equalSlice(t, "Cookie", r.Header["Cookie"], []string{"session=8f2c1d; theme=dark"})
			equalSlice(t, "Authorization", r.Header["Authorization"], []string{"Bearer 4c5b3a7e"})
			// One value per field, as a net/http server gives a one-line list.
			equalSlice(t, "Accept-Encoding", r.Header["Accept-Encoding"], []string{"gzip, deflate, br"})
			equalSlice(t, "User-Agent", r.Header["User-Agent"], []string{
				"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"})
			equalSlice(t, "X-Forwarded-Proto", r.Header["X-Forwarded-Proto"], []string{"https"})
			equal(t, "request id", r.RequestID, "0b7c2f1e-9d4a-4c3b-8e6f-1a2b3c4d5e6f")
			equalSlice(t, "X-Request-Id", r.Header["X-Request-Id"], []string{"0b7c2f1e-9d4a-4c3b-8e6f-1a2b3c4d5e6f"})
			if _, ok := r.Header["Host"]; ok {
				t.Error("Host stayed in the header map; net/http moves it to Request.Host")
			}
		},
	},
	{
		name:  "HTTP API GET with repeated query values and joined headers",
		event: "http-api-get.json",
		check: func(t *testing.T, r echo.Reply) {
			equal(t, "method", r.Method, "GET")
			equal(t, "raw query", r.RawQuery, "gnumber=123456&uid=1001&uid=1002&name=%E5%BC%A0%E4%B8%89")
			equalSlice(t, "uid", r.Query["uid"], []string{"1001", "1002"})
			equalSlice(t, "name", r.Query["name"], []string{"张三"})
			equal(t, "host", r.Host, "r4nd0m1d.execute-api.ap-east-1.amazonaws.com")
			equal(t, "remote addr", r.RemoteAddr, "198.51.100.23:0")
			equalSlice(t, "cookies", r.Cookies, []string{"session=8f2c1d", "lang=zh-CN"})
			equalSlice(t, "X-Custom", r.Header["X-Custom"], []string{"one,two"})
			equalSlice(t, "X-Forwarded-For", r.Header["X-Forwarded-For"], []string{"198.51.100.23,10.0.0.1"})
			equal(t, "body", len(r.Body), 0)
			equal(t, "content length", r.ContentLength, int64(0))
			equalSlice(t, "Content-Length", r.Header["Content-Length"], []string{"0"})
			equal(t, "request id", r.RequestID, "cXnU8iTEoAMEbVQ=")
		},
	},
}

func TestServeEventSamples(t *testing.T) {
	for _, tt := range sampleTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t, serveEcho(t, t.Context(), loadEvent(t, tt.event)))
		})
	}
}

var requestTests = []struct {
	name  string
	edit  func(e *events.APIGatewayV2HTTPRequest)
	check func(t *testing.T, r echo.Reply)
}{
	{
		name: "rawPath missing falls back to requestContext.http.path",
		edit: func(e *events.APIGatewayV2HTTPRequest) {
			e.RawPath = ""
			e.RequestContext.HTTP.Path = "/openqq/get_user_info"
		},
		check: func(t *testing.T, r echo.Reply) {
			equal(t, "path", r.Path, "/openqq/get_user_info")
		},
	},
	{
		name: "no path at all is the root",
		edit: func(e *events.APIGatewayV2HTTPRequest) { e.RawPath = ""; e.RequestContext.HTTP.Path = "" },
		check: func(t *testing.T, r echo.Reply) {
			equal(t, "path", r.Path, "/")
		},
	},
	{
		name: "escaped path keeps its escaping",
		edit: func(e *events.APIGatewayV2HTTPRequest) { e.RawPath = "/files/a%2Fb%20c" },
		check: func(t *testing.T, r echo.Reply) {
			equal(t, "path", r.Path, "/files/a/b c")
			equal(t, "escaped path", r.EscapedPath, "/files/a%2Fb%20c")
			equal(t, "request URI", r.RequestURI, "/files/a%2Fb%20c")
		},
	},
	{
		name: "invalid escape is taken literally",
		edit: func(e *events.APIGatewayV2HTTPRequest) { e.RawPath = "/x%zz" },
		check: func(t *testing.T, r echo.Reply) {
			equal(t, "path", r.Path, "/x%zz")
		},
	},
	{
		name: "query from the parsed map when the raw one is missing",
		edit: func(e *events.APIGatewayV2HTTPRequest) {
			e.QueryStringParameters = map[string]string{"uid": "42", "name": "a b"}
		},
		check: func(t *testing.T, r echo.Reply) {
			equal(t, "raw query", r.RawQuery, "name=a+b&uid=42")
		},
	},
	{
		name: "host from the domain name without a host header",
		edit: func(e *events.APIGatewayV2HTTPRequest) {
			delete(e.Headers, "host")
			e.RequestContext.DomainName = "api.example.org"
		},
		check: func(t *testing.T, r echo.Reply) {
			equal(t, "host", r.Host, "api.example.org")
		},
	},
	{
		name: "client X-Request-Id is replaced by the front door's",
		edit: func(e *events.APIGatewayV2HTTPRequest) { e.Headers["x-request-id"] = "spoofed" },
		check: func(t *testing.T, r echo.Reply) {
			equalSlice(t, "X-Request-Id", r.Header["X-Request-Id"], []string{"req-1"})
		},
	},
	{
		name: "header names that differ in case are all kept",
		edit: func(e *events.APIGatewayV2HTTPRequest) { e.Headers["X-Tag"] = "a"; e.Headers["x-tag"] = "b" },
		check: func(t *testing.T, r echo.Reply) {
			equalSlice(t, "X-Tag", r.Header["X-Tag"], []string{"a", "b"})
		},
	},
	{
		name: "transfer encoding is dropped; the body came whole",
		edit: func(e *events.APIGatewayV2HTTPRequest) {
			e.Headers["transfer-encoding"] = "chunked"
			e.Body = "hello"
		},
		check: func(t *testing.T, r echo.Reply) {
			equal(t, "body", string(r.Body), "hello")
			equalSlice(t, "Content-Length", r.Header["Content-Length"], []string{"5"})
			if _, ok := r.Header["Transfer-Encoding"]; ok {
				t.Error("Transfer-Encoding kept")
			}
		},
	},
	{
		name: "binary body in base64",
		edit: func(e *events.APIGatewayV2HTTPRequest) {
			e.Body = base64.StdEncoding.EncodeToString([]byte{0, 0xff, 0xfe, 'x'})
			e.IsBase64Encoded = true
		},
		check: func(t *testing.T, r echo.Reply) {
			equal(t, "body", string(r.Body), "\x00\xff\xfex")
			equal(t, "content length", r.ContentLength, int64(4))
		},
	},
	{
		name: "HTTP/2 protocol",
		edit: func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.HTTP.Protocol = "HTTP/2.0" },
		check: func(t *testing.T, r echo.Reply) {
			equal(t, "proto", r.Proto, "HTTP/2.0")
		},
	},
	{
		name: "IPv6 source address",
		edit: func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.HTTP.SourceIP = "2001:db8::7" },
		check: func(t *testing.T, r echo.Reply) {
			equal(t, "remote addr", r.RemoteAddr, "[2001:db8::7]:0")
		},
	},
}

func TestServeEventRequest(t *testing.T) {
	for _, tt := range requestTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEvent("POST", "/echo")
			tt.edit(&e)
			tt.check(t, serveEcho(t, t.Context(), e))
		})
	}
}

func TestRequestIDFallsBackToInvocation(t *testing.T) {
	e := newEvent("GET", "/")
	e.RequestContext.RequestID = ""
	ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "aws-7"})
	r := serveEcho(t, ctx, e)
	equal(t, "request id", r.RequestID, "aws-7")
	equal(t, "aws request id", r.AwsRequestID, "aws-7")
}

// The joined list value works with net/http's own list parsing: an
// If-None-Match that names the current ETag second still matches.
func TestJoinedListHeaderWithServeContent(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v2"`)
		http.ServeContent(w, r, "x.txt", time2000, strings.NewReader("content"))
	})
	res, err := testAdapter(t, h).ServeEvent(t.Context(), loadEvent(t, "http-api-get.json"))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "status", res.StatusCode, http.StatusNotModified)
	equal(t, "body", res.Body, "")
}

func TestMethodPatternRouting(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openqq/{api}", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("get " + r.PathValue("api")))
	})
	a := testAdapter(t, mux)
	res, err := a.ServeEvent(t.Context(), newEvent("GET", "/openqq/get_user_info"))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "body", res.Body, "get get_user_info")
	res, err = a.ServeEvent(t.Context(), newEvent("DELETE", "/openqq/get_user_info"))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "status", res.StatusCode, http.StatusMethodNotAllowed)
	equal(t, "Allow", res.Headers["Allow"], "GET, HEAD")
}

func TestBodyLimit(t *testing.T) {
	called := false
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true })
	small := lambda.New(h, &lambda.Options{MaxBodyBytes: 10, Logger: slog.New(slog.DiscardHandler)})
	tests := []struct {
		name   string
		a      *lambda.Adapter
		body   string
		base64 bool
		want   int
	}{
		{"text at the limit", small, "0123456789", false, http.StatusOK},
		{"text over the limit", small, "0123456789a", false, http.StatusRequestEntityTooLarge},
		{"base64 at the limit", small, "0123456789", true, http.StatusOK},
		{"base64 over the limit", small, "0123456789a", true, http.StatusRequestEntityTooLarge},
		{"default limit is the 6 MB payload", lambda.New(h, nil), strings.Repeat("x", lambda.MaxPayload+1), false, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called = false
			e := newEvent("POST", "/upload")
			e.Body = tt.body
			if tt.base64 {
				e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(tt.body)), true
			}
			res, err := tt.a.ServeEvent(t.Context(), e)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "status", res.StatusCode, tt.want)
			if tt.want == http.StatusRequestEntityTooLarge {
				equal(t, "body", res.Body, `{"code":413,"status":"request body too large"}`)
				equal(t, "Content-Type", res.Headers["Content-Type"], "application/json")
				equal(t, "handler called", called, false)
			}
		})
	}
}

func TestBadEvents(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("handler called") })
	a := lambda.New(h, &lambda.Options{Logger: slog.New(slog.DiscardHandler)})
	for _, tt := range []struct {
		name string
		edit func(e *events.APIGatewayV2HTTPRequest)
	}{
		{"invalid base64", func(e *events.APIGatewayV2HTTPRequest) { e.Body, e.IsBase64Encoded = "%%%", true }},
		{"method that is not a token", func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.HTTP.Method = "GE T" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent("POST", "/")
			tt.edit(&e)
			res, err := a.ServeEvent(t.Context(), e)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "status", res.StatusCode, http.StatusBadRequest)
			equal(t, "body", res.Body, `{"code":400,"status":"bad request"}`)
		})
	}
	t.Run("no method: not an HTTP event", func(t *testing.T) {
		if _, err := a.ServeEvent(t.Context(), events.APIGatewayV2HTTPRequest{}); err == nil {
			t.Error("no error for an event without a method")
		}
	})
}

// logBuffer collects an adapter's log output, debug level included.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}
