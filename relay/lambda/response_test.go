package lambda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/openqq-relay/openqq/relay/lambda"
)

var time2000 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// pngHeader is the start of a PNG file: binary, not UTF-8.
var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

var responseTests = []struct {
	name    string
	handler http.HandlerFunc
	want    events.APIGatewayV2HTTPResponse
}{
	{
		name:    "nothing written is an empty 200",
		handler: func(w http.ResponseWriter, r *http.Request) {},
		want:    events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{}},
	},
	{
		name: "text body, content type sniffed",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("hello"))
		},
		want: events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "hello",
			Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
	},
	{
		name: "HTML sniffed over several writes",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<!DOCTYPE html>"))
			w.Write([]byte("<p>hi</p>"))
		},
		want: events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "<!DOCTYPE html><p>hi</p>",
			Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
	},
	{
		name: "binary body goes out in base64",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write(pngHeader)
		},
		want: events.APIGatewayV2HTTPResponse{StatusCode: 200, IsBase64Encoded: true,
			Body:    base64.StdEncoding.EncodeToString(pngHeader),
			Headers: map[string]string{"Content-Type": "image/png"}},
	},
	{
		name: "content type set by the handler is kept",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"code":0}`))
		},
		want: events.APIGatewayV2HTTPResponse{StatusCode: 201, Body: `{"code":0}`,
			Headers: map[string]string{"Content-Type": "application/json"}},
	},
	{
		name: "a nil Content-Type suppresses sniffing, as net/http",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			w.Write([]byte("<html>"))
		},
		want: events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "<html>", Headers: map[string]string{}},
	},
	{
		name: "cookies go to the cookies array, other repeated headers are joined",
		handler: func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc", Path: "/", HttpOnly: true})
			http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark", Expires: time2000})
			w.Header().Add("Vary", "Origin")
			w.Header().Add("Vary", "Accept-Encoding")
			w.Header().Set("Content-Type", "text/plain")
		},
		want: events.APIGatewayV2HTTPResponse{StatusCode: 200,
			Headers: map[string]string{"Vary": "Origin, Accept-Encoding", "Content-Type": "text/plain"},
			Cookies: []string{"session=abc; Path=/; HttpOnly", "theme=dark; Expires=Sat, 01 Jan 2000 00:00:00 GMT"}},
	},
	{
		name: "headers changed after WriteHeader are not sent",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Before", "1")
			w.WriteHeader(http.StatusAccepted)
			w.Header().Set("X-After", "1")
			w.Header().Set("X-Before", "2")
		},
		want: events.APIGatewayV2HTTPResponse{StatusCode: 202, Headers: map[string]string{"X-Before": "1"}},
	},
	{
		name: "superfluous WriteHeader is ignored",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			w.WriteHeader(http.StatusOK)
		},
		want: events.APIGatewayV2HTTPResponse{StatusCode: 418, Headers: map[string]string{}},
	},
	{
		name: "interim 103 is dropped, the final status kept",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusNotFound)
		},
		want: events.APIGatewayV2HTTPResponse{StatusCode: 404, Headers: map[string]string{"Link": "</style.css>; rel=preload"}},
	},
	{
		name: "204 refuses a body",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
			if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
				panic("write on 204 did not fail")
			}
		},
		want: events.APIGatewayV2HTTPResponse{StatusCode: 204, Headers: map[string]string{}},
	},
	{
		name: "Flush commits the header",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-A", "1")
			w.(http.Flusher).Flush()
			w.Header().Set("X-B", "1")
			w.Write([]byte("{}"))
		},
		want: events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "{}",
			Headers: map[string]string{"X-A": "1", "Content-Type": "text/plain; charset=utf-8"}},
	},
}

func TestServeEventResponse(t *testing.T) {
	for _, tt := range responseTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := testAdapter(t, tt.handler).ServeEvent(t.Context(), newEvent("GET", "/"))
			if err != nil {
				t.Fatal(err)
			}
			checkResponse(t, got, tt.want)
		})
	}
}

func checkResponse(t *testing.T, got, want events.APIGatewayV2HTTPResponse) {
	t.Helper()
	equal(t, "status", got.StatusCode, want.StatusCode)
	equal(t, "body", got.Body, want.Body)
	equal(t, "base64", got.IsBase64Encoded, want.IsBase64Encoded)
	if got.Headers == nil {
		t.Error("headers are nil; the response JSON would carry null")
	}
	for k, v := range want.Headers {
		equal(t, "header "+k, got.Headers[k], v)
	}
	for k := range got.Headers {
		if _, ok := want.Headers[k]; !ok {
			t.Errorf("unexpected header %s: %q", k, got.Headers[k])
		}
	}
	if !slices.Equal(got.Cookies, want.Cookies) {
		t.Errorf("cookies = %q, want %q", got.Cookies, want.Cookies)
	}
}

func TestHead(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "22")
		w.Write([]byte("<html><p>page</p></html>"))
	})
	got, err := testAdapter(t, h).ServeEvent(t.Context(), newEvent("HEAD", "/page"))
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, got, events.APIGatewayV2HTTPResponse{StatusCode: 200,
		Headers: map[string]string{"Content-Type": "text/html; charset=utf-8", "Content-Length": "22"}})
}

func TestPanic(t *testing.T) {
	for _, tt := range []struct {
		name    string
		value   any
		logged  string
		errored bool
	}{
		{"panic with a value", "boom", `msg="handler panicked"`, true},
		{"abort handler", http.ErrAbortHandler, `msg="handler aborted"`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log, buf := logBuffer()
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Partial", "1")
				w.Write([]byte("partial"))
				panic(tt.value)
			})
			a := lambda.New(h, &lambda.Options{Logger: log})
			got, err := a.ServeEvent(t.Context(), newEvent("GET", "/crash"))
			if err != nil {
				t.Fatal(err)
			}
			checkResponse(t, got, events.APIGatewayV2HTTPResponse{StatusCode: 500,
				Body:    `{"code":500,"status":"internal error"}`,
				Headers: map[string]string{"Content-Type": "application/json"}})
			out := buf.String()
			if !strings.Contains(out, tt.logged) || !strings.Contains(out, "path=/crash") {
				t.Errorf("log %q lacks %s", out, tt.logged)
			}
			if got := strings.Contains(out, "level=ERROR"); got != tt.errored {
				t.Errorf("logged at error level = %v, want %v: %s", got, tt.errored, out)
			}
			if tt.errored && !strings.Contains(out, "err=boom") {
				t.Errorf("log %q lacks the panic value", out)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	deadline := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	var seen time.Time
	var remaining time.Duration
	var ok bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = r.Context().Deadline()
		remaining, ok = lambda.Remaining(r.Context())
	})
	if _, err := testAdapter(t, h).ServeEvent(ctx, newEvent("GET", "/")); err != nil {
		t.Fatal(err)
	}
	if !seen.Equal(deadline) {
		t.Errorf("handler saw deadline %v, want %v", seen, deadline)
	}
	if !ok || remaining <= 0 || remaining > time.Hour {
		t.Errorf("Remaining = %v, %v; want within (0, 1h]", remaining, ok)
	}
	if d, ok := lambda.Remaining(context.Background()); ok || d != 0 {
		t.Errorf("Remaining without a deadline = %v, %v", d, ok)
	}
	past, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	if d, ok := lambda.Remaining(past); !ok || d != 0 {
		t.Errorf("Remaining past the deadline = %v, %v; want 0, true", d, ok)
	}
}

func TestResponseTooLarge(t *testing.T) {
	for _, tt := range []struct {
		name string
		body func() []byte
	}{
		{"text over 6 MB", func() []byte { return []byte(strings.Repeat("a", lambda.MaxPayload+1)) }},
		{"binary that base64 pushes over 6 MB", func() []byte {
			b := make([]byte, 5<<20)
			b[0] = 0xff
			return b
		}},
		{"text that JSON escaping pushes over 6 MB", func() []byte { return []byte(strings.Repeat("\x01", 1<<20+1)) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log, buf := logBuffer()
			body := tt.body()
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
			got, err := lambda.New(h, &lambda.Options{Logger: log}).ServeEvent(t.Context(), newEvent("GET", "/big"))
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "status", got.StatusCode, 500)
			equal(t, "body", got.Body, `{"code":500,"status":"internal error"}`)
			if !strings.Contains(buf.String(), "over the Lambda payload limit") {
				t.Errorf("not logged: %q", buf.String())
			}
		})
	}
	t.Run("just under the limit passes", func(t *testing.T) {
		body := strings.Repeat("a", lambda.MaxPayload-1024)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) })
		got, err := testAdapter(t, h).ServeEvent(t.Context(), newEvent("GET", "/big"))
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "status", got.StatusCode, 200)
		equal(t, "body length", len(got.Body), len(body))
	})
}

func TestInvoke(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<b>" + r.URL.RawQuery + "</b>"))
	})
	a := testAdapter(t, h)
	event, err := json.Marshal(events.LambdaFunctionURLRequest{
		RawPath: "/", RawQueryString: "a=1&a=2",
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "GET"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := a.Invoke(t.Context(), event)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(payload), `"body":"<b>a=1&a=2</b>"`) {
		t.Errorf("payload %s: body missing or HTML-escaped", payload)
	}
	var res events.LambdaFunctionURLResponse
	if err := json.Unmarshal(payload, &res); err != nil {
		t.Fatal(err)
	}
	equal(t, "status", res.StatusCode, 200)

	for _, bad := range []string{`"x"`, `{"requestContext":5}`, `{}`, `{"Records":[{"eventSource":"aws:sqs"}]}`, `not json`} {
		_, err := a.Invoke(t.Context(), []byte(bad))
		var ie messages.InvokeResponse_Error
		if !errors.As(err, &ie) || ie.Type != "InvalidEvent" {
			t.Errorf("Invoke(%s) = %v, want an InvalidEvent error", bad, err)
		}
	}
}
