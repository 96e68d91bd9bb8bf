package gitlab

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	gl "gitlab.com/gitlab-org/api/client-go"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics of the calls to GitLab: what an admin reads to see how hard the
// operator leans on GitLab, and how GitLab answers.
var (
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_pages_gitlab_requests_total",
		Help: "Calls to GitLab by call and result: ok, the reason of the failure, or Gated for a call the gate kept from GitLab (after a 429, or beyond --gitlab-qps).",
	}, []string{"call", "result"})
	duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "atrium_pages_gitlab_request_duration_seconds",
		Help:    "Time of the calls that reached GitLab, by call.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	}, []string{"call"})
)

func init() { metrics.Registry.MustRegister(requests, duration) }

func observe(name string, resp *gl.Response, err error, took time.Duration) {
	result := "ok"
	if err != nil {
		result = string(ReasonOf(err))
		if e, ok := err.(*Error); ok && e.Reason == RateLimited && e.Status == 0 {
			result = "Gated"
		}
	}
	requests.WithLabelValues(name, result).Inc()
	if resp != nil || result != "Gated" {
		duration.WithLabelValues(name).Observe(took.Seconds())
	}
}
