package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics of the DNS operator, labelled with the cluster (owner id) so that
// operators of several clusters in one process (tests) stay apart.
var (
	zoneSyncSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "atrium_dns_sync_duration_seconds",
		Help:    "Time of one whole-zone sync: desired state, plan and writes.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"cluster"})
	zoneReads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_dns_zone_reads_total",
		Help: "Zone reads (transfers) made to repair drift or after a failure.",
	}, []string{"cluster"})
	zoneChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_dns_record_changes_total",
		Help: "Record sets created, updated or deleted.",
	}, []string{"cluster"})
	zoneFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_dns_provider_failures_total",
		Help: "Failed zone reads and writes.",
	}, []string{"cluster", "op"})
	zoneRecordSets = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "atrium_dns_desired_record_sets",
		Help: "Record sets the cluster wants published.",
	}, []string{"cluster"})
)

func init() {
	metrics.Registry.MustRegister(zoneSyncSeconds, zoneReads, zoneChanges, zoneFailures, zoneRecordSets)
}
