package controllers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/internal/finalizers"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// VolumeReconciler provisions OpenStackVolumes.
type VolumeReconciler struct {
	// Client reads OpenStackVolumes, claims and PersistentVolumes from the
	// cache (only the operator's own claims and volumes are cached) and
	// writes them.
	Client client.Client
	// Reader (required) reads from the API server what the cache may not
	// have: a namespace's UID, when a volume is made or taken (it goes
	// into the volume's metadata), and a claim made a moment ago.
	Reader client.Reader
	Cinder Cinder
	// Cluster is this member's name in the fleet, written in every
	// volume's metadata.
	Cluster string
	// DefaultZone is the availability zone of volumes that name none; empty
	// leaves it to Cinder.
	DefaultZone string
	// TopologyKey is the node label that says a node's availability zone
	// (the Cinder CSI driver's topology key).
	TopologyKey string
	// FSType is the filesystem the CSI driver makes on a new volume.
	FSType   string
	Recorder events.EventRecorder
	// Resync is how often every volume is checked against Cinder without
	// an event: from one listing of this cluster's volumes, each volume
	// the listing does not vouch for read on its own (see resyncer).
	Resync time.Duration
	// PollMin and PollMax bound the wait while Cinder is busy with a
	// volume (creating, extending): it doubles from PollMin.
	PollMin, PollMax time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failure.
	MinBackoff, MaxBackoff time.Duration
	// CreateGrace is how long after a create was sent a look-up that finds
	// nothing is not trusted: the create may still be on its way.
	CreateGrace time.Duration
	// AnswerTTL is how long Cinder's answer that a volume is settled (and
	// at its size) stands for the object's next reconciles, which the
	// claim and the PersistentVolume start while they bind, instead of
	// reading the volume again each time; 0 reads it every time. A spec
	// change, an operator's own change in Cinder and the resync read it
	// afresh.
	AnswerTTL time.Duration

	mu       sync.Mutex
	failures map[types.UID]int
	polls    map[types.UID]int
	answers  map[types.UID]answer
	// adopting serializes adoptions, and adopted remembers which object
	// took which volume until the cache has seen it, so that two objects
	// of this cluster never take one volume.
	adopting sync.Mutex
	adopted  map[string]types.UID
	// inventory spares new volumes their look-up once the project's
	// volumes were listed (see inventory); set up by SetupWithManager.
	inventory *inventory
	// sweeping says the resyncer queues every volume each Resync, so a
	// settled volume is not queued again on its own.
	sweeping bool
}

// InventoryLoaded says whether the project's volumes were listed since
// the operator started leading: from then on a new volume is created
// without a look-up of its own.
func (r *VolumeReconciler) InventoryLoaded() bool {
	if r.inventory == nil {
		return false
	}
	r.inventory.mu.Lock()
	defer r.inventory.mu.Unlock()
	return r.inventory.complete
}

// +kubebuilder:rbac:groups=storage.atrium.dev,resources=openstackvolumes,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=storage.atrium.dev,resources=openstackvolumes/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=storage.atrium.dev,resources=openstackvolumes/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumes,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// outcome is how a reconcile ends: the Ready condition and when to come
// back.
type outcome struct {
	ready metav1.Condition
	after time.Duration
	// failed counts towards the per-object backoff.
	failed bool
	// poll says Cinder is busy with the volume: come back after the
	// polling delay.
	poll bool
	// hold says nothing was learnt: a call was kept back by the client's
	// pacing or the 429 gate. The status stays as it is (a volume paced
	// on its resync is not "rate limited" to its user) and the object
	// comes back when the gate opens.
	hold bool
	// quota and cinderError set the QuotaExceeded and Error conditions.
	quota       *metav1.Condition
	cinderError *metav1.Condition
}

func (r *VolumeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	v := &storagev1.OpenStackVolume{}
	if err := r.Client.Get(ctx, req.NamespacedName, v); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := v.Status.DeepCopy()
	// Cinder calls for this object keep their turn when the pacing keeps
	// them back.
	ctx = cinder.For(ctx, string(v.UID))
	var o outcome
	if !v.DeletionTimestamp.IsZero() {
		if !controllerutil.ContainsFinalizer(v, storagev1.Finalizer) {
			return ctrl.Result{}, nil
		}
		var done bool
		if done, o = r.finalize(ctx, v); done {
			orig := v.DeepCopy()
			controllerutil.RemoveFinalizer(v, storagev1.Finalizer)
			r.forget(v.UID)
			return ctrl.Result{}, client.IgnoreNotFound(finalizers.Patch(ctx, r.Client, v, orig))
		}
	} else {
		orig := v.DeepCopy()
		if controllerutil.AddFinalizer(v, storagev1.Finalizer) {
			if err := finalizers.Patch(ctx, r.Client, v, orig); err != nil {
				return ctrl.Result{}, client.IgnoreNotFound(err)
			}
		}
		o = r.provision(ctx, v)
	}
	if o.hold {
		return ctrl.Result{RequeueAfter: jitter(max(o.after, 10*time.Millisecond))}, nil
	}
	r.conditions(v, o)
	if !equality.Semantic.DeepEqual(before, &v.Status) {
		if err := r.Client.Status().Update(ctx, v); apierrors.IsConflict(err) {
			// The cache had an older object: look again once it caught
			// up. Nothing was sent to Cinder that a retry would repeat
			// blindly: every create is preceded by a look-up.
			return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
		} else if err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	return ctrl.Result{RequeueAfter: r.next(v.UID, o)}, nil
}

// conditions writes the outcome into the status.
func (r *VolumeReconciler) conditions(v *storagev1.OpenStackVolume, o outcome) {
	o.ready.Type = storagev1.ConditionReady
	set := func(c metav1.Condition) {
		c.ObservedGeneration = v.Generation
		meta.SetStatusCondition(&v.Status.Conditions, c)
	}
	set(o.ready)
	if o.quota != nil {
		o.quota.Type = storagev1.ConditionQuotaExceeded
		set(*o.quota)
	} else if o.ready.Status == metav1.ConditionTrue {
		set(metav1.Condition{Type: storagev1.ConditionQuotaExceeded, Status: metav1.ConditionFalse, Reason: "WithinQuota", Message: "the volume fits the tier's and Cinder's quotas"})
	}
	if o.cinderError != nil {
		o.cinderError.Type = storagev1.ConditionError
		set(*o.cinderError)
	} else if o.ready.Status == metav1.ConditionTrue {
		set(metav1.Condition{Type: storagev1.ConditionError, Status: metav1.ConditionFalse, Reason: "NoError", Message: "Cinder reports no error"})
	}
	v.Status.ObservedGeneration = v.Generation
}

// next is when to look at the volume again: while Cinder is busy, the
// polling delay (doubling); after a failure, a backoff with jitter that
// grows with each failure in a row; otherwise when the outcome asks, or
// at the resync (the resyncer's, when it runs).
func (r *VolumeReconciler) next(uid types.UID, o outcome) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures == nil {
		r.failures, r.polls = map[types.UID]int{}, map[types.UID]int{}
	}
	if o.poll {
		delete(r.failures, uid)
		n := r.polls[uid]
		r.polls[uid] = n + 1
		return max(min(r.PollMin<<min(n, 20), r.PollMax), o.after)
	}
	delete(r.polls, uid)
	if !o.failed {
		delete(r.failures, uid)
		if o.after > 0 {
			return o.after
		}
		if r.sweeping {
			return 0
		}
		return jitter(r.Resync)
	}
	n := r.failures[uid]
	r.failures[uid] = n + 1
	return max(jitter(min(r.MinBackoff<<min(n, 20), r.MaxBackoff)), o.after)
}

func (r *VolumeReconciler) forget(uid types.UID) {
	r.mu.Lock()
	delete(r.failures, uid)
	delete(r.polls, uid)
	delete(r.answers, uid)
	r.mu.Unlock()
	r.adopting.Lock()
	defer r.adopting.Unlock()
	for id, holder := range r.adopted {
		if holder == uid {
			delete(r.adopted, id)
		}
	}
}

// jitter spreads d over [d, 1.25d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}

func cond(status metav1.ConditionStatus, reason, format string, args ...any) metav1.Condition {
	return metav1.Condition{Status: status, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func notReady(reason, format string, args ...any) metav1.Condition {
	return cond(metav1.ConditionFalse, reason, format, args...)
}

// cinderFailed is the outcome of a failed Cinder call: transient failures
// come back with backoff (a 429 no sooner than Cinder asked), quota and
// refusals wait for a change, with backoff so nothing storms.
func cinderFailed(what string, err error) outcome {
	if cinder.Gated(err) {
		after, _ := cinder.Transient(err)
		return outcome{hold: true, after: after}
	}
	switch cinder.ReasonOf(err) {
	case cinder.QuotaExceeded:
		q := cond(metav1.ConditionTrue, "CinderQuota", "%s: the OpenStack project's quota is exhausted: %v", what, err)
		return outcome{ready: notReady("QuotaExceeded", "%s: Cinder's quota refused it; free space in the OpenStack project or ask for a larger quota", what), quota: &q, failed: true}
	case cinder.RateLimited:
		after, _ := cinder.Transient(err)
		return outcome{ready: notReady("CinderRateLimited", "%s: %v; trying again as Cinder asked", what, err), after: after, failed: true}
	case cinder.Unavailable:
		return outcome{ready: notReady("CinderUnavailable", "%s: %v; retrying with backoff", what, err), failed: true}
	case cinder.Forbidden:
		return outcome{ready: notReady("CinderForbidden", "%s: %v; the operator's OpenStack credentials may not do this", what, err), failed: true}
	}
	return outcome{ready: notReady("CinderRefused", "%s: %v", what, err), failed: true}
}

func (r *VolumeReconciler) event(v *storagev1.OpenStackVolume, typ, reason, action, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(v, nil, typ, reason, action, format, args...)
	}
}
