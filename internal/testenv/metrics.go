package testenv

import (
	dto "github.com/prometheus/client_model/go"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metric returns the metric of the named family in controller-runtime's
// registry whose label has the given value, or nil. Tests and benchmarks
// read what components in their process counted.
func Metric(name, label, value string) *dto.Metric {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		return nil
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m
				}
			}
		}
	}
	return nil
}
