package claims

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/hostname"
	"github.com/atrium-dev/atrium/internal/sources"
)

// Releaser keeps this cluster's claims true to the objects that use them:
// a source whose object is gone, was replaced, or no longer carries the
// hostname is dropped, and a claim without sources is deleted, which frees
// the hostname for everyone. Sources still within the grace period after
// admission recorded them are kept: their object may not be persisted yet.
type Releaser struct {
	// Hub writes claims at the hub.
	Hub client.Client
	// Claims reads this cluster's claims from the hub cache.
	Claims client.Reader
	// Local reads source objects from the member cluster's cache.
	Local client.Reader
	// Cluster is this member cluster's name.
	Cluster string
	// Grace is how long a source may point at an object that does not exist.
	Grace time.Duration
	// Resync is how often every claim is checked even without events.
	Resync time.Duration
	// Kinds are the source kinds served by this cluster.
	Kinds []sources.Source

	now func() time.Time
}

// The source objects are read on this cluster with the rights their
// files in internal/sources give. Writing claims at the hub is granted by
// package hubrbac (the hub's role for this member's identity).

// SetupWithManager watches the hub's claims of this cluster and the local
// source objects, whose changes are mapped to the claims of their hostnames.
func (r *Releaser) SetupWithManager(mgr ctrl.Manager, hub cluster.Cluster) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named("hostnameclaims").
		WatchesRawSource(source.Kind(hub.GetCache(), &fleetv1.HostnameClaim{},
			&handler.TypedEnqueueRequestForObject[*fleetv1.HostnameClaim]{}))
	for _, k := range r.Kinds {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(k.Kind().GroupVersionKind)
		b = b.Watches(u, handler.EnqueueRequestsFromMapFunc(r.claimsOf(k)))
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: releaserWorkers}).Complete(r)
}

// releaserWorkers reconcile claims at once. Most reconciles of a new claim
// wait on one status write at the hub, so one worker falls behind a burst
// of admissions (measured in make bench: after 10,000 Ingresses made in
// 2m19s, the last claim was marked InUse 67s later); a few keep up, within
// the webhook's hub budget (wiring.HubDefaults) shared with admission.
// One claim is never reconciled by two workers at once.
const releaserWorkers = 4

// claimsOf maps a source object to the claims of its hostnames.
func (r *Releaser) claimsOf(k sources.Source) handler.MapFunc {
	return func(_ context.Context, o client.Object) []reconcile.Request {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			return nil
		}
		hosts, _, err := sources.CachedNames(k, u)
		if err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(hosts))
		for _, h := range hosts {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: hostname.ClaimName(h)}})
		}
		return out
	}
}

func (r *Releaser) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	claim := &fleetv1.HostnameClaim{}
	if err := r.Claims.Get(ctx, req.NamespacedName, claim); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if claim.Spec.Cluster != r.Cluster {
		return ctrl.Result{}, nil
	}
	host, ok := hostname.ParseClaimName(claim.Name)
	if !ok {
		return ctrl.Result{}, nil
	}
	keep, live, wait, err := r.liveSources(ctx, claim, host)
	if err != nil {
		return ctrl.Result{}, err
	}
	next := r.Resync
	if wait > 0 && (next == 0 || wait < next) {
		next = wait
	}
	switch {
	case len(keep) == 0:
		// The resourceVersion precondition makes a source recorded by
		// admission in the meantime win over this delete.
		rv := claim.ResourceVersion
		err := r.Hub.Delete(ctx, claim, client.Preconditions{ResourceVersion: &rv})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		if err != nil {
			return ctrl.Result{}, err
		}
		log.Info("released hostname", "hostname", claim.Spec.Hostname, "claim", klog.KObj(claim))
		return ctrl.Result{}, nil
	case !slices.Equal(keep, claim.Spec.Sources) || missingOverlapLabels(claim, host):
		// Also gives a claim made before overlaps were checked the labels
		// by which a wildcard's admission finds it.
		claim.Spec.Sources = keep
		for k, v := range overlapLabels(host) {
			if k != fleetv1.TentativeLabel {
				if claim.Labels == nil {
					claim.Labels = map[string]string{}
				}
				claim.Labels[k] = v
			}
		}
		if err := r.Hub.Update(ctx, claim); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{RequeueAfter: time.Second}, nil
			}
			return ctrl.Result{}, err
		}
	}
	if left := r.settling(claim, keep, live); left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	if err := r.reportReady(ctx, claim, live); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: next}, nil
}

// settleFor is how long a claim admission has just made may go without a
// Ready condition while its object is not seen yet. The API server stores
// the object right after admission, so the object nearly always shows up
// within it: the claim's first condition is then InUse, one status write
// at the hub instead of AwaitingObject and then InUse for every new
// hostname. Two seconds, as a source's reservation time is kept to the
// second; a grace period shorter than twice this shortens it.
const settleFor = 2 * time.Second

// settling is how much longer a claim that has never had a Ready condition
// and whose kept sources are none on the cluster yet waits before saying
// AwaitingObject; zero when it should say what it is now.
func (r *Releaser) settling(claim *fleetv1.HostnameClaim, keep []fleetv1.SourceRef, live int) time.Duration {
	if live > 0 || len(keep) == 0 || meta.FindStatusCondition(claim.Status.Conditions, "Ready") != nil {
		return 0
	}
	settle := settleFor
	if r.Grace > 0 && r.Grace/2 < settle {
		settle = r.Grace / 2
	}
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	oldest := keep[0].ReservedAt.Time
	for _, src := range keep[1:] {
		if src.ReservedAt.Before(&metav1.Time{Time: oldest}) {
			oldest = src.ReservedAt.Time
		}
	}
	return max(0, oldest.Add(settle).Sub(now()))
}

// readyCondition says whether objects on the cluster use the claim, or it
// only waits, within the grace period, for the object it was reserved for.
func readyCondition(claim *fleetv1.HostnameClaim, live int) metav1.Condition {
	c := metav1.Condition{
		Type:               "Ready",
		Status:             metav1.ConditionTrue,
		Reason:             "InUse",
		Message:            fmt.Sprintf("held by namespace %s of cluster %s for %d object(s)", claim.Spec.Namespace, claim.Spec.Cluster, live),
		ObservedGeneration: claim.Generation,
	}
	if live == 0 {
		c.Status, c.Reason = metav1.ConditionFalse, "AwaitingObject"
		c.Message = "reserved at admission; released unless its object appears within the grace period"
	}
	return c
}

// reportReady writes the Ready condition when it changed.
func (r *Releaser) reportReady(ctx context.Context, claim *fleetv1.HostnameClaim, live int) error {
	want := readyCondition(claim, live)
	if have := meta.FindStatusCondition(claim.Status.Conditions, want.Type); have != nil &&
		have.Status == want.Status && have.Reason == want.Reason && have.Message == want.Message && have.ObservedGeneration == want.ObservedGeneration {
		return nil
	}
	before := claim.DeepCopy()
	meta.SetStatusCondition(&claim.Status.Conditions, want)
	claim.Status.ObservedGeneration = claim.Generation
	// The DNS operator keeps its own condition in the same list; the lock
	// makes a patch built from a stale copy fail rather than drop it.
	return r.Hub.Status().Patch(ctx, claim, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
}

// liveSources returns the sources to keep, how many of them have their
// object on the cluster, and how soon a kept source's grace period ends.
func (r *Releaser) liveSources(ctx context.Context, claim *fleetv1.HostnameClaim, host hostname.Hostname) ([]fleetv1.SourceRef, int, time.Duration, error) {
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	var keep []fleetv1.SourceRef
	var wait time.Duration
	live := 0
	for _, src := range claim.Spec.Sources {
		uses, err := r.sourceUses(ctx, claim.Spec.Namespace, src, host)
		if err != nil {
			return nil, 0, 0, err
		}
		if uses {
			keep = append(keep, src)
			live++
			continue
		}
		if left := src.ReservedAt.Add(r.Grace).Sub(now()); left > 0 {
			keep = append(keep, src)
			if wait == 0 || left < wait {
				wait = left
			}
		}
	}
	return keep, live, wait, nil
}

// sourceUses reports whether the source object exists, is the object that
// was admitted (same UID, once known) and still carries the hostname.
func (r *Releaser) sourceUses(ctx context.Context, namespace string, src fleetv1.SourceRef, host hostname.Hostname) (bool, error) {
	var kind sources.Source
	for _, k := range r.Kinds {
		if k.Kind().Group == src.Group && k.Kind().GroupVersionKind.Kind == src.Kind {
			kind = k
		}
	}
	if kind == nil {
		// A kind this cluster does not serve cannot hold a hostname here.
		return false, nil
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(kind.Kind().GroupVersionKind)
	if err := r.Local.Get(ctx, client.ObjectKey{Namespace: namespace, Name: src.Name}, u); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	if src.UID != "" && string(u.GetUID()) != src.UID {
		return false, nil
	}
	return sources.Uses(kind, u, host), nil
}
