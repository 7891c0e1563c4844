// Package echo is the http.Handler the adapter's tests serve: it answers
// with what it received, so a test can check every field of the request
// that crossed the Lambda event.
package echo

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/openqq-relay/openqq/relay/lambda"
)

// Reply is what the handler answers on every path but the special ones.
type Reply struct {
	Method        string              `json:"method"`
	Proto         string              `json:"proto"`
	Host          string              `json:"host"`
	Path          string              `json:"path"`
	EscapedPath   string              `json:"escaped_path"`
	RequestURI    string              `json:"request_uri"`
	RawQuery      string              `json:"raw_query"`
	Query         map[string][]string `json:"query"`
	Header        map[string][]string `json:"header"`
	Cookies       []string            `json:"cookies"`
	Form          map[string][]string `json:"form"`
	Body          []byte              `json:"body"`
	ContentLength int64               `json:"content_length"`
	RemoteAddr    string              `json:"remote_addr"`
	RequestID     string              `json:"request_id"`
	AwsRequestID  string              `json:"aws_request_id"`
	DeadlineMs    int64               `json:"deadline_ms"`
}

// Handler answers:
//
//	/panic   panics
//	/raw     the request body, with the request's Content-Type if any
//	else     a JSON Reply
//
// On every path, each set_cookie query value becomes a Set-Cookie header,
// each header query value "Name: value" a response header line, and
// status=N the status.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/panic" {
		panic("echo: asked to panic")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	for _, c := range q["set_cookie"] {
		w.Header().Add("Set-Cookie", c)
	}
	for _, h := range q["header"] {
		if k, v, ok := strings.Cut(h, ": "); ok {
			w.Header().Add(k, v)
		}
	}
	status := http.StatusOK
	if s, err := strconv.Atoi(q.Get("status")); err == nil {
		status = s
	}
	if r.URL.Path == "/raw" {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		w.Write(body)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(reply(r, body))
}

func reply(r *http.Request, body []byte) Reply {
	rep := Reply{
		Method:        r.Method,
		Proto:         r.Proto,
		Host:          r.Host,
		Path:          r.URL.Path,
		EscapedPath:   r.URL.EscapedPath(),
		RequestURI:    r.RequestURI,
		RawQuery:      r.URL.RawQuery,
		Query:         r.URL.Query(),
		Header:        r.Header,
		Body:          body,
		ContentLength: r.ContentLength,
		RemoteAddr:    r.RemoteAddr,
		RequestID:     lambda.RequestID(r.Context()),
	}
	for _, c := range r.Cookies() {
		rep.Cookies = append(rep.Cookies, c.Name+"="+c.Value)
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseForm(); err == nil {
			rep.Form = r.PostForm
		}
	}
	if lc, ok := lambdacontext.FromContext(r.Context()); ok {
		rep.AwsRequestID = lc.AwsRequestID
	}
	if d, ok := r.Context().Deadline(); ok {
		rep.DeadlineMs = d.UnixMilli()
	}
	return rep
}
