package version

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// BuildInfoName is the metric every binary exports, always 1, whose
// labels say which build it is: a dashboard or an alert joins it to the
// binary's other metrics to tell which version runs where (the pattern of
// kubernetes_build_info and go_build_info).
const BuildInfoName = "atrium_build_info"

// BuildInfo is the atrium_build_info gauge of the build i.
func (i Info) BuildInfo() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: BuildInfoName,
		Help: "Which build of Atrium this binary is: always 1, the labels say which component, version, git revision and Go version.",
		ConstLabels: prometheus.Labels{
			"component": i.Component,
			"version":   i.Version,
			"revision":  i.Revision,
			"goversion": i.GoVersion,
		},
	})
	g.Set(1)
	return g
}

// Register registers this binary's atrium_build_info with reg: the
// controller-runtime binaries give controller-runtime's metrics.Registry,
// the aggregated API server the generic API server's legacyregistry.
// Registering it again (a second manager in one process) is not an error.
func Register(reg prometheus.Registerer) error {
	err := reg.Register(Get().BuildInfo())
	if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
		return nil
	}
	return err
}
