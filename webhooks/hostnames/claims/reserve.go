package claims

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/hostname"
)

// Holder is the (cluster, namespace) that holds or asks for a hostname.
type Holder struct {
	Cluster   string
	Namespace string
	// Project is recorded on new claims for people reading them.
	Project string
}

func (h Holder) String() string {
	return fmt.Sprintf("namespace %s of cluster %s", h.Namespace, h.Cluster)
}

// HeldError says that another holder has the hostname.
type HeldError struct {
	Hostname string
	Holder   Holder
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("hostname %s is already in use by %s; choose another hostname, or ask its owners to release it", e.Hostname, e.Holder)
}

// UnavailableError says that the hub could not be asked.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("the fleet's hostname registry (hub) cannot be reached, so new hostnames cannot be reserved now; try again later (%v)", e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Reserver reserves hostnames for one member cluster.
type Reserver struct {
	// Hub talks to the hub's API server directly (no cache): it is the
	// authority and each write is the test-and-set.
	Hub client.Client
	// Index is a cache of this cluster's claims (selected by fleetv1.ClusterLabel);
	// a hostname the namespace already holds is admitted from it without a
	// round trip.
	Index client.Reader
	// Cluster is this member cluster's name.
	Cluster string
}

// Reserve makes sure that holder holds host and that src is recorded as one
// of its sources. With dryRun nothing is written: it only answers whether
// the reservation would succeed. It returns nil, a *HeldError, an
// *UnavailableError, or another error.
func (r *Reserver) Reserve(ctx context.Context, host hostname.Hostname, holder Holder, src fleetv1.SourceRef, dryRun bool) error {
	_, err := r.Take(ctx, host, holder, src, dryRun)
	return err
}

// undoTimeout bounds Undo, which runs after the request's own budget.
const undoTimeout = 2 * time.Second

// Undo deletes claims a refused admission created, unless another source
// has been recorded on them since: the object will not be stored, so they
// would only hold the hostname for the releaser's grace period. The delete
// names the resourceVersion it read (a source added at that moment wins);
// a status write in between (the releaser's Ready) only means reading
// again. Errors are left to the releaser, which removes a claim without a
// stored source after its grace period anyway.
func (r *Reserver) Undo(ctx context.Context, created []*fleetv1.HostnameClaim) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	for _, c := range created {
		_ = onConflict(func() error {
			live := &fleetv1.HostnameClaim{}
			err := hubCall("get", func() error { return r.Hub.Get(ctx, client.ObjectKeyFromObject(c), live) })
			if err != nil || live.UID != c.UID || !slices.Equal(live.Spec.Sources, c.Spec.Sources) {
				return client.IgnoreNotFound(err)
			}
			err = hubCall("delete", func() error {
				return r.Hub.Delete(ctx, live, client.Preconditions{UID: ptr.To(live.UID), ResourceVersion: ptr.To(live.ResourceVersion)})
			})
			return client.IgnoreNotFound(err)
		})
	}
}

// Take is Reserve, and also returns the claim when this call created it, so
// that an admission refused later can Undo it.
func (r *Reserver) Take(ctx context.Context, host hostname.Hostname, holder Holder, src fleetv1.SourceRef, dryRun bool) (created *fleetv1.HostnameClaim, err error) {
	holder.Cluster = r.Cluster
	src.ReservedAt = metav1.Now()
	name := hostname.ClaimName(host)

	// The common case: an object that already uses its hostname is updated.
	cached := &fleetv1.HostnameClaim{}
	if err := r.Index.Get(ctx, client.ObjectKey{Name: name}, cached); err == nil &&
		heldBy(cached, holder) && (dryRun || hasSource(cached, src)) {
		return nil, nil
	}

	if dryRun {
		live := &fleetv1.HostnameClaim{}
		err := hubCall("get", func() error { return r.Hub.Get(ctx, client.ObjectKey{Name: name}, live) })
		switch {
		case apierrors.IsNotFound(err):
			return nil, r.checkOverlap(ctx, host, holder, true)
		case err != nil:
			return nil, unavailable(err)
		case heldBy(live, holder):
			return nil, nil
		default:
			return nil, &HeldError{Hostname: host.Name, Holder: holderOf(live)}
		}
	}

	labels := overlapLabels(host)
	labels[fleetv1.ClusterLabel], labels[fleetv1.NamespaceLabel] = holder.Cluster, holder.Namespace
	claim := &fleetv1.HostnameClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: fleetv1.HostnameClaimSpec{
			Hostname:  host.Name,
			Cluster:   holder.Cluster,
			Namespace: holder.Namespace,
			Project:   holder.Project,
			Sources:   []fleetv1.SourceRef{src},
		},
	}
	err = hubCall("create", func() error { return r.Hub.Create(ctx, claim) })
	switch {
	case err == nil:
		if err := r.checkOverlap(ctx, host, holder, false); err != nil {
			r.withdraw(ctx, claim)
			return nil, err
		}
		if host.Wildcard {
			if err := r.confirm(ctx, claim); err != nil {
				r.withdraw(ctx, claim)
				return nil, err
			}
		}
		return claim, nil
	case !apierrors.IsAlreadyExists(err):
		return nil, unavailable(err)
	}
	// Somebody holds it: this namespace (add the source) or another one.
	return nil, r.addSource(ctx, name, host, holder, src)
}

// addSource records src on the existing claim if holder holds it.
func (r *Reserver) addSource(ctx context.Context, name string, host hostname.Hostname, holder Holder, src fleetv1.SourceRef) error {
	err := onConflict(func() error {
		live := &fleetv1.HostnameClaim{}
		err := hubCall("get", func() error { return r.Hub.Get(ctx, client.ObjectKey{Name: name}, live) })
		if err != nil {
			return err
		}
		if !heldBy(live, holder) {
			return &HeldError{Hostname: host.Name, Holder: holderOf(live)}
		}
		if hasSource(live, src) {
			return nil
		}
		live.Spec.Sources = withSource(live.Spec.Sources, src)
		err = hubCall("update", func() error { return r.Hub.Update(ctx, live) })
		return err
	})
	var held *HeldError
	switch {
	case err == nil, errors.As(err, &held):
		return err
	case apierrors.IsNotFound(err):
		// Released between our create and our read: try once more.
		_, err := r.Take(ctx, host, holder, src, false)
		return err
	default:
		return unavailable(err)
	}
}

// onConflict runs fn again, a few times, while it fails with a conflict,
// and returns its last error. It stands in for client-go's
// retry.RetryOnConflict, which returns nil when fn fails with the
// context's error before any conflict (wait.Interrupted counts a
// context's end as its own timeout): a hub that timed out while the
// holder was being read would have passed for a hostname held.
func onConflict(fn func() error) error {
	var err error
	for attempt := range conflictRetries {
		if attempt > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		if err = fn(); !apierrors.IsConflict(err) {
			return err
		}
	}
	return err
}

// conflictRetries is how often onConflict tries.
const conflictRetries = 5

func unavailable(err error) error {
	if err == nil {
		return nil
	}
	return &UnavailableError{Err: err}
}

// heldBy reports whether a claim belongs to the holder's cluster and namespace.
func heldBy(c *fleetv1.HostnameClaim, h Holder) bool { return c.HeldBy(h.Cluster, h.Namespace) }

func holderOf(c *fleetv1.HostnameClaim) Holder {
	return Holder{Cluster: c.Spec.Cluster, Namespace: c.Spec.Namespace, Project: c.Spec.Project}
}

// sameSource compares sources by kind and name; a UID, once known, must match.
func sameSource(a, b fleetv1.SourceRef) bool {
	return a.Group == b.Group && a.Kind == b.Kind && a.Name == b.Name &&
		(a.UID == "" || b.UID == "" || a.UID == b.UID)
}

// hasSource reports whether the claim records src with its UID (a source
// recorded before its UID was known is recorded again with it).
func hasSource(c *fleetv1.HostnameClaim, src fleetv1.SourceRef) bool {
	return slices.ContainsFunc(c.Spec.Sources, func(s fleetv1.SourceRef) bool {
		return s.Group == src.Group && s.Kind == src.Kind && s.Name == src.Name && s.UID == src.UID
	})
}

// withSource adds or refreshes src in a source list.
func withSource(list []fleetv1.SourceRef, src fleetv1.SourceRef) []fleetv1.SourceRef {
	out := slices.DeleteFunc(slices.Clone(list), func(s fleetv1.SourceRef) bool { return sameSource(s, src) })
	return append(out, src)
}
