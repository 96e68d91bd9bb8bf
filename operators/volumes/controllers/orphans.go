package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// The orphan report's ConfigMap, in the operator's namespace.
const (
	OrphanReport    = "atrium-volumes-orphans"
	OrphanReportKey = "orphans.yaml"
)

// The operator's role on its report, in its own namespace only.
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;create;update,namespace=system

var orphanGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "atrium_volumes_orphans",
	Help: "Cinder volumes carrying this cluster's metadata that no OpenStackVolume holds, by state: released (kept by reclaimPolicy Retain, adoptable again) or unheld (no release was recorded: the object went without the operator).",
}, []string{"state"})

func init() { metrics.Registry.MustRegister(orphanGauge) }

// Orphan is a Cinder volume of this cluster that no OpenStackVolume holds.
type Orphan struct {
	VolumeID string `json:"volumeID"`
	Name     string `json:"name,omitempty"`
	SizeGiB  int    `json:"sizeGiB"`
	Zone     string `json:"availabilityZone,omitempty"`
	Status   string `json:"status"`
	// Namespace and Object name the OpenStackVolume that held it.
	Namespace string `json:"namespace,omitempty"`
	Object    string `json:"object,omitempty"`
	// Released is when it was released (Retain), empty if never.
	Released string `json:"released,omitempty"`
	State    string `json:"state"`
}

// OrphanReporter compares Cinder with the cluster's OpenStackVolumes now
// and then, and writes what no object holds into a ConfigMap and a metric.
// It deletes nothing: a volume nobody holds may be someone's only copy.
type OrphanReporter struct {
	// Client lists OpenStackVolumes from the cache and writes the report;
	// Reader reads the report from the API server (the operator caches no
	// ConfigMaps).
	Client    client.Client
	Reader    client.Reader
	Cinder    Cinder
	Cluster   string
	Namespace string
	Interval  time.Duration
	// FirstAfter is how long the first comparison waits once the replica
	// leads. Then the inventory reads the same whole list of Cinder's
	// volumes, and every volume is reconciled again; a report at that
	// moment would double the list's cost when the operator is at its
	// busiest, for a report that is only as fresh as its interval anyway.
	FirstAfter time.Duration
}

// Start runs the comparison FirstAfter after it starts, then every
// Interval, until ctx ends; only the leader runs it.
func (o *OrphanReporter) Start(ctx context.Context) error {
	log := ctrl.Log.WithName("orphans")
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(o.FirstAfter):
	}
	for {
		if err := o.Report(ctx); err != nil {
			log.Error(err, "comparing Cinder with the OpenStackVolumes")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.Interval):
		}
	}
}

// Report makes one comparison.
func (o *OrphanReporter) Report(ctx context.Context) error {
	vols, err := o.Cinder.List(cinder.For(ctx, "atrium:orphans"), map[string]string{storagev1.MetaCluster: o.Cluster})
	if err != nil {
		return fmt.Errorf("listing this cluster's Cinder volumes: %w", err)
	}
	held := &storagev1.OpenStackVolumeList{}
	if err := o.Client.List(ctx, held); err != nil {
		return err
	}
	uids := map[types.UID]bool{}
	for _, v := range held.Items {
		uids[v.UID] = true
	}
	var orphans []Orphan
	counts := map[string]int{"released": 0, "unheld": 0}
	for _, vol := range vols {
		md := vol.Metadata
		if uids[types.UID(md[storagev1.MetaUID])] {
			continue
		}
		state := "unheld"
		if md[storagev1.MetaReleased] != "" {
			state = "released"
		}
		counts[state]++
		orphans = append(orphans, Orphan{
			VolumeID: vol.ID, Name: vol.Name, SizeGiB: vol.Size, Zone: vol.Zone, Status: vol.Status,
			Namespace: md[storagev1.MetaNamespace], Object: md[storagev1.MetaName], Released: md[storagev1.MetaReleased], State: state,
		})
	}
	sort.Slice(orphans, func(i, j int) bool {
		if orphans[i].Namespace != orphans[j].Namespace {
			return orphans[i].Namespace < orphans[j].Namespace
		}
		return orphans[i].VolumeID < orphans[j].VolumeID
	})
	for state, n := range counts {
		orphanGauge.WithLabelValues(state).Set(float64(n))
	}
	return o.write(ctx, orphans)
}

func (o *OrphanReporter) write(ctx context.Context, orphans []Orphan) error {
	body, err := yaml.Marshal(orphans)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Cinder volumes of cluster %s that no OpenStackVolume holds (%d).\n", o.Cluster, len(orphans))
	b.WriteString("# Nothing here is deleted by Atrium. A released volume can be adopted again\n")
	b.WriteString("# by its namespace (spec.source.volumeID); an admin can hand one to another\n")
	b.WriteString("# namespace with the Cinder metadata atrium.dev/adoptable-by=<cluster>/<namespace>.\n")
	if len(orphans) > 0 {
		b.Write(body)
	}
	cm := &corev1.ConfigMap{}
	err = o.Reader.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: OrphanReport}, cm)
	if apierrors.IsNotFound(err) {
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: OrphanReport, Labels: map[string]string{"app.kubernetes.io/part-of": "atrium"}},
			Data:       map[string]string{OrphanReportKey: b.String()},
		}
		return o.Client.Create(ctx, cm)
	}
	if err != nil {
		return err
	}
	if cm.Data[OrphanReportKey] == b.String() {
		return nil
	}
	cm.Data = map[string]string{OrphanReportKey: b.String()}
	return o.Client.Update(ctx, cm)
}
