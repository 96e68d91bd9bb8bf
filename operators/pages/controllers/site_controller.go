package controllers

import (
	"context"
	"errors"
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
	"sigs.k8s.io/controller-runtime/pkg/event"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	"github.com/atrium-dev/atrium/internal/finalizers"
	"github.com/atrium-dev/atrium/operators/pages/gitlab"
)

// maintainer is GitLab's Maintainer access level; Owner (50) is above it.
const maintainer = 40

// SiteReconciler publishes GitLabPagesSites.
type SiteReconciler struct {
	// Client reads sites, Projects, namespaces, Ingresses and Services
	// from the cache and writes them.
	Client client.Client
	// Secrets reads from the API server itself: a site's certificate
	// Secret by name (the operator may get Secrets, never list or watch
	// them), a Service or Ingress before it is updated (the cache holds
	// only what drift is judged by, see TrimRoute), and the shared
	// Service and its owners when a site hands it over (handOver).
	Secrets client.Reader
	State   *State
	// Identities maps Project owners to GitLab users.
	Identities Identities
	Front      Front
	Recorder   events.EventRecorder
	// Resync is how often a site is checked against GitLab without an
	// event (with some jitter, so sites spread out).
	Resync time.Duration
	// VerifyAfter is the first wait before asking GitLab to verify a new
	// domain (the DNS operator needs a moment to publish its record); the
	// waits double up to MaxBackoff.
	VerifyAfter time.Duration
	// MinBackoff and MaxBackoff bound the wait after GitLab fails.
	MinBackoff, MaxBackoff time.Duration

	mu       sync.Mutex
	failures map[types.UID]int
	verifies map[types.UID]verifying
	// waiting are the sites waiting for the instance's domain list
	// (ErrListing); wake sends them to the queue once it is read.
	waiting map[types.NamespacedName]bool
	wake    chan event.TypedGenericEvent[*pagesv1.GitLabPagesSite]
	// stopped is closed when the manager stops: a wake-up still on its
	// way then gives up rather than wait for ever on a queue no one reads.
	stopped chan struct{}
	// waking counts the goroutines sending wake-ups.
	waking sync.WaitGroup
}

// listWait is when a site waiting for the instance's domain list comes
// back if it is not woken first (the site reading it went away).
const listWait = 30 * time.Second

// +kubebuilder:rbac:groups=pages.atrium.dev,resources=gitlabpagessites,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=pages.atrium.dev,resources=gitlabpagessites/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=pages.atrium.dev,resources=gitlabpagessites/finalizers,verbs=update
// +kubebuilder:rbac:groups=tenancy.atrium.dev,resources=projects,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// outcome is how a reconcile ends: the conditions it sets and when to
// come back.
type outcome struct {
	ready  metav1.Condition
	after  time.Duration
	failed bool
	// busy says another site is reading from GitLab what this one needs:
	// nothing is written, and the site comes back shortly.
	busy bool
	// held says the client's gate kept a call back (the pacing, or the
	// wait after a 429): nothing is written, no failure is counted, and
	// the site comes back at its turn (after).
	held bool
	// listing says another site is reading the instance's domain list a
	// page at GitLab's pace: nothing is written, and the site is woken
	// when the list is whole rather than asking again page after page.
	listing bool
}

func (r *SiteReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	site := &pagesv1.GitLabPagesSite{}
	if err := r.Client.Get(ctx, req.NamespacedName, site); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := site.Status.DeepCopy()
	// GitLab calls for this site keep their turn when the pacing keeps
	// them back.
	ctx = gitlab.For(ctx, string(site.UID))
	var o outcome
	if !site.DeletionTimestamp.IsZero() {
		if !controllerutil.ContainsFinalizer(site, pagesv1.Finalizer) {
			return ctrl.Result{}, nil
		}
		var done bool
		if done, o = r.finalize(ctx, site); done {
			orig := site.DeepCopy()
			controllerutil.RemoveFinalizer(site, pagesv1.Finalizer)
			r.forget(site.UID)
			return ctrl.Result{}, client.IgnoreNotFound(finalizers.Patch(ctx, r.Client, site, orig))
		}
	} else {
		orig := site.DeepCopy()
		if controllerutil.AddFinalizer(site, pagesv1.Finalizer) {
			if err := finalizers.Patch(ctx, r.Client, site, orig); err != nil {
				return ctrl.Result{}, err
			}
		}
		o = r.publish(ctx, site)
	}
	o.ready.Type, o.ready.ObservedGeneration = pagesv1.ConditionReady, site.Generation
	meta.SetStatusCondition(&site.Status.Conditions, o.ready)
	site.Status.ObservedGeneration = site.Generation
	if o.held {
		return ctrl.Result{RequeueAfter: jitter(max(o.after, 10*time.Millisecond))}, nil
	}
	if o.listing {
		return ctrl.Result{RequeueAfter: r.await(req.NamespacedName)}, nil
	}
	if o.busy {
		// Another site is reading what this one needs from GitLab: come
		// back when it has, leaving the worker to sites of other projects.
		return ctrl.Result{RequeueAfter: jitter(50 * time.Millisecond)}, nil
	}
	if !equality.Semantic.DeepEqual(before, &site.Status) {
		if err := r.Client.Status().Update(ctx, site); apierrors.IsConflict(err) {
			// The cache had an older site: look again once it has caught
			// up, without counting it as a failure.
			return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
		} else if err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	return ctrl.Result{RequeueAfter: r.next(site.UID, o)}, nil
}

// next is when to look at the site again: after a failure, a backoff
// with jitter that grows with each failure in a row; otherwise when the
// outcome asks, or at the resync.
func (r *SiteReconciler) next(uid types.UID, o outcome) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures == nil {
		r.failures = map[types.UID]int{}
	}
	if !o.failed {
		delete(r.failures, uid)
		if o.after > 0 {
			return o.after
		}
		return jitter(r.Resync)
	}
	n := r.failures[uid]
	r.failures[uid] = n + 1
	d := min(r.MinBackoff<<min(n, 20), r.MaxBackoff)
	return max(jitter(d), o.after)
}

// await records a site waiting for the instance's domain list, and says
// when it comes back unless woken: at once if the list was read in the
// meantime (its wake-up may have gone before the site was recorded).
func (r *SiteReconciler) await(site types.NamespacedName) time.Duration {
	r.mu.Lock()
	if r.waiting == nil {
		r.waiting = map[types.NamespacedName]bool{}
	}
	r.waiting[site] = true
	r.mu.Unlock()
	if r.State.Listed() {
		return 10 * time.Millisecond
	}
	return jitter(listWait)
}

// wakeWaiting sends every site waiting for the instance's domain list to
// the queue; it is the State's onListed, called by the site that read the
// list's last page, so the sending is left to a goroutine.
func (r *SiteReconciler) wakeWaiting() {
	r.mu.Lock()
	sites := r.waiting
	r.waiting = nil
	r.mu.Unlock()
	if len(sites) == 0 || r.wake == nil {
		return
	}
	r.waking.Go(func() {
		for s := range sites {
			site := &pagesv1.GitLabPagesSite{}
			site.Namespace, site.Name = s.Namespace, s.Name
			select {
			case r.wake <- event.TypedGenericEvent[*pagesv1.GitLabPagesSite]{Object: site}:
			case <-r.stopped:
				return // the next leader reconciles every site anyway
			}
		}
	})
}

func (r *SiteReconciler) forget(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.failures, uid)
	delete(r.verifies, uid)
}

// jitter spreads d over [d, 1.25d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}

func ready(status metav1.ConditionStatus, reason, format string, args ...any) metav1.Condition {
	return metav1.Condition{Status: status, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// gitLabFailed is the outcome of a failed GitLab call: transient ones are
// retried, others wait for a change or the resync.
func gitLabFailed(what string, err error) outcome {
	if errors.Is(err, ErrBusy) {
		return outcome{busy: true}
	}
	if errors.Is(err, ErrListing) {
		return outcome{listing: true}
	}
	if gitlab.Gated(err) {
		after, _ := gitlab.Transient(err)
		return outcome{held: true, after: after}
	}
	if after, ok := gitlab.Transient(err); ok {
		reason := "GitLabUnavailable"
		if gitlab.ReasonOf(err) == gitlab.RateLimited {
			reason = "GitLabRateLimited"
		}
		return outcome{ready: ready(metav1.ConditionFalse, reason, "%s: %v; retrying with backoff", what, err), after: after, failed: true}
	}
	return outcome{ready: ready(metav1.ConditionFalse, "GitLabError", "%s: %v", what, err), failed: true}
}

func (r *SiteReconciler) setCondition(site *pagesv1.GitLabPagesSite, typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&site.Status.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: site.Generation})
}

func (r *SiteReconciler) event(site *pagesv1.GitLabPagesSite, typ, reason, action, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(site, nil, typ, reason, action, format, args...)
	}
}
