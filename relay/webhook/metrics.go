package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the dispatcher's Prometheus series, labelled with the account.
type metrics struct {
	attempts    *prometheus.CounterVec   // by subscriber and outcome
	deadLetters *prometheus.CounterVec   // by subscriber
	replays     *prometheus.CounterVec   // dead letters replayed, by subscriber
	replies     *prometheus.CounterVec   // by subscriber and api, or why none went out
	latency     *prometheus.HistogramVec // append to 2xx, by subscriber
	state       *prometheus.GaugeVec     // 1 for the subscriber's current state
}

var allStates = []string{StateActive, StatePaused, StateDisabled}

func newMetrics(reg prometheus.Registerer, account string) (*metrics, error) {
	reg = prometheus.WrapRegistererWith(prometheus.Labels{"account": account}, reg)
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openqq_webhook_attempts_total", Help: "Delivery attempts, by subscriber and outcome.",
		}, []string{"subscriber", "outcome"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openqq_webhook_dead_letters_total", Help: "Events given up on, by subscriber.",
		}, []string{"subscriber"}),
		replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openqq_webhook_replays_total", Help: "Dead letters replayed, by subscriber.",
		}, []string{"subscriber"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openqq_webhook_replies_total", Help: "Reply commands queued by api, or dropped by reason (lost, too_old, loop_guard).",
		}, []string{"subscriber", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "openqq_webhook_delivery_seconds",
			Help:    "Time from an event's append to its successful delivery, retries included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, 1, 5, 30, 120, 600, 3600},
		}, []string{"subscriber"}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "openqq_webhook_subscriber_state", Help: "1 for the subscriber's current state.",
		}, []string{"subscriber", "state"}),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.deadLetters, m.replays, m.replies, m.latency, m.state} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) setState(subscriber, state string) {
	for _, s := range allStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.state.WithLabelValues(subscriber, s).Set(v)
	}
}

// forget drops the series of a removed subscriber.
func (m *metrics) forget(subscriber string) {
	l := prometheus.Labels{"subscriber": subscriber}
	m.attempts.DeletePartialMatch(l)
	m.deadLetters.DeletePartialMatch(l)
	m.replays.DeletePartialMatch(l)
	m.replies.DeletePartialMatch(l)
	m.latency.DeletePartialMatch(l)
	m.state.DeletePartialMatch(l)
}
