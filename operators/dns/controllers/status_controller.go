package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
)

// FieldOwner is the DNS operator's field manager: at the hub it owns the
// DNSRegistered condition of its cluster's claims and nothing else.
const FieldOwner = client.FieldOwner("atrium-dns")

// ClaimStatusReconciler reports each claim's DNS outcome where users look:
// the DNSRegistered condition of the claim at the hub, and an event on the
// objects that use the hostname when the outcome changes. The condition
// doubles as the memory of what was reported, so a restarted operator does
// not repeat events.
type ClaimStatusReconciler struct {
	// Hub writes claim status at the hub.
	Hub client.Client
	// Claims reads this cluster's claims from the hub cache.
	Claims client.Reader
	// Cluster is this cluster's name.
	Cluster string
	// Outcomes are the zone controller's results.
	Outcomes *Outcomes
	// Changed carries the claims whose outcome changed.
	Changed <-chan event.TypedGenericEvent[string]
	// Recorder records events on source objects in the member cluster.
	Recorder events.EventRecorder
	// Concurrency is how many claims are reported on at once.
	Concurrency int
}

// Patching claim status at the hub is granted by package hubrbac's role
// and narrowed by its ValidatingAdmissionPolicy to the DNSRegistered
// condition of this cluster's claims.

// SetupWithManager watches this cluster's claims at the hub and the zone
// controller's changes.
func (r *ClaimStatusReconciler) SetupWithManager(mgr ctrl.Manager, hub cluster.Cluster) error {
	byName := handler.TypedFuncs[string, reconcile.Request]{
		GenericFunc: func(_ context.Context, e event.TypedGenericEvent[string], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: e.Object}})
		},
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("dnsclaimstatus").
		WithOptions(controller.Options{
			MaxConcurrentReconciles: max(r.Concurrency, 1),
			// A hub that was away gets the reports within a minute of its return.
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Second, time.Minute),
		}).
		WatchesRawSource(source.Kind(hub.GetCache(), &fleetv1.HostnameClaim{},
			&handler.TypedEnqueueRequestForObject[*fleetv1.HostnameClaim]{})).
		WatchesRawSource(source.Channel(r.Changed, byName, source.WithBufferSize[string, reconcile.Request](4096))).
		Complete(r)
}

func (r *ClaimStatusReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	claim := &fleetv1.HostnameClaim{}
	if err := r.Claims.Get(ctx, req.NamespacedName, claim); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if claim.Spec.Cluster != r.Cluster || !claim.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	outcome, found, synced := r.Outcomes.Get(claim.Name)
	if !synced {
		// The first sync reports on every claim when it is done.
		return ctrl.Result{}, nil
	}
	if !found {
		outcome = Outcome{Host: claim.Spec.Hostname, Status: metav1.ConditionFalse, Reason: "NoObject",
			Message: fmt.Sprintf("no object of namespace %s uses this hostname on cluster %s, so nothing is published", claim.Spec.Namespace, r.Cluster)}
	}
	want := metav1.Condition{
		Type: ConditionDNSRegistered, Status: outcome.Status, Reason: outcome.Reason, Message: outcome.Message,
		ObservedGeneration: claim.Generation, LastTransitionTime: metav1.NewTime(time.Now().UTC().Truncate(time.Second)),
	}
	have := meta.FindStatusCondition(claim.Status.Conditions, ConditionDNSRegistered)
	if have != nil && have.Status == want.Status && have.Reason == want.Reason && have.Message == want.Message && have.ObservedGeneration == want.ObservedGeneration {
		return ctrl.Result{}, nil
	}
	if have != nil && have.Status == want.Status {
		want.LastTransitionTime = have.LastTransitionTime
	}
	if err := r.apply(ctx, claim.Name, want); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if have == nil || have.Reason != want.Reason || have.Message != want.Message {
		r.announce(outcome)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("reported DNS state", "claim", klog.KObj(claim), "reason", want.Reason)
	return ctrl.Result{}, nil
}

// apply writes the condition with server-side apply: the list of
// conditions is a map keyed by type, so the releaser's Ready and this
// operator's DNSRegistered never overwrite each other.
func (r *ClaimStatusReconciler) apply(ctx context.Context, name string, c metav1.Condition) error {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": fleetv1.GroupVersion.String(),
		"kind":       "HostnameClaim",
		"metadata":   map[string]any{"name": name},
		"status": map[string]any{"conditions": []any{map[string]any{
			"type": c.Type, "status": string(c.Status), "reason": c.Reason, "message": c.Message,
			"observedGeneration": c.ObservedGeneration, "lastTransitionTime": c.LastTransitionTime.Format(time.RFC3339),
		}}},
	}}
	return r.Hub.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), FieldOwner, client.ForceOwnership)
}

// announce records the outcome on every object that uses the hostname.
func (r *ClaimStatusReconciler) announce(o Outcome) {
	kind, reason := corev1.EventTypeWarning, "DNS"+o.Reason
	if o.Status == metav1.ConditionTrue {
		kind = corev1.EventTypeNormal
	}
	for _, src := range o.Sources {
		r.Recorder.Eventf(src.object(), nil, kind, reason, "PublishDNS", "%s: %s", o.Host, o.Message)
	}
}
