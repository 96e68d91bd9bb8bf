package admission

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Metrics are the hostnames webhook's Prometheus metrics.
type Metrics struct {
	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
}

// NewMetrics registers the metrics with controller-runtime's registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atrium_hostnames_decisions_total",
			Help: "Admission decisions of the hostnames webhook, by kind and result.",
		}, []string{"kind", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "atrium_hostnames_decision_seconds",
			Help:    "Time to decide one admission request, hub round trips included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"kind"}),
	}
	metrics.Registry.MustRegister(m.decisions, m.latency)
	return m
}

func (m *Metrics) observe(req admission.Request, resp admission.Response, d time.Duration) {
	if m == nil {
		return
	}
	result := "allowed"
	switch {
	case resp.Result != nil && resp.Result.Code >= 500:
		result = "error"
	case !resp.Allowed:
		result = "denied"
	}
	m.decisions.WithLabelValues(req.Kind.Kind, result).Inc()
	m.latency.WithLabelValues(req.Kind.Kind).Observe(d.Seconds())
}
