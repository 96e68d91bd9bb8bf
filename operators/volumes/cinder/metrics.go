package cinder

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_volumes_cinder_requests_total",
		Help: "Requests to OpenStack by call and result (OK, or the failure's reason; Gated for calls the 429 gate or the pacing kept from Cinder).",
	}, []string{"call", "result"})
	durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "atrium_volumes_cinder_request_duration_seconds",
		Help:    "Duration of requests to Cinder by call.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	}, []string{"call"})
)

func init() { metrics.Registry.MustRegister(requests, durations) }

// observe counts a call; a call that never left (gated) has no duration.
func observe(call string, err error, d time.Duration) {
	result := "OK"
	if err != nil {
		result = string(ReasonOf(err))
		if d == 0 && ReasonOf(err) == RateLimited {
			result = "Gated"
		}
	}
	requests.WithLabelValues(call, result).Inc()
	if d > 0 {
		durations.WithLabelValues(call).Observe(d.Seconds())
	}
}
