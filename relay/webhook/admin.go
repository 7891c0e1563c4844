package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// Admin API limits.
const (
	maxAdminBody       = 64 << 10
	defaultDeadLetters = 100
	maxDeadLetterPage  = 1000
)

// AdminHandler serves the subscriber admin API. Every call needs one of
// Options.AdminTokens (Authorization: Bearer, X-Auth-Token or access_token);
// without tokens every call is refused.
//
//	GET    /webhook/subscribers                          list, with delivery state
//	POST   /webhook/subscribers                          add {"url", "reply", "post_event", "post_event_list", "timeout", "start"}
//	GET    /webhook/subscribers/{id}                     one
//	DELETE /webhook/subscribers/{id}                     remove (not a configured one)
//	POST   /webhook/subscribers/{id}/pause               stop delivering; events wait
//	POST   /webhook/subscribers/{id}/resume              deliver again (also after a 410 disable)
//	GET    /webhook/subscribers/{id}/dead-letters        ?after=<id>&limit=<n>, oldest first
//	POST   /webhook/subscribers/{id}/dead-letters/replay {"ids":[…]}, or no body for all
//	DELETE /webhook/subscribers/{id}/dead-letters        {"ids":[…]}, or no body for all
func (d *Dispatcher) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /webhook/subscribers", d.adminList)
	mux.HandleFunc("POST /webhook/subscribers", d.adminAdd)
	mux.HandleFunc("GET /webhook/subscribers/{id}", d.adminGet)
	mux.HandleFunc("DELETE /webhook/subscribers/{id}", d.adminDelete)
	mux.HandleFunc("POST /webhook/subscribers/{id}/pause", d.adminSetState(StatePaused))
	mux.HandleFunc("POST /webhook/subscribers/{id}/resume", d.adminSetState(StateActive))
	mux.HandleFunc("GET /webhook/subscribers/{id}/dead-letters", d.adminDeadLetters)
	mux.HandleFunc("POST /webhook/subscribers/{id}/dead-letters/replay", d.adminReplay)
	mux.HandleFunc("DELETE /webhook/subscribers/{id}/dead-letters", d.adminPurge)
	return RequireToken(d.o.AdminTokens, mux)
}

// RequireToken wraps h so that every call needs one of tokens, offered as
// Authorization: Bearer, X-Auth-Token or the access_token parameter, and
// compared in constant time. Without tokens every call is refused (401).
func RequireToken(tokens []openqq.Secret, h http.Handler) http.Handler {
	digests := make([][sha256.Size]byte, len(tokens))
	for i, t := range tokens {
		digests[i] = sha256.Sum256([]byte(t))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tokenOK(digests, offeredToken(r)) {
			writeError(w, http.StatusUnauthorized, "admin token missing or wrong")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// tokenOK compares the offered token with every configured one in constant
// time.
func tokenOK(digests [][sha256.Size]byte, offered string) bool {
	if offered == "" {
		return false
	}
	d := sha256.Sum256([]byte(offered))
	ok := 0
	for i := range digests {
		ok |= subtle.ConstantTimeCompare(d[:], digests[i][:])
	}
	return ok == 1
}

func offeredToken(r *http.Request) string {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	if t := r.Header.Get("X-Auth-Token"); t != "" {
		return t
	}
	return r.URL.Query().Get("access_token")
}

// subscriberView is a subscriber as the admin API shows it.
type subscriberView struct {
	Subscriber
	State   string       `json:"state"`
	Reason  string       `json:"reason,omitempty"`
	Since   time.Time    `json:"since"`
	Breaker string       `json:"breaker,omitempty"`
	Until   time.Time    `json:"breaker_until,omitzero"`
	Worker  *workerStats `json:"delivery,omitempty"` // when this instance delivers to it
}

func (d *Dispatcher) view(st store.WebhookSubscriber) (subscriberView, error) {
	s, err := decodeSubscriber(st)
	if err != nil {
		return subscriberView{}, err
	}
	v := subscriberView{Subscriber: s, State: st.Status.State, Reason: st.Status.Reason, Since: st.Status.Since}
	if w := d.worker(s.ID); w != nil {
		stats := w.snapshot()
		v.Worker = &stats
		v.Breaker, v.Until = w.brk.state(d.clock.Now())
	}
	return v, nil
}

func (d *Dispatcher) adminList(w http.ResponseWriter, r *http.Request) {
	stored, err := d.db.WebhookSubscribers(r.Context(), d.account)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	out := make([]subscriberView, 0, len(stored))
	for _, st := range stored {
		v, err := d.view(st)
		if err != nil {
			d.log.WarnContext(r.Context(), "skipping unreadable subscriber", openqq.LogKeySubscriber, st.ID, openqq.LogKeyErr, err)
			continue
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscribers": out})
}

// lookup finds the subscriber named in the path, or answers 404.
func (d *Dispatcher) lookup(w http.ResponseWriter, r *http.Request) (store.WebhookSubscriber, bool) {
	id := r.PathValue("id")
	stored, err := d.db.WebhookSubscribers(r.Context(), d.account)
	if err != nil {
		d.internalError(w, r, err)
		return store.WebhookSubscriber{}, false
	}
	for _, st := range stored {
		if st.ID == id {
			return st, true
		}
	}
	writeError(w, http.StatusNotFound, "no subscriber "+strconv.Quote(id))
	return store.WebhookSubscriber{}, false
}

func (d *Dispatcher) adminGet(w http.ResponseWriter, r *http.Request) {
	st, ok := d.lookup(w, r)
	if !ok {
		return
	}
	v, err := d.view(st)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// addRequest is the body of POST /webhook/subscribers.
type addRequest struct {
	URL           string   `json:"url"`
	Reply         bool     `json:"reply"`
	PostEvent     *bool    `json:"post_event"`
	PostEventList []string `json:"post_event_list"`
	Timeout       Duration `json:"timeout"`
	// Start is where delivery starts: "$" (default) new events only, "0"
	// every event the stream still holds, or an event id.
	Start string `json:"start"`
}

func (d *Dispatcher) adminAdd(w http.ResponseWriter, r *http.Request) {
	var req addRequest
	if err := readJSON(r, &req); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New(`body: want {"url": …}`)
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s := Subscriber{
		ID: newAPIID(), URL: req.URL, Reply: req.Reply, PostEvent: req.PostEvent,
		PostEventList: req.PostEventList, Timeout: req.Timeout, Source: SourceAPI,
	}
	if err := s.check(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	start := req.Start
	if start == "" {
		start = "$"
	}
	if err := d.saveFrom(r.Context(), s, start); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			writeError(w, http.StatusBadRequest, "start: want \"$\", \"0\" or an event id")
			return
		}
		d.internalError(w, r, err)
		return
	}
	d.poke()
	st, ok := d.lookup(w, withID(r, s.ID))
	if !ok {
		return
	}
	v, err := d.view(st)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

// withID is r with the path value id set, to reuse lookup after an add.
func withID(r *http.Request, id string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.SetPathValue("id", id)
	return r2
}

func (d *Dispatcher) adminDelete(w http.ResponseWriter, r *http.Request) {
	st, ok := d.lookup(w, r)
	if !ok {
		return
	}
	s, err := decodeSubscriber(st)
	if err == nil && s.Source == SourceConfig {
		writeError(w, http.StatusConflict, "subscriber comes from OPENQQ_POST_API: remove it there, or pause it")
		return
	}
	if _, err := d.db.DeleteWebhookSubscriber(r.Context(), d.account, st.ID, "webhook:"+st.ID); err != nil {
		d.internalError(w, r, err)
		return
	}
	d.log.InfoContext(r.Context(), "subscriber removed", openqq.LogKeySubscriber, st.ID)
	d.poke()
	writeJSON(w, http.StatusOK, map[string]any{"code": 0, "status": "success", "id": st.ID})
}

func (d *Dispatcher) adminSetState(state string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		err := d.db.SetWebhookStatus(r.Context(), d.account, id, store.WebhookStatus{
			State: state, Reason: "by the admin API", Since: d.clock.Now().UTC(),
		})
		switch {
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid):
			writeError(w, http.StatusNotFound, "no subscriber "+strconv.Quote(id))
			return
		case err != nil:
			d.internalError(w, r, err)
			return
		}
		d.log.InfoContext(r.Context(), "subscriber "+state, openqq.LogKeySubscriber, id)
		d.poke()
		writeJSON(w, http.StatusOK, map[string]any{"code": 0, "status": "success", "id": id, "state": state})
	}
}

// deadLetterView is a dead letter as the admin API shows it.
type deadLetterView struct {
	ID         string          `json:"id"`
	EventID    string          `json:"event_id"`
	Reason     string          `json:"reason"`
	At         time.Time       `json:"at"`
	Deliveries int64           `json:"deliveries"`
	Payload    json.RawMessage `json:"payload"`
}

func (d *Dispatcher) adminDeadLetters(w http.ResponseWriter, r *http.Request) {
	st, ok := d.lookup(w, r)
	if !ok {
		return
	}
	limit := defaultDeadLetters
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxDeadLetterPage {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: want 1 to %d", maxDeadLetterPage))
			return
		}
		limit = n
	}
	dls, err := d.db.DeadLetters(r.Context(), d.account, "webhook:"+st.ID, r.URL.Query().Get("after"), limit)
	if errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "after: want a dead letter id")
		return
	}
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	out := make([]deadLetterView, len(dls))
	for i, dl := range dls {
		out[i] = deadLetterView{ID: dl.ID, EventID: dl.Event.ID, Reason: dl.Reason, At: dl.At,
			Deliveries: dl.Event.Deliveries, Payload: dl.Event.Payload}
	}
	res := map[string]any{"dead_letters": out}
	if len(dls) == limit {
		res["next"] = dls[len(dls)-1].ID
	}
	writeJSON(w, http.StatusOK, res)
}

// idsRequest is the optional body of replay and purge: no ids means all.
type idsRequest struct {
	IDs []string `json:"ids"`
}

// selected returns the dead letters a replay or purge names, or all.
func (d *Dispatcher) selected(w http.ResponseWriter, r *http.Request, group string) ([]string, bool) {
	var req idsRequest
	if err := readJSON(r, &req); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	if len(req.IDs) > 0 {
		return req.IDs, true
	}
	var ids []string
	after := ""
	for {
		dls, err := d.db.DeadLetters(r.Context(), d.account, group, after, maxDeadLetterPage)
		if err != nil {
			d.internalError(w, r, err)
			return nil, false
		}
		for _, dl := range dls {
			ids = append(ids, dl.ID)
		}
		if len(dls) < maxDeadLetterPage {
			return ids, true
		}
		after = dls[len(dls)-1].ID
	}
}

func (d *Dispatcher) adminReplay(w http.ResponseWriter, r *http.Request) {
	st, ok := d.lookup(w, r)
	if !ok {
		return
	}
	ids, ok := d.selected(w, r, "webhook:"+st.ID)
	if !ok {
		return
	}
	if err := d.db.RequestWebhookReplay(r.Context(), d.account, st.ID, ids...); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			writeError(w, http.StatusBadRequest, "ids: want dead letter ids")
			return
		}
		d.internalError(w, r, err)
		return
	}
	if wk := d.worker(st.ID); wk != nil {
		wk.replayPoke.Store(true)
	}
	d.log.InfoContext(r.Context(), "dead letters queued for replay", openqq.LogKeySubscriber, st.ID, "count", len(ids))
	writeJSON(w, http.StatusAccepted, map[string]any{"code": 0, "status": "success", "queued": len(ids)})
}

func (d *Dispatcher) adminPurge(w http.ResponseWriter, r *http.Request) {
	st, ok := d.lookup(w, r)
	if !ok {
		return
	}
	ids, ok := d.selected(w, r, "webhook:"+st.ID)
	if !ok {
		return
	}
	if err := d.db.DeleteDeadLetters(r.Context(), d.account, "webhook:"+st.ID, ids...); err != nil {
		d.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"code": 0, "status": "success", "deleted": len(ids)})
}

// readJSON decodes a small JSON body; an empty body is io.EOF.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return err
		}
		return fmt.Errorf("body: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"code": status, "status": msg})
}

func (d *Dispatcher) internalError(w http.ResponseWriter, r *http.Request, err error) {
	d.log.ErrorContext(r.Context(), "webhook admin call failed", "path", r.URL.Path, openqq.LogKeyErr, err)
	writeError(w, http.StatusInternalServerError, "internal error")
}
