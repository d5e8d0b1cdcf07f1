package server

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts Proton requests by operation and status.
type metrics struct {
	requests *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "openproton_api_requests_total",
		Help: "Proton API requests by operation and HTTP status.",
	}, []string{"operation", "status"})}
	reg.MustRegister(m.requests)
	return m
}

func (m *metrics) observe(op string, status int) {
	m.requests.WithLabelValues(op, strconv.Itoa(status)).Inc()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
