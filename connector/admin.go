package connector

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openqq-relay/openqq"
)

// metrics are the connector's Prometheus series, labelled with the account.
type metrics struct {
	commands       *prometheus.CounterVec // by api and answer code ("expired" when never run)
	sends          *prometheus.CounterVec // by send result code (spec §5.6)
	pollErrors     *prometheus.CounterVec // by kind: login_required, forced_offline, other
	eventsAppended prometheus.Counter
	eventsDropped  prometheus.Counter
	redisErrors    prometheus.Counter
	leaseHeld      prometheus.Gauge
	state          *prometheus.GaugeVec // 1 for the current state, 0 for the others
}

var allStates = []openqq.ClientState{
	openqq.StateInit, openqq.StateLoading, openqq.StateScaning, openqq.StateConfirming,
	openqq.StateUpdating, openqq.StateRunning, openqq.StateStop,
}

func newMetrics(reg prometheus.Registerer, account string) (*metrics, error) {
	reg = prometheus.WrapRegistererWith(prometheus.Labels{"account": account}, reg)
	m := &metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openqq_connector_commands_total", Help: "Commands handled, by api and answer code.",
		}, []string{"api", "code"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openqq_connector_sends_total", Help: "Messages sent, by send result code.",
		}, []string{"code"}),
		pollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openqq_connector_poll_errors_total", Help: "Failed polls, by kind.",
		}, []string{"kind"}),
		eventsAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "openqq_connector_events_appended_total", Help: "Posts appended to the events stream.",
		}),
		eventsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "openqq_connector_events_dropped_total", Help: "Posts dropped because Redis was away too long.",
		}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "openqq_connector_redis_errors_total", Help: "Redis calls that failed and were retried.",
		}),
		leaseHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "openqq_connector_lease_held", Help: "1 while this connector holds the account lease.",
		}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "openqq_connector_state", Help: "1 for the current client state.",
		}, []string{"state"}),
	}
	for _, c := range []prometheus.Collector{m.commands, m.sends, m.pollErrors, m.eventsAppended,
		m.eventsDropped, m.redisErrors, m.leaseHeld, m.state} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) setState(s openqq.ClientState) {
	for _, x := range allStates {
		v := 0.0
		if x == s {
			v = 1
		}
		m.state.WithLabelValues(string(x)).Set(v)
	}
}

// AdminHandler serves GET /healthz (200 when the client is running and Redis
// answers, else 503 with the reason as JSON) and GET /metrics (Prometheus).
func (r *Runner) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", r.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.o.Registry, promhttp.HandlerOpts{}))
	return mux
}

type health struct {
	Status  string             `json:"status"` // "ok" or "unavailable"
	State   openqq.ClientState `json:"state"`
	Account string             `json:"account"`
	Reason  string             `json:"reason,omitempty"`
}

func (r *Runner) healthz(w http.ResponseWriter, req *http.Request) {
	h := health{Status: "ok", State: r.State(), Account: r.account}
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	switch {
	case h.State != openqq.StateRunning:
		h.Reason = "client is " + string(h.State) + ", not running"
	case r.db.Ping(ctx) != nil:
		h.Reason = "redis unreachable"
	}
	w.Header().Set("Content-Type", "application/json")
	if h.Reason != "" {
		h.Status = "unavailable"
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(h)
}
