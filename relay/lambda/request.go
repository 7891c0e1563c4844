package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// request builds the server-side *http.Request for e, as net/http's server
// would have built it from the original request. A non-zero status refuses
// the event with that HTTP status.
func (a *Adapter) request(ctx context.Context, e *events.APIGatewayV2HTTPRequest) (*http.Request, int) {
	method := e.RequestContext.HTTP.Method
	if !isToken(method) {
		return nil, http.StatusBadRequest
	}
	body, status := a.body(e)
	if status != 0 {
		return nil, status
	}
	u := requestURL(e)
	header, host := requestHeader(e)
	if len(body) > 0 || header.Get("Content-Length") != "" {
		// The decoded body is what the handler reads, whatever length the
		// client announced for its encoded form.
		header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	id := requestID(ctx, e)
	if id != "" {
		header.Set(RequestIDHeader, id)
	}
	major, minor, ok := http.ParseHTTPVersion(e.RequestContext.HTTP.Protocol)
	if !ok {
		major, minor = 1, 1
	}
	req := &http.Request{
		Method:        method,
		URL:           u,
		Proto:         "HTTP/" + strconv.Itoa(major) + "." + strconv.Itoa(minor),
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        header,
		Body:          http.NoBody,
		ContentLength: int64(len(body)),
		Host:          host,
		RemoteAddr:    remoteAddr(e.RequestContext.HTTP.SourceIP),
		RequestURI:    u.RequestURI(),
	}
	if len(body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	// req.TLS stays nil: TLS ended at the front door, which says so in
	// X-Forwarded-Proto.
	return req.WithContext(context.WithValue(ctx, requestIDKey{}, id)), 0
}

// body decodes the event's body, refusing one over the size limit before
// decoding it.
func (a *Adapter) body(e *events.APIGatewayV2HTTPRequest) ([]byte, int) {
	if !e.IsBase64Encoded {
		if int64(len(e.Body)) > a.maxBody {
			return nil, http.StatusRequestEntityTooLarge
		}
		return []byte(e.Body), 0
	}
	// DecodedLen overstates by at most two padding bytes.
	if int64(base64.StdEncoding.DecodedLen(len(e.Body)))-2 > a.maxBody {
		return nil, http.StatusRequestEntityTooLarge
	}
	b, err := base64.StdEncoding.DecodeString(e.Body)
	if err != nil {
		return nil, http.StatusBadRequest
	}
	if int64(len(b)) > a.maxBody {
		return nil, http.StatusRequestEntityTooLarge
	}
	return b, 0
}

// requestURL returns the server-side URL: path and query only, with the
// path's original escaping kept in RawPath.
func requestURL(e *events.APIGatewayV2HTTPRequest) *url.URL {
	raw := e.RawPath
	if raw == "" {
		raw = e.RequestContext.HTTP.Path
	}
	if !strings.HasPrefix(raw, "/") {
		raw = "/" + raw
	}
	u := &url.URL{Path: raw, RawQuery: e.RawQueryString}
	if p, err := url.PathUnescape(raw); err == nil {
		u.Path, u.RawPath = p, raw // EscapedPath checks RawPath before using it
	}
	if u.RawQuery == "" && len(e.QueryStringParameters) > 0 {
		// Hand-written events may carry only the parsed map.
		q := make(url.Values, len(e.QueryStringParameters))
		for k, v := range e.QueryStringParameters {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	return u
}

// requestHeader returns the request's header and host. As on a net/http
// server, Host moves out of the header into Request.Host.
func requestHeader(e *events.APIGatewayV2HTTPRequest) (http.Header, string) {
	h := make(http.Header, len(e.Headers)+2)
	// Sorted, so names that differ only in case keep a stable order.
	for _, k := range slices.Sorted(maps.Keys(e.Headers)) {
		ck := http.CanonicalHeaderKey(k)
		h[ck] = append(h[ck], e.Headers[k])
	}
	if len(e.Cookies) > 0 {
		h["Cookie"] = []string{strings.Join(e.Cookies, "; ")}
	}
	// The body arrives whole: its framing on the client's connection no
	// longer applies.
	delete(h, "Transfer-Encoding")
	host := h.Get("Host")
	delete(h, "Host")
	if host == "" {
		host = e.RequestContext.DomainName
	}
	return h, host
}

// remoteAddr gives the source IP the "host:port" form net/http servers use,
// so net.SplitHostPort(r.RemoteAddr) works; the port is unknown and 0.
func remoteAddr(ip string) string {
	if ip == "" {
		return ""
	}
	return net.JoinHostPort(ip, "0")
}

// isToken reports whether s is an RFC 9110 token, the grammar of a method.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
