package relay

import (
	"context"
	"net/http"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/relay/lambda"
	"github.com/openqq-relay/openqq/store"
)

// reqInfo is what the outer middleware learns about a request while inner
// handlers run: the route for metrics and logs, the Openqq code answered,
// the account served. Only the request's own goroutine touches it.
type reqInfo struct {
	route   string
	code    string
	account string
	// pre, when set, is the account's state and contacts version read up
	// front for a write (prefetch).
	pre *prefetched
}

type prefetched struct {
	state    store.State
	contacts int64 // the contacts version
}

type (
	infoKey   struct{}
	paramsKey struct{}
)

func withInfo(r *http.Request, info *reqInfo) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
}

// infoOf returns the request's info; a throwaway one if the middleware did
// not run (handlers called directly).
func infoOf(r *http.Request) *reqInfo {
	if i, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

func withParams(r *http.Request, p Params) *http.Request {
	if p == nil {
		p = Params{}
	}
	return r.WithContext(context.WithValue(r.Context(), paramsKey{}, p))
}

// paramsOf returns the parsed parameters, or the query's when the body was
// never parsed (an error answered before parsing still honours JSONP).
func paramsOf(r *http.Request) Params {
	if p, ok := r.Context().Value(paramsKey{}).(Params); ok {
		return p
	}
	p := Params{}
	p.addValues(r.URL.Query())
	return p
}

// accountOf is the account the request is for (the client param, else the
// configured default), as resolved by the route wrapper.
func accountOf(r *http.Request) string {
	return infoOf(r).account
}

// logAttrs are the attributes that identify a request in logs: its route,
// its account and, under Lambda, the front door's request id. Never the URL,
// which may carry the access token.
func logAttrs(r *http.Request, kv ...any) []any {
	info := infoOf(r)
	attrs := append([]any{openqq.LogKeyAPI, info.route, openqq.LogKeyAccount, info.account}, kv...)
	if id := lambda.RequestID(r.Context()); id != "" {
		attrs = append(attrs, "request_id", id)
	}
	return attrs
}
