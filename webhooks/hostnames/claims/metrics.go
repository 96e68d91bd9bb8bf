package claims

import (
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

func init() { metrics.Registry.MustRegister(hubRequests) }

// countHub records one hub request.
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
