package relay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/relay/lambda"
	"github.com/openqq-relay/openqq/store"
)

// Cursor reads: how many events one answer may carry.
const (
	defaultCursorCount = 100
	maxCursorCount     = 1000
)

// cursorPattern is a stream id ("1700000000000-0" or just the ms part),
// "0" for the beginning or "$" for only what comes next.
var cursorPattern = regexp.MustCompile(`^([0-9]{1,20}(-[0-9]{1,20})?|\$)$`)

// checkEvent is the long poll of spec §7: everything buffered at once, else
// the next event or [] when the hold runs out. The store hands each event
// to exactly one poller ([GO] §7: never [null]). With a cursor parameter it
// reads the events stream instead, so that several pollers each see every
// event; the body stays a bare array and the next cursor comes back in the
// X-Openqq-Cursor header.
func (h *Handler) checkEvent(w http.ResponseWriter, r *http.Request) {
	p := paramsOf(r)
	if p.Has("cursor") {
		h.readEvents(w, r, p)
		return
	}
	var events []json.RawMessage
	err := h.hold(r, func(block time.Duration) (int, error) {
		var err error
		events, err = h.store.TakeCheckEvents(r.Context(), accountOf(r), block)
		return len(events), err
	})
	if err != nil {
		h.writeError(w, r, fmt.Errorf("relay: check_event: %w", err))
		return
	}
	h.writeEvents(w, r, events)
}

func (h *Handler) readEvents(w http.ResponseWriter, r *http.Request, p Params) {
	cursor := p["cursor"]
	if cursor == "" {
		cursor = "0" // a first poll written as cursor=${last}
	}
	if !cursorPattern.MatchString(cursor) {
		h.writeError(w, r, errBadCursor)
		return
	}
	count := defaultCursorCount
	if s := p["count"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			h.writeError(w, r, errBadCursor)
			return
		}
		count = min(n, maxCursorCount)
	}
	if cursor == "$" {
		// The end as of now: a "$" read would skip whatever comes between
		// this poll's reads, and between this poll and the next.
		last, err := h.store.LastEventID(r.Context(), accountOf(r))
		if err != nil {
			h.writeError(w, r, fmt.Errorf("relay: read events: %w", err))
			return
		}
		cursor = last
	}
	var got []store.StreamEvent
	err := h.hold(r, func(block time.Duration) (int, error) {
		var err error
		got, err = h.store.ReadEvents(r.Context(), accountOf(r), cursor, count, block)
		return len(got), err
	})
	if err != nil {
		h.writeError(w, r, fmt.Errorf("relay: read events: %w", err))
		return
	}
	next := cursor
	events := make([]json.RawMessage, 0, len(got))
	for _, e := range got {
		events = append(events, e.Payload)
		next = e.ID
	}
	w.Header().Set(CursorHeader, next)
	h.writeEvents(w, r, events)
}

// writeEvents renders the events as one JSON array. An event that is not
// valid JSON (which the store never writes) is logged and left out rather
// than breaking the whole answer.
func (h *Handler) writeEvents(w http.ResponseWriter, r *http.Request, events []json.RawMessage) {
	var buf bytes.Buffer
	buf.WriteByte('[')
	n := 0
	for _, e := range events {
		if len(bytes.TrimSpace(e)) == 0 || bytes.Equal(bytes.TrimSpace(e), []byte("null")) {
			continue
		}
		b, err := encodeRaw(e)
		if err != nil {
			h.log.ErrorContext(r.Context(), "dropping malformed event", openqq.LogKeyAccount, accountOf(r), openqq.LogKeyErr, err)
			continue
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(b)
		n++
	}
	buf.WriteByte(']')
	infoOf(r).code = "0"
	h.writeBody(w, r, http.StatusOK, buf.Bytes())
}

// hold runs read until it returns events or the hold is over, counting the
// poll among the waiters meanwhile. The store bounds each blocking read (a
// few seconds), so a long hold may take several reads.
func (h *Handler) hold(r *http.Request, read func(block time.Duration) (int, error)) error {
	h.metrics.waiters.Inc()
	defer h.metrics.waiters.Dec()
	end := time.Now().Add(h.budget(r, h.opts.CheckEventTimeout))
	for {
		left := max(time.Until(end), 0)
		n, err := read(left)
		if err != nil || n > 0 || left == 0 || r.Context().Err() != nil {
			return err
		}
		if time.Until(end) <= 0 {
			return nil
		}
	}
}

// remaining is how long the request may still run: the Lambda invocation's
// deadline, which the adapter puts in the request context.
func remaining(r *http.Request) (time.Duration, bool) {
	return lambda.Remaining(r.Context())
}
