package relay

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the relay's Prometheus series.
type metrics struct {
	requests *prometheus.CounterVec   // by route, HTTP status and Openqq code
	duration *prometheus.HistogramVec // by route
	waiters  prometheus.Gauge         // check_event polls waiting right now
	handler  http.Handler
}

// newMetrics registers the series on reg (a private registry when nil).
// Registering twice on one registry reuses the first collectors, so two
// handlers may share a registry.
func newMetrics(reg *prometheus.Registry) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &metrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "openqq", Subsystem: "relay", Name: "requests_total",
			Help: "Requests answered, by route, HTTP status and Openqq code.",
		}, []string{"route", "status", "code"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "openqq", Subsystem: "relay", Name: "request_duration_seconds",
			Help:    "Time to answer a request, by route (check_event includes its hold).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60},
		}, []string{"route"})),
		waiters: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "openqq", Subsystem: "relay", Name: "check_event_waiters",
			Help: "check_event polls currently waiting for an event.",
		})),
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a name clash with another kind of series: a programming error
	}
	return c
}

func (m *metrics) observe(info *reqInfo, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(info.route, strconv.Itoa(status), info.code).Inc()
	m.duration.WithLabelValues(info.route).Observe(d.Seconds())
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) {
	m.handler.ServeHTTP(w, r)
}
