package lambda

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// sniffLen is how much of the body http.DetectContentType looks at.
const sniffLen = 512

// errResponseTooLarge fails writes past the payload limit, so a handler
// that checks its errors stops early; the response becomes a 500.
var errResponseTooLarge = errors.New("lambda: response exceeds the Lambda payload limit")

// responseWriter buffers a response with net/http's server semantics:
// headers are fixed by WriteHeader (or the first Write), 1xx answers are
// interim, statuses without a body refuse writes, HEAD bodies are dropped
// and an unset Content-Type is sniffed from the body.
type responseWriter struct {
	header   http.Header
	status   int         // 0 until the final WriteHeader
	sent     http.Header // header as of WriteHeader: what the client gets
	body     bytes.Buffer
	head     bool   // HEAD: the body is counted for sniffing only
	sniff    []byte // HEAD: the first sniffLen bytes written
	tooLarge bool
}

func newResponseWriter(head bool) *responseWriter {
	return &responseWriter{header: make(http.Header), head: head}
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code)) // as net/http
	}
	if w.status != 0 {
		return // superfluous, as net/http (which also logs it)
	}
	if code < 200 {
		return // interim responses cannot cross a buffered payload
	}
	w.status = code
	w.sent = w.header.Clone()
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.head {
		if n := min(len(p), sniffLen-len(w.sniff)); n > 0 {
			w.sniff = append(w.sniff, p[:n]...)
		}
		return len(p), nil
	}
	// A body over the limit fits in no encoding: refuse it rather than
	// buffer it. ServeEvent checks the encoded size exactly.
	if w.body.Len()+len(p) > MaxPayload {
		w.tooLarge = true
		return 0, errResponseTooLarge
	}
	return w.body.Write(p)
}

// Flush commits the header, as net/http's does. The body itself leaves
// only when the handler returns: a buffered payload cannot stream.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
}

// event returns the Lambda response for what the handler wrote.
func (w *responseWriter) event() events.APIGatewayV2HTTPResponse {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	body := w.body.Bytes()
	sniffed := body
	if w.head {
		sniffed = w.sniff
	}
	if _, set := w.sent["Content-Type"]; !set && len(sniffed) > 0 && bodyAllowed(w.status) {
		w.sent.Set("Content-Type", http.DetectContentType(sniffed[:min(len(sniffed), sniffLen)]))
	}
	res := events.APIGatewayV2HTTPResponse{StatusCode: w.status, Headers: make(map[string]string, len(w.sent))}
	for k, vs := range w.sent {
		switch {
		case k == "Set-Cookie":
			// Payload 2.0 carries each cookie apart: a joined
			// Set-Cookie could not be split again (Expires has commas).
			res.Cookies = append(res.Cookies, vs...)
		case len(vs) > 0:
			res.Headers[k] = strings.Join(vs, ", ")
		}
	}
	switch {
	case len(body) == 0:
	case utf8.Valid(body):
		res.Body = string(body)
	default:
		res.Body = base64.StdEncoding.EncodeToString(body)
		res.IsBase64Encoded = true
	}
	return res
}

// bodyAllowed reports whether a response with status may have a body
// (RFC 9110 §6.4.1), as net/http decides it.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
