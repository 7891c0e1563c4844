package relay

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/openqq-relay/openqq"
)

// Answers the relay gives on its own, in the Openqq style. The Openqq codes
// themselves live in the root package.
var (
	// Controller §10.4: the client param names an account nobody runs.
	errClientNotExists = &openqq.Error{Code: 1, Status: "client not exists"}
	// datatype=jsonp with a callback that is not a plain identifier.
	errBadCallback = &openqq.Error{Code: 400, Status: "invalid callback", HTTPStatus: http.StatusBadRequest}
	// client=… that cannot be an account name.
	errBadClient = &openqq.Error{Code: 400, Status: "invalid client", HTTPStatus: http.StatusBadRequest}
	// cursor=… that is not a stream id.
	errBadCursor = &openqq.Error{Code: 400, Status: "invalid cursor", HTTPStatus: http.StatusBadRequest}
)

// writeError is the only place that answers a failed request. Openqq errors
// are written as they are (HTTP 200 unless they say otherwise); an oversized
// or malformed body gets 413 or 400; anything else is logged and answered
// with a bare 500, so no internal detail reaches the caller.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// The caller left (or the invocation ended): there is no one to answer.
		infoOf(r).code = "gone"
		h.log.DebugContext(r.Context(), "request abandoned", logAttrs(r, openqq.LogKeyErr, err)...)
		return
	}
	oe, ok := errors.AsType[*openqq.Error](err)
	switch {
	case ok:
	case isTooLarge(err):
		oe = openqq.ErrTooLarge
	default:
		h.log.ErrorContext(r.Context(), "request failed", logAttrs(r, openqq.LogKeyErr, err)...)
		oe = openqq.ErrInternal
	}
	b, mErr := encodeJSON(oe)
	if mErr != nil { // cannot happen: Error marshals a map of plain values
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if oe.HTTPStatus == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="openqq"`)
	}
	infoOf(r).code = strconv.Itoa(oe.Code)
	if oe == errBadCallback {
		// Never echo a rejected callback as JSONP.
		r = withParams(r, nil)
	}
	h.writeBody(w, r, oe.HTTPStatus, b)
}

func isTooLarge(err error) bool {
	_, ok := errors.AsType[*http.MaxBytesError](err)
	return ok
}

// notFound is the original's answer to an unknown route or a wrong method:
// HTTP 403 with a text body (spec §6.2).
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	infoOf(r).route = "not_found"
	w.Header().Set("Content-Type", contentTypeHTML)
	w.Header().Set("Content-Length", strconv.Itoa(len("api not found")))
	w.WriteHeader(http.StatusForbidden)
	if r.Method != http.MethodHead {
		w.Write([]byte("api not found")) //nolint:errcheck // the client went away
	}
}
