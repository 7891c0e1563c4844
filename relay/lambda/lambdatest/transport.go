package lambdatest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// SourceIP is the client address NewEvent puts in requestContext.http.sourceIp.
const SourceIP = "127.0.0.1"

// Client returns an HTTP client whose requests go to the function as
// Function URL events (see Transport). Any host works in the URL.
func (r *Runtime) Client() *http.Client {
	return &http.Client{Transport: &Transport{Runtime: r}}
}

// Transport is an http.RoundTripper that plays a Lambda Function URL in
// front of the function on Runtime: each request becomes a payload 2.0
// event (NewEvent), and the function's answer becomes the HTTP response.
// A function error answers 502, as a Function URL does, with the error type
// in X-Amzn-ErrorType; emulator failures (closed runtime, context ended)
// are RoundTrip errors.
type Transport struct {
	Runtime *Runtime
	// Timeout is the function timeout of each invocation; 0 means
	// DefaultTimeout.
	Timeout time.Duration
}

// RoundTrip invokes the function with req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	e, err := NewEvent(req)
	if err != nil {
		return nil, err
	}
	event, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("lambdatest: encode event: %w", err)
	}
	if len(event) > MaxPayload {
		return httpResponse(req, http.StatusRequestEntityTooLarge, nil, "Request Entity Too Large"), nil
	}
	res, err := t.Runtime.Do(req.Context(), Invocation{Event: event, Timeout: t.Timeout, RequestID: e.RequestContext.RequestID})
	if fe, ok := errors.AsType[*FunctionError](err); ok {
		resp := httpResponse(req, http.StatusBadGateway, nil, "Internal Server Error")
		resp.Header.Set("X-Amzn-ErrorType", fe.Type)
		return resp, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeResponse(req, res.Payload)
}

// NewEvent returns the payload 2.0 event a Function URL sends for req:
// lower-case header names with repeated lines joined by commas, cookies
// apart, the query raw and parsed, and the body as text for textual
// content types, else base64. It reads and closes req.Body.
func NewEvent(req *http.Request) (events.APIGatewayV2HTTPRequest, error) {
	body, err := readBody(req)
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, err
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	now := time.Now()
	id := newUUID()
	e := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        req.URL.EscapedPath(),
		RawQueryString: req.URL.RawQuery,
		Headers:        map[string]string{},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     "$default",
			AccountID:    "anonymous",
			Stage:        "$default",
			RequestID:    id,
			APIID:        strings.Split(host, ".")[0],
			DomainName:   host,
			DomainPrefix: strings.Split(host, ".")[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    req.Method,
				Path:      req.URL.Path,
				Protocol:  "HTTP/1.1",
				SourceIP:  SourceIP,
				UserAgent: req.Header.Get("User-Agent"),
			},
		},
	}
	if e.RawPath == "" {
		e.RawPath = "/"
	}
	for _, k := range slices.Sorted(maps.Keys(req.Header)) {
		vs := req.Header[k]
		if strings.EqualFold(k, "Cookie") {
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						e.Cookies = append(e.Cookies, c)
					}
				}
			}
			continue
		}
		e.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	e.Headers["host"] = host
	if xff := e.Headers["x-forwarded-for"]; xff != "" {
		e.Headers["x-forwarded-for"] = xff + "," + SourceIP
	} else {
		e.Headers["x-forwarded-for"] = SourceIP
	}
	e.Headers["x-forwarded-proto"] = "https"
	e.Headers["x-forwarded-port"] = "443"
	e.Headers["x-amzn-trace-id"], _, _ = strings.Cut(newTraceID(), ";")
	if len(body) > 0 {
		e.Headers["content-length"] = strconv.Itoa(len(body))
		if isText(req.Header.Get("Content-Type")) && utf8.Valid(body) {
			e.Body = string(body)
		} else {
			e.Body = base64.StdEncoding.EncodeToString(body)
			e.IsBase64Encoded = true
		}
	}
	if q := req.URL.Query(); len(q) > 0 {
		e.QueryStringParameters = make(map[string]string, len(q))
		for k, vs := range q {
			e.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	return e, nil
}

func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	defer req.Body.Close()
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("lambdatest: read request body: %w", err)
	}
	return b, nil
}

// isText reports whether Lambda passes a body of this content type as text;
// everything else, form posts included, arrives base64-encoded.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/ecmascript":
		return true
	}
	return false
}

// decodeResponse turns the function's payload into the HTTP response a
// Function URL sends. A payload without "statusCode" is a bare JSON body
// answered 200 application/json, as Function URLs and HTTP APIs infer it.
func decodeResponse(req *http.Request, payload []byte) (*http.Response, error) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(payload, &probe) != nil || probe["statusCode"] == nil {
		resp := httpResponse(req, http.StatusOK, payload, "")
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &res); err != nil {
		return nil, fmt.Errorf("lambdatest: decode function response: %w", err)
	}
	body := []byte(res.Body)
	if res.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(res.Body)
		if err != nil {
			resp := httpResponse(req, http.StatusBadGateway, nil, "Internal Server Error")
			resp.Header.Set("X-Amzn-ErrorType", "Function.ResponseBodyNotBase64")
			return resp, nil
		}
		body = b
	}
	resp := httpResponse(req, res.StatusCode, body, "")
	for k, v := range res.Headers {
		resp.Header.Add(k, v)
	}
	for k, vs := range res.MultiValueHeaders {
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	for _, c := range res.Cookies {
		resp.Header.Add("Set-Cookie", c)
	}
	return resp, nil
}

func httpResponse(req *http.Request, status int, body []byte, text string) *http.Response {
	if text != "" {
		body = []byte(text)
	}
	if req.Method == http.MethodHead {
		body = nil
	}
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header),
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

var _ http.RoundTripper = (*Transport)(nil)
