package lambda_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/openqq-relay/openqq/relay/lambda"
	"github.com/openqq-relay/openqq/relay/lambda/internal/echo"
)

// FuzzAdapter serves arbitrary events with the echo handler: the adapter
// never panics, always answers a response the Runtime API accepts, and a
// body the handler echoes comes back byte for byte.
func FuzzAdapter(f *testing.F) {
	f.Add("GET", "/openqq/get_user_info", "a=1&a=2", "accept", "text/html, */*", "session=1", []byte(""), false)
	f.Add("POST", "/raw", "", "content-type", "application/octet-stream", "", []byte("\x00\xff\xfe"), true)
	f.Add("HEAD", "/%zz", "x=%", "Host", "", "a=b; c=d", []byte("<html>"), false)
	f.Add("POST", "/raw", "status=204", "content-type", "text/plain", "", []byte("héllo"), false)
	f.Add("PUT", "/panic", "", "x", "y", "", []byte(nil), false)
	f.Add("GE T", "", "", "", "", "", []byte("%%%"), true)
	f.Add("POST", "/raw", "set_cookie=a%3Db&header=Vary%3A+x", "", "", "", []byte("\xc3\x28"), false)

	a := lambda.New(echo.Handler(), &lambda.Options{MaxBodyBytes: 1 << 16, Logger: slog.New(slog.DiscardHandler)})
	f.Fuzz(func(t *testing.T, method, path, query, hname, hvalue, cookie string, body []byte, b64 bool) {
		e := events.APIGatewayV2HTTPRequest{
			RawPath:        path,
			RawQueryString: query,
			Headers:        map[string]string{hname: hvalue},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, SourceIP: "192.0.2.1"},
			},
		}
		if cookie != "" {
			e.Cookies = []string{cookie}
		}
		e.Body = string(body)
		if b64 {
			e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
			if len(body)%3 == 1 {
				e.Body = e.Body[:len(e.Body)-1] // corrupt the padding now and then
			}
		}
		res, err := a.ServeEvent(t.Context(), e)
		if method == "" {
			if err == nil {
				t.Fatal("no error for an event without a method")
			}
			return
		}
		if err != nil {
			t.Fatalf("error %v for method %q", err, method)
		}
		checkValidResponse(t, res)

		// Whatever the handler echoed on /raw comes back exactly.
		if res.StatusCode == http.StatusOK && path == "/raw" && method != http.MethodHead && query == "" {
			want := []byte(e.Body)
			if b64 {
				want, _ = base64.StdEncoding.DecodeString(e.Body)
			}
			if got := responseBody(t, res); !bytes.Equal(got, want) {
				t.Fatalf("echoed body %q, sent %q", got, want)
			}
		}
	})
}

func checkValidResponse(t *testing.T, res events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if res.StatusCode < 200 || res.StatusCode > 999 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if res.Headers == nil {
		t.Fatal("nil headers")
	}
	if _, ok := res.Headers["Set-Cookie"]; ok {
		t.Fatal("Set-Cookie in the headers map")
	}
	if !res.IsBase64Encoded && !utf8.ValidString(res.Body) {
		t.Fatalf("text body is not UTF-8: %q", res.Body)
	}
	responseBody(t, res)
	if _, err := json.Marshal(res); err != nil {
		t.Fatalf("response does not encode: %v", err)
	}
}

func responseBody(t *testing.T, res events.APIGatewayV2HTTPResponse) []byte {
	t.Helper()
	if !res.IsBase64Encoded {
		return []byte(res.Body)
	}
	b, err := base64.StdEncoding.DecodeString(res.Body)
	if err != nil {
		t.Fatalf("base64 body does not decode: %v", err)
	}
	return b
}
