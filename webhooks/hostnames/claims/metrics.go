package claims

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// hubRequests counts the requests admission makes to the hub, by operation
// and outcome: the common case (a hostname the namespace already holds) is
// answered from the index and makes none.
var hubRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "atrium_hostnames_hub_requests_total",
	Help: "Requests from hostname admission to the hub, by operation and result.",
}, []string{"operation", "result"})

// hubLatency is how long each of those requests took, as admission waited
// for it: most of an admission's time is spent there, so this says whether
// a slow admission is the hub's doing (compare the hub API server's own
// apiserver_request_duration_seconds for the network's and queueing's part).
var hubLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "atrium_hostnames_hub_request_duration_seconds",
	Help:    "Time of each request from hostname admission to the hub, by operation.",
	Buckets: []float64{0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1, 2, 4},
}, []string{"operation"})

func init() { metrics.Registry.MustRegister(hubRequests, hubLatency) }

// hubCall makes one hub request and records it.
func hubCall(op string, request func() error) error {
	start := time.Now()
	err := request()
	hubLatency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	countHub(op, err)
	return err
}

// countHub counts one hub request.
func countHub(op string, err error) {
	result := "ok"
	switch {
	case err == nil:
	case apierrors.IsNotFound(err):
		result = "not_found"
	case apierrors.IsAlreadyExists(err):
		result = "already_exists"
	case apierrors.IsConflict(err):
		result = "conflict"
	default:
		result = "error"
	}
	hubRequests.WithLabelValues(op, result).Inc()
}
