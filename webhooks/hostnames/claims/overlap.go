package claims

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/hostname"
)

// Overlap. A wildcard "*.p" and a name under p ("www.p", "a.b.p") are
// different claims, yet the wildcard would serve the name, so they must
// have one holder. Creating a claim is atomic, but a wildcard and a name
// are two objects; so each admission creates its claim first and then
// looks for the other kind, and a wildcard's claim starts tentative:
//
//   - a name (or a wildcard, as a name under wider ones) reads the claims of
//     the wildcards over it, one Get each. A confirmed one of another
//     holder refuses it. A tentative one is waited for: it is confirmed
//     (refused) or withdrawn (go on).
//   - a wildcard then lists every claim under it (one label per domain a
//     claim lies under) and withdraws if another holder has one, tentative
//     wildcards included; otherwise it drops its tentative label.
//
// Whoever is second to create sees the first: a name created before the
// wildcard's list is in the list (the wildcard withdraws); a name created
// after it finds the tentative wildcard and waits for it to be confirmed.
// So of a wildcard and a name racing from two clusters exactly one wins.
// Waits run towards shorter names only, so they cannot form a cycle.

// tentativeFor bounds a tentative wildcard: longer than any admission
// takes, so one older than this was left by an admission that died, and
// blocks nothing.
const tentativeFor = 10 * time.Second

// pollEvery is how often a name waiting for a tentative wildcard looks again.
const pollEvery = 20 * time.Millisecond

// OverlapError says that a wildcard and a name under it would have
// different holders.
type OverlapError struct {
	Hostname string
	Other    string
	Holder   Holder
}

func (e *OverlapError) Error() string {
	return fmt.Sprintf("hostname %s overlaps %s, which %s holds: a wildcard and the names under it have one holder; choose another hostname",
		e.Hostname, e.Other, e.Holder)
}

// covering are the domains whose wildcard would cover h, widest last:
// every proper suffix of h with at least two labels ("b.c" and "c.d" are
// not both: "a.b.c.d" gives "b.c.d" and "c.d").
func covering(h hostname.Hostname) []string {
	labels := strings.Split(strings.TrimPrefix(h.Name, "*."), ".")
	var out []string
	from := 1
	if h.Wildcard {
		from = 0 // "*.p" lies under p itself
	}
	for i := from; i <= len(labels)-2; i++ {
		out = append(out, strings.Join(labels[i:], "."))
	}
	return out
}

// underLabel is the label key of one covering domain.
func underLabel(domain string) string {
	sum := sha256.Sum256([]byte(domain))
	return fleetv1.UnderLabelPrefix + hex.EncodeToString(sum[:16])
}

// overlapLabels are the labels a new claim for h carries.
func overlapLabels(h hostname.Hostname) map[string]string {
	out := map[string]string{}
	for _, d := range covering(h) {
		out[underLabel(d)] = ""
	}
	if h.Wildcard {
		out[fleetv1.TentativeLabel] = "true"
	}
	return out
}

// missingOverlapLabels reports whether a claim lacks a label of the
// domains its hostname lies under (a claim made before overlaps were
// checked).
func missingOverlapLabels(c *fleetv1.HostnameClaim, h hostname.Hostname) bool {
	for _, d := range covering(h) {
		if _, ok := c.Labels[underLabel(d)]; !ok {
			return true
		}
	}
	return false
}

// checkOverlap runs the protocol above for a claim this admission just
// created (or, with dryRun, would create): nil when h may be held, an
// *OverlapError, or an *UnavailableError.
//
// The reads are independent (each of one wildcard's claim, or of the
// claims under h), so they go to the hub at once rather than one after
// the other: each is a hub round trip, most of an admission's time. The
// first to fail decides, and the others are cancelled; any of them
// failing refuses h, as when they ran in turn.
func (r *Reserver) checkOverlap(ctx context.Context, h hostname.Hostname, holder Holder, dryRun bool) error {
	self := hostname.ClaimName(h)
	var checks []func(context.Context) error
	for _, d := range covering(h) {
		w := hostname.Hostname{Name: "*." + d, Wildcard: true}
		if hostname.ClaimName(w) == self {
			continue
		}
		checks = append(checks, func(ctx context.Context) error { return r.waitForWildcard(ctx, h, w, holder, dryRun) })
	}
	if h.Wildcard {
		checks = append(checks, func(ctx context.Context) error { return r.checkUnder(ctx, h, self, holder) })
	}
	if len(checks) == 1 {
		return checks[0](ctx)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, check := range checks {
		g.Go(func() error { return check(gctx) })
	}
	return g.Wait()
}

// checkUnder refuses wildcard h when another holder has a claim under it.
func (r *Reserver) checkUnder(ctx context.Context, h hostname.Hostname, self string, holder Holder) error {
	base := strings.TrimPrefix(h.Name, "*.")
	list := &fleetv1.HostnameClaimList{}
	err := hubCall("list", func() error { return r.Hub.List(ctx, list, client.HasLabels{underLabel(base)}) })
	if err != nil {
		return unavailable(err)
	}
	for _, c := range list.Items {
		if c.Name != self && !heldBy(&c, holder) && c.DeletionTimestamp.IsZero() {
			return &OverlapError{Hostname: h.Name, Other: c.Spec.Hostname, Holder: holderOf(&c)}
		}
	}
	return nil
}

// waitForWildcard reads the claim of wildcard w over h: no claim, or one of
// this holder, is fine; a confirmed one of another holder refuses h; a
// tentative one is waited for until it is confirmed, withdrawn or
// abandoned. A dry run does not wait: any such claim refuses it.
func (r *Reserver) waitForWildcard(ctx context.Context, h, w hostname.Hostname, holder Holder, dryRun bool) error {
	for {
		c := &fleetv1.HostnameClaim{}
		err := hubCall("get", func() error { return r.Hub.Get(ctx, client.ObjectKey{Name: hostname.ClaimName(w)}, c) })
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return unavailable(err)
		case heldBy(c, holder) || !c.DeletionTimestamp.IsZero():
			return nil
		case !c.Tentative() || dryRun:
			return &OverlapError{Hostname: h.Name, Other: w.Name, Holder: holderOf(c)}
		case time.Since(c.CreationTimestamp.Time) > tentativeFor:
			return nil // left by an admission that died
		}
		select {
		case <-ctx.Done():
			return unavailable(ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// confirm drops the tentative label of a wildcard's claim this admission
// created, unless it has taken too long (then another admission may have
// taken it for abandoned, and it withdraws).
func (r *Reserver) confirm(ctx context.Context, c *fleetv1.HostnameClaim) error {
	if time.Since(c.CreationTimestamp.Time) > tentativeFor-time.Second {
		return unavailable(fmt.Errorf("checking wildcard %s for overlaps took too long", c.Spec.Hostname))
	}
	err := onConflict(func() error {
		delete(c.Labels, fleetv1.TentativeLabel)
		err := hubCall("update", func() error { return r.Hub.Update(ctx, c) })
		if apierrors.IsConflict(err) {
			if gerr := r.Hub.Get(ctx, client.ObjectKeyFromObject(c), c); gerr != nil {
				return gerr
			}
		}
		return err
	})
	return unavailable(err)
}

// withdraw deletes a claim this admission created and found it may not
// hold.
func (r *Reserver) withdraw(ctx context.Context, c *fleetv1.HostnameClaim) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	_ = hubCall("delete", func() error { return r.Hub.Delete(ctx, c, client.Preconditions{UID: ptr.To(c.UID)}) })
}
