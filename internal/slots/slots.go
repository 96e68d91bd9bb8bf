// Package slots keeps the per-user Project limit exact. Counting Projects
// from a cache cannot: ten concurrent creates all see the same count, and
// every one is admitted. Instead each Project on a tier with a limit holds
// one slot, a Lease in the platform's namespace named after its owner, its
// tier and an index below the limit. Taking a slot is a create, which the
// API server does atomically: of fifty concurrent requests for the last
// slot exactly one succeeds, whichever webhook replica serves it.
//
// A slot is taken at admission, before the Project is stored, so it may
// outlive a request that failed later on (another admission check, a name
// that exists). A slot is therefore held only while its Project exists with
// the slot's UID, owner and tier, or, for a grace period after it was taken,
// while the request that took it may still be stored. A slot that is no
// longer held is reclaimed by whoever needs its index (a delete with a
// resourceVersion precondition, so only one reclaimer wins) and removed by
// the projects operator when the Project goes, is handed over or changes
// tier.
package slots

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// Labels and annotations of a slot Lease. The owner's name is hashed into
// the Lease name and the key label (user names may hold any character) and
// kept readable in an annotation.
const (
	// KeyLabel is the hash of (owner, tier): every slot of one count.
	KeyLabel = "tenancy.atrium.dev/slot-key"
	// ProjectUIDLabel is the UID of the Project that took the slot.
	ProjectUIDLabel = "tenancy.atrium.dev/slot-project-uid"
	// OwnerAnnotation, TierAnnotation and ProjectAnnotation say whose slot
	// it is, in plain text.
	OwnerAnnotation   = "tenancy.atrium.dev/owner"
	TierAnnotation    = "tenancy.atrium.dev/tier"
	ProjectAnnotation = "tenancy.atrium.dev/project"
	// GenerationAnnotation is the generation the Project has if the request
	// that took the slot is stored (the API server sets it before admission
	// validates).
	GenerationAnnotation = "tenancy.atrium.dev/generation"
)

// DefaultGrace is how long a slot whose Project is not (yet) stored stays
// held: longer than the API server's default request timeout (60s), so a
// slow create that is still on its way is never counted out.
const DefaultGrace = 2 * time.Minute

// Ledger takes and releases slots.
type Ledger struct {
	// Client writes Leases.
	Client client.Client
	// Reader reads Leases and Projects from the API server, not from a
	// cache: a slot or a Project stored a moment ago must be seen.
	Reader client.Reader
	// Namespace holds the slots: the platform's own, where no tenant reads.
	Namespace string
	// Grace is how long a slot stays held without its Project; zero means
	// DefaultGrace.
	Grace time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Holder is the Project a slot is taken for: its name, UID and the owner
// and tier it counts under.
type Holder struct {
	Project    string
	UID        types.UID
	Generation int64
	Owner      string
	Tier       string
}

// HolderOf is the Holder for a Project as it is.
func HolderOf(p *tenancyv1.Project) Holder {
	return Holder{Project: p.Name, UID: p.UID, Generation: p.Generation, Owner: p.Spec.Owner, Tier: p.Spec.Tier}
}

// Key is the hash naming one (owner, tier) count.
func Key(owner, tier string) string {
	sum := sha256.Sum256([]byte(owner + "\x00" + tier))
	return hex.EncodeToString(sum[:16])
}

// Name is the Lease name of slot i of a count.
func Name(key string, i int) string {
	return "project-slot-" + key + "-" + strconv.Itoa(i)
}

// Outcome is what Take did.
type Outcome struct {
	// Taken is true when the Project holds a slot of its count now (a new
	// one, or one it held already).
	Taken bool
	// Held is the number of slots of the count held by other Projects.
	Held int
}

// maxAttempts bounds how often Take starts over after losing a race for a
// slot; every loss means another request took one, so a request at the
// limit is refused well within this.
const maxAttempts = 20

// Take gives h a slot of its (owner, tier) count if fewer than limit are
// held, or reports that the count is full. With unlimited set (a platform
// admin's request, or the operator counting a Project that exists), a slot
// is taken whatever the count, so the Project still counts. dryRun decides
// without writing.
//
// The count is every slot held, whatever its index, so lowering a tier's
// limit or an admin's Project beyond it is counted too. Exactness under
// concurrency comes from the index: each request takes the lowest index
// not held in the list it read, so requests that read the same list race
// for the same Lease name and only one create succeeds; a request that read
// a later list sees the winner in its count. The loser reads again.
func (l *Ledger) Take(ctx context.Context, h Holder, limit int, unlimited, dryRun bool) (Outcome, error) {
	key := Key(h.Owner, h.Tier)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		var list coordinationv1.LeaseList
		if err := l.Reader.List(ctx, &list, client.InNamespace(l.Namespace), client.MatchingLabels{KeyLabel: key}); err != nil {
			return Outcome{}, fmt.Errorf("listing Project slots: %w", err)
		}
		heldIdx := map[int]bool{}
		stale := map[int]*coordinationv1.Lease{}
		for i := range list.Items {
			s := &list.Items[i]
			if h.UID != "" && s.Labels[ProjectUIDLabel] == string(h.UID) {
				return Outcome{Taken: true}, nil // this Project's own (a retried request)
			}
			idx, ok := index(s.Name, key)
			if !ok {
				continue
			}
			held, err := l.held(ctx, s)
			if err != nil {
				return Outcome{}, err
			}
			if held {
				heldIdx[idx] = true
			} else {
				stale[idx] = s
			}
		}
		if len(heldIdx) >= limit && !unlimited {
			return Outcome{Held: len(heldIdx)}, nil
		}
		if dryRun {
			return Outcome{Taken: true}, nil
		}
		free := 0
		for heldIdx[free] {
			free++
		}
		if s := stale[free]; s != nil {
			err := l.Client.Delete(ctx, s, client.Preconditions{UID: ptr.To(s.UID), ResourceVersion: ptr.To(s.ResourceVersion)})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return Outcome{}, fmt.Errorf("reclaiming Project slot %s: %w", s.Name, err)
			}
		}
		err := l.Client.Create(ctx, l.lease(Name(key, free), key, h))
		if err == nil {
			return Outcome{Taken: true}, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return Outcome{}, fmt.Errorf("taking Project slot %s: %w", Name(key, free), err)
		}
	}
	return Outcome{}, fmt.Errorf("too many concurrent requests for the Projects of %s on tier %s; try again", h.Owner, h.Tier)
}

// index parses the index out of a slot's name.
func index(name, key string) (int, bool) {
	prefix := Name(key, 0)
	prefix = prefix[:len(prefix)-1]
	if len(name) <= len(prefix) || name[:len(prefix)] != prefix {
		return 0, false
	}
	i, err := strconv.Atoi(name[len(prefix):])
	return i, err == nil && i >= 0
}

func (l *Ledger) lease(name, key string, h Holder) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: l.Namespace,
			Name:      name,
			Labels:    map[string]string{KeyLabel: key, ProjectUIDLabel: string(h.UID)},
			Annotations: map[string]string{
				OwnerAnnotation: h.Owner, TierAnnotation: h.Tier, ProjectAnnotation: h.Project,
				GenerationAnnotation: strconv.FormatInt(h.Generation, 10),
			},
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To(h.Project),
			AcquireTime:    &metav1.MicroTime{Time: l.now()},
		},
	}
}

// held reads the slot's Project from the API server and decides whether the
// slot still counts.
func (l *Ledger) held(ctx context.Context, s *coordinationv1.Lease) (bool, error) {
	p := &tenancyv1.Project{}
	err := l.Reader.Get(ctx, client.ObjectKey{Name: s.Annotations[ProjectAnnotation]}, p)
	switch {
	case apierrors.IsNotFound(err):
		p = nil
	case err != nil:
		// Unknown is not free: a failed read never frees a slot.
		return false, fmt.Errorf("reading Project %s of slot %s: %w", s.Annotations[ProjectAnnotation], s.Name, err)
	}
	return Held(s, p, l.grace(), l.now()), nil
}

// Held decides whether slot s still counts, given its Project as the API
// server has it now (nil when there is none of that name):
//   - the Project that took it exists, is not being deleted, and still has
//     the slot's owner and tier: held;
//   - that Project is being deleted: free (its namespace is going away; a
//     deleted Project never comes back);
//   - that Project has another owner or tier, and has reached the
//     generation the slot was taken for: free (an owner or tier it had
//     before; had the change that took the slot been stored, the Project
//     would have it, or have moved on since);
//   - another Project of that name exists and is not being deleted: free
//     (the request that took the slot found the name taken and failed);
//   - otherwise (no Project yet; a change of owner or tier not yet stored;
//     the name held by a Project on its way out) the request that took it
//     may still be stored: held until the grace period has passed.
func Held(s *coordinationv1.Lease, p *tenancyv1.Project, grace time.Duration, now time.Time) bool {
	if p != nil {
		deleting := !p.DeletionTimestamp.IsZero()
		sameUID := string(p.UID) == s.Labels[ProjectUIDLabel]
		switch {
		case sameUID && deleting:
			return false
		case sameUID && p.Spec.Owner == s.Annotations[OwnerAnnotation] && p.Spec.Tier == s.Annotations[TierAnnotation]:
			return true
		case sameUID:
			gen, err := strconv.ParseInt(s.Annotations[GenerationAnnotation], 10, 64)
			if err == nil && p.Generation >= gen {
				return false
			}
		case !deleting:
			return false
		}
	}
	taken := s.CreationTimestamp.Time
	if s.Spec.AcquireTime != nil && s.Spec.AcquireTime.After(taken) {
		taken = s.Spec.AcquireTime.Time
	}
	return now.Sub(taken) < grace
}

// Prune deletes those of a Project's slots (as the caller found them, from
// a cache) that no longer count: all of them when the Project is gone (p ==
// nil), otherwise those of an owner or tier the Project no longer has. It
// reports whether p holds a slot of its current owner and tier, and, when a
// slot of another owner or tier was kept because the change that took it
// may still be on its way, how soon to look again.
func (l *Ledger) Prune(ctx context.Context, slots []coordinationv1.Lease, p *tenancyv1.Project) (holdsCurrent bool, recheck time.Duration, err error) {
	now := l.now()
	for i := range slots {
		s := &slots[i]
		if p != nil && Held(s, p, l.grace(), now) {
			if s.Annotations[OwnerAnnotation] == p.Spec.Owner && s.Annotations[TierAnnotation] == p.Spec.Tier {
				holdsCurrent = true
			} else if recheck == 0 {
				recheck = l.grace()
			}
			continue
		}
		err := l.Client.Delete(ctx, s, client.Preconditions{UID: ptr.To(s.UID), ResourceVersion: ptr.To(s.ResourceVersion)})
		if client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
			return holdsCurrent, recheck, fmt.Errorf("releasing Project slot %s: %w", s.Name, err)
		}
	}
	return holdsCurrent, recheck, nil
}

func (l *Ledger) grace() time.Duration {
	if l.Grace > 0 {
		return l.Grace
	}
	return DefaultGrace
}

func (l *Ledger) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}
