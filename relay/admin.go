package relay

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// clientInfo is get_client_info's answer, in the original's shape (spec
// §6.12), filled from the connector's published state.
type clientInfo struct {
	Code        int     `json:"code"`
	PID         int     `json:"pid"`
	Account     string  `json:"account"`
	OS          string  `json:"os"`
	Version     string  `json:"version"`
	StartTime   int64   `json:"starttime"`
	Runtime     int64   `json:"runtime"`
	HTTPDebug   int     `json:"http_debug"`
	LogEncoding *string `json:"log_encoding"`
	LogPath     string  `json:"log_path"`
	LogLevel    string  `json:"log_level"`
	Status      string  `json:"status"`
}

// getClientInfo answers for a live connector in any state.
func (h *Handler) getClientInfo(w http.ResponseWriter, r *http.Request) {
	st, err := h.readyState(r, false)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, clientInfo{
		PID:       st.PID,
		Account:   accountOf(r),
		OS:        st.OS,
		Version:   st.Version,
		StartTime: unix(st.StartTime),
		Runtime:   h.runtime(st),
		LogLevel:  h.opts.LogLevel,
		Status:    "success",
	})
}

// stopClient asks the connector to stop and answers as the original did
// once the connector has taken the command.
func (h *Handler) stopClient(w http.ResponseWriter, r *http.Request) {
	h.control(w, r, openqq.APIStopClient, func(st store.State) any {
		return struct {
			Code      int    `json:"code"`
			Account   string `json:"account"`
			PID       int    `json:"pid"`
			StartTime int64  `json:"starttime"`
			Runtime   int64  `json:"runtime"`
			Status    string `json:"status"`
		}{0, accountOf(r), st.PID, unix(st.StartTime), h.runtime(st),
			fmt.Sprintf("success, client(%d) will stop in 3 seconds", st.PID)}
	})
}

// relogin asks the connector to log in again (GET only, spec §6.12).
func (h *Handler) relogin(w http.ResponseWriter, r *http.Request) {
	h.control(w, r, openqq.APIRelogin, func(st store.State) any {
		return struct {
			Code    int    `json:"code"`
			Account string `json:"account"`
			Status  string `json:"status"`
		}{0, accountOf(r), fmt.Sprintf("success, client(%d) will relogin in 3 seconds", st.PID)}
	})
}

// control runs a client-control command on a live connector (logged in or
// not: unlike the original, a connector waiting for a scan can be stopped).
// A refusal from the connector is written as it is.
func (h *Handler) control(w http.ResponseWriter, r *http.Request, api string, answer func(store.State) any) {
	st, err := h.readyState(r, false)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	res, err := h.run(r, api, false)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if res.Code != 0 {
		h.writeResult(w, r, res.Code, res.HTTPStatus, res.Body)
		return
	}
	h.writeJSON(w, r, answer(st))
}

func (h *Handler) runtime(st store.State) int64 {
	if st.StartTime.IsZero() {
		return 0
	}
	return int64(h.now().Sub(st.StartTime) / time.Second)
}

// clientState is one entry of check_client: the connector's state file
// (spec §2, §10.3), times as epoch strings, plus whether it is alive.
type clientState struct {
	Account       string              `json:"account"`
	State         *openqq.ClientState `json:"state"`
	PreviousState *openqq.ClientState `json:"previous_state,omitempty"`
	PID           int                 `json:"pid,omitempty"`
	Host          string              `json:"host,omitempty"`
	OS            string              `json:"os,omitempty"`
	Version       string              `json:"version,omitempty"`
	StartTime     *openqq.Int         `json:"start_time,omitempty"`
	LoginTime     *openqq.Int         `json:"login_time,omitempty"`
	LastPoll      *openqq.Int         `json:"last_poll,omitempty"`
	Heartbeat     *openqq.Int         `json:"heartbeat,omitempty"`
	Alive         bool                `json:"alive"`
}

// checkClient is the Controller's check_client (spec §10.3): the state of
// the client named by the client param, or of every known account.
func (h *Handler) checkClient(w http.ResponseWriter, r *http.Request) {
	accts := []string{accountOf(r)}
	if !paramsOf(r).Has("client") {
		all, err := h.store.Accounts(r.Context())
		if err != nil {
			h.writeError(w, r, fmt.Errorf("relay: accounts: %w", err))
			return
		}
		if len(all) > 0 {
			accts = all
		}
	}
	out := make([]clientState, 0, len(accts))
	for _, a := range accts {
		cs, err := h.clientState(r.Context(), a)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		out = append(out, cs)
	}
	h.writeJSON(w, r, struct {
		Code   int           `json:"code"`
		Client []clientState `json:"client"`
	}{0, out})
}

func (h *Handler) clientState(ctx context.Context, acct string) (clientState, error) {
	st, err := h.store.State(ctx, acct)
	if err != nil {
		return clientState{}, fmt.Errorf("relay: state: %w", err)
	}
	if st.State == "" {
		return clientState{Account: acct}, nil // no connector ever ran
	}
	cs := clientState{
		Account: acct, State: &st.State, PID: st.PID, Host: st.Host, OS: st.OS, Version: st.Version,
		StartTime: epoch(st.StartTime), LoginTime: epoch(st.LoginTime),
		LastPoll: epoch(st.LastPoll), Heartbeat: epoch(st.Heartbeat), Alive: h.alive(st),
	}
	if st.Previous != "" {
		cs.PreviousState = &st.Previous
	}
	return cs, nil
}

// unix is t in epoch seconds, 0 when unknown.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func epoch(t time.Time) *openqq.Int {
	if t.IsZero() {
		return nil
	}
	n := openqq.Int(t.Unix())
	return &n
}

// health is the /healthz answer.
type health struct {
	Code    int                 `json:"code"`
	Status  string              `json:"status"`
	Redis   string              `json:"redis"`
	Account string              `json:"account"`
	State   *openqq.ClientState `json:"state"`
	Alive   bool                `json:"alive"`
}

// healthz reports 200 when Redis answers and the account's connector is
// alive and logged in, else 503 with the reason. It needs no token.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	out := health{Code: 0, Status: "ok", Redis: "ok", Account: accountOf(r)}
	if err := h.store.Ping(ctx); err != nil {
		h.log.WarnContext(ctx, "health: redis unreachable", openqq.LogKeyErr, err)
		out.Code, out.Status, out.Redis = 503, "redis unreachable", "unreachable"
	} else if cs, err := h.clientState(ctx, out.Account); err != nil {
		h.log.WarnContext(ctx, "health: state unreadable", openqq.LogKeyErr, err)
		out.Code, out.Status = 503, "state unreadable"
	} else {
		out.State, out.Alive = cs.State, cs.Alive
		if !cs.Alive || cs.State == nil || *cs.State != openqq.StateRunning {
			out.Code, out.Status = 503, openqq.ErrClientNotReady.Status
		}
	}
	b, err := encodeJSON(out)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if out.Code != 0 {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	infoOf(r).code = fmt.Sprint(out.Code)
	h.writeBody(w, r, status, b)
}
