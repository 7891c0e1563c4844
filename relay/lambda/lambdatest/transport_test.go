package lambdatest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/openqq-relay/openqq/relay/lambda/lambdatest"
)

func TestNewEvent(t *testing.T) {
	form := url.Values{"uid": {"1"}, "content": {"hi"}}.Encode()
	tests := []struct {
		name        string
		contentType string
		body        string
		wantBody    string
		wantBase64  bool
	}{
		{"form posts arrive base64", "application/x-www-form-urlencoded", form, base64.StdEncoding.EncodeToString([]byte(form)), true},
		{"JSON arrives as text", "application/json; charset=utf-8", `{"a":1}`, `{"a":1}`, false},
		{"text arrives as text", "text/plain", "héllo", "héllo", false},
		{"binary arrives base64", "application/octet-stream", "\x00\x01", "AAE=", true},
		{"no body", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", "https://abc.lambda-url.us-east-1.on.aws/openqq/a%2Fb?x=1&x=2&y=", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			req.Header.Add("X-Trace", "one")
			req.Header.Add("X-Trace", "two")
			req.Header.Set("Cookie", "a=1; b=2")
			e, err := lambdatest.NewEvent(req)
			if err != nil {
				t.Fatal(err)
			}
			if e.Body != tt.wantBody || e.IsBase64Encoded != tt.wantBase64 {
				t.Errorf("body %q base64 %v, want %q %v", e.Body, e.IsBase64Encoded, tt.wantBody, tt.wantBase64)
			}
			checks := map[string][2]string{
				"version":       {e.Version, "2.0"},
				"rawPath":       {e.RawPath, "/openqq/a%2Fb"},
				"http.path":     {e.RequestContext.HTTP.Path, "/openqq/a/b"},
				"rawQuery":      {e.RawQueryString, "x=1&x=2&y="},
				"query x":       {e.QueryStringParameters["x"], "1,2"},
				"method":        {e.RequestContext.HTTP.Method, "POST"},
				"sourceIp":      {e.RequestContext.HTTP.SourceIP, lambdatest.SourceIP},
				"domainName":    {e.RequestContext.DomainName, "abc.lambda-url.us-east-1.on.aws"},
				"domainPrefix":  {e.RequestContext.DomainPrefix, "abc"},
				"host":          {e.Headers["host"], "abc.lambda-url.us-east-1.on.aws"},
				"x-trace":       {e.Headers["x-trace"], "one,two"},
				"cookie header": {e.Headers["cookie"], ""},
				"cookies":       {strings.Join(e.Cookies, "|"), "a=1|b=2"},
				"proto":         {e.Headers["x-forwarded-proto"], "https"},
			}
			for what, c := range checks {
				if c[0] != c[1] {
					t.Errorf("%s = %q, want %q", what, c[0], c[1])
				}
			}
			if e.RequestContext.RequestID == "" || e.RequestContext.TimeEpoch == 0 {
				t.Errorf("request context lacks id or time: %+v", e.RequestContext)
			}
		})
	}
}

// answer plays a function that answers the next event with payload, or
// with an error when errorType is set.
func answer(t *testing.T, rt *lambdatest.Runtime, payload, errorType string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	h, body := next(t, rt)
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	path := "/invocation/" + h.Get("Lambda-Runtime-Aws-Request-Id") + "/response"
	if errorType != "" {
		path = "/invocation/" + h.Get("Lambda-Runtime-Aws-Request-Id") + "/error"
		payload = `{"errorMessage":"boom","errorType":"` + errorType + `"}`
	}
	if status, out := post(t, rt, path, []byte(payload), nil); status != http.StatusAccepted {
		t.Fatalf("answer: %d %v", status, out)
	}
	return e
}

// get runs a client GET in the background.
func get(t *testing.T, rt *lambdatest.Runtime, target string) <-chan *http.Response {
	ch := make(chan *http.Response, 1)
	go func() {
		resp, err := rt.Client().Get(target)
		if err != nil {
			t.Error(err)
		}
		ch <- resp
	}()
	return ch
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTransport(t *testing.T) {
	rt := lambdatest.NewRuntime(t)

	t.Run("structured response", func(t *testing.T) {
		ch := get(t, rt, "http://fn.test/x")
		res := events.APIGatewayV2HTTPResponse{
			StatusCode: 201, Headers: map[string]string{"Content-Type": "image/gif", "Vary": "a, b"},
			Cookies: []string{"a=1", "b=2; Path=/"}, Body: base64.StdEncoding.EncodeToString([]byte("GIF89a\x00")), IsBase64Encoded: true,
		}
		payload, _ := json.Marshal(res)
		e := answer(t, rt, string(payload), "")
		if e.RawPath != "/x" || e.RequestContext.HTTP.Method != "GET" {
			t.Errorf("event = %+v", e)
		}
		resp := <-ch
		if resp == nil {
			t.FailNow()
		}
		if body := readAll(t, resp); resp.StatusCode != 201 || body != "GIF89a\x00" ||
			resp.Header.Get("Content-Type") != "image/gif" || resp.Header.Get("Vary") != "a, b" ||
			len(resp.Cookies()) != 2 {
			t.Errorf("response %d %v %q", resp.StatusCode, resp.Header, body)
		}
	})

	t.Run("bare JSON payload is a 200 JSON body", func(t *testing.T) {
		ch := get(t, rt, "http://fn.test/")
		answer(t, rt, `{"code":0}`, "")
		resp := <-ch
		if resp == nil {
			t.FailNow()
		}
		if body := readAll(t, resp); resp.StatusCode != 200 || body != `{"code":0}` || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("response %d %v %q", resp.StatusCode, resp.Header, body)
		}
	})

	t.Run("function error is a 502", func(t *testing.T) {
		ch := get(t, rt, "http://fn.test/")
		answer(t, rt, "", "Runtime.Crash")
		resp := <-ch
		if resp == nil {
			t.FailNow()
		}
		readAll(t, resp)
		if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Amzn-ErrorType") != "Runtime.Crash" {
			t.Errorf("response %d %v", resp.StatusCode, resp.Header)
		}
	})
}
