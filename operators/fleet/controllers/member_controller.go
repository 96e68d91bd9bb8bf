package controllers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
)

// FieldOwner is the hub controller's field manager: it owns the
// MemberClusters' conditions and summary, the components their entries.
const FieldOwner = client.FieldOwner("atrium-fleet")

// DefaultStaleAfter is --stale-after: four missed reports at the
// components' default --report-interval of 30s.
const DefaultStaleAfter = 2 * time.Minute

// The controller reads MemberClusters and writes their status (server-side
// apply of the conditions and summary only).
// +kubebuilder:rbac:groups=fleet.atrium.dev,resources=memberclusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=fleet.atrium.dev,resources=memberclusters/status,verbs=patch

// MemberReconciler sets each MemberCluster's Ready and Stale conditions
// and summary from its components' entries, and comes back at the instant
// the next entry would turn stale: a member that stops reporting cannot
// say so itself.
type MemberReconciler struct {
	Client     client.Client
	StaleAfter time.Duration
	Clock      clock.PassiveClock
	// HubVersion is this fleet operator's release, written on every
	// MemberCluster for the members' components to compare theirs with
	// (empty: not written).
	HubVersion string
}

// Reconcile judges one MemberCluster.
func (r *MemberReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	mc := &fleetv1.MemberCluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, mc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	v := Judge(mc.Status.Components, r.Clock.Now(), r.StaleAfter)
	conds := append([]metav1.Condition(nil), mc.Status.Conditions...)
	changed := meta.SetStatusCondition(&conds, withGeneration(v.Ready, mc.Generation))
	changed = meta.SetStatusCondition(&conds, withGeneration(v.Stale, mc.Generation)) || changed
	if changed || mc.Status.Summary != v.Summary || mc.Status.ObservedGeneration != mc.Generation || mc.Status.HubVersion != r.HubVersion {
		if err := r.apply(ctx, mc, conds, v.Summary); err != nil {
			return ctrl.Result{}, err
		}
	}
	// Come back when the next fresh entry turns stale (a second past it,
	// so the entry is stale when looked at).
	if v.Next > 0 {
		return ctrl.Result{RequeueAfter: v.Next + time.Second}, nil
	}
	return ctrl.Result{}, nil
}

func withGeneration(c metav1.Condition, gen int64) metav1.Condition {
	c.ObservedGeneration = gen
	return c
}

// apply writes the hub's part of the status: Ready, Stale, summary,
// observedGeneration and the hub's version, by server-side apply.
func (r *MemberReconciler) apply(ctx context.Context, mc *fleetv1.MemberCluster, conds []metav1.Condition, summary string) error {
	var out []any
	for _, c := range conds {
		if c.Type != fleetv1.MemberReady && c.Type != fleetv1.MemberStale {
			continue
		}
		out = append(out, map[string]any{
			"type": c.Type, "status": string(c.Status), "reason": c.Reason, "message": c.Message,
			"observedGeneration": c.ObservedGeneration, "lastTransitionTime": c.LastTransitionTime.UTC().Format(time.RFC3339),
		})
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(fleetv1.GroupVersion.WithKind("MemberCluster"))
	u.SetName(mc.Name)
	status := map[string]any{"conditions": out, "summary": summary, "observedGeneration": mc.Generation}
	if r.HubVersion != "" {
		status["hubVersion"] = r.HubVersion
	}
	u.Object["status"] = status
	return r.Client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), FieldOwner, client.ForceOwnership)
}

// SetupWithManager watches MemberClusters: every report is an event.
func (r *MemberReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.StaleAfter <= 0 {
		r.StaleAfter = DefaultStaleAfter
	}
	return ctrl.NewControllerManagedBy(mgr).For(&fleetv1.MemberCluster{}).Named("membercluster").Complete(r)
}
