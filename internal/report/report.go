package report

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/skew"
	"github.com/atrium-dev/atrium/internal/version"
)

// DefaultInterval is how often a component reports (--report-interval).
// The hub's default stale time (operators/fleet --stale-after, 2 minutes)
// is four missed reports.
const DefaultInterval = 30 * time.Second

// MaxMessage bounds an entry's message, as the CRD does.
const MaxMessage = 1024

// Options say what a component reports, and how often.
type Options struct {
	// Component is the one reporting: its Folder names its entry, its
	// Deployment its field manager at the hub (FieldOwner).
	Component components.Component
	// Cluster is this member's name: the MemberCluster written.
	Cluster string
	// Version and Revision are the component's build. BuildInfo fills
	// them for now; internal/version will (one line in Wire).
	Version, Revision string
	// Interval between two reports (DefaultInterval when zero).
	Interval time.Duration
	// Leader says the component reports from its leader only (operators);
	// components without leader election (webhooks, the API server) report
	// from every replica, the last writer winning.
	Leader bool
	// Ready is the component's health: nil when ready, else why not
	// (Probe asks the component's own /readyz).
	Ready func(context.Context) error
	// Notes go into the entry's message whether ready or not: the CRDs
	// newer than the binary (skew.Inspect).
	Notes []string
	// HubNeeds are the hub's CRDs the component works with there, beside
	// the MemberCluster CRD it reports to (the hostnames webhook's
	// HostnameClaim and DomainPolicy). Each report checks them again: while
	// the hub serves one older than the binary needs, the entry says so
	// and is not ready, until the hub's CRDs are upgraded.
	HubNeeds []skew.Need
}

// FieldOwner is the component's field manager on its MemberCluster: the
// name of its Deployment (atrium-projects, atrium-dns, …).
func FieldOwner(c components.Component) client.FieldOwner { return client.FieldOwner(c.Deployment) }

// Reporter applies the component's entry to status.components of the
// MemberCluster named after its cluster, at the hub, every Interval; a
// manager Runnable.
type Reporter struct {
	Options
	// Hub is a direct client of the hub with the component's identity and
	// a short timeout (see hub.Connect).
	Hub   client.Client
	Clock clock.PassiveClock
	// MinBackoff is the first wait after a failed report; it doubles up to
	// Interval (a second when zero).
	MinBackoff time.Duration

	schemaOK bool
	// hubSkew and hubNotes are the last check of HubNeeds: an older CRD
	// (not ready) and newer ones (said only).
	hubSkew  error
	hubNotes []string
	// releaseSkew is the last verdict on this release against the hub's
	// (skew.Release), from the MemberCluster the last report returned.
	releaseSkew error
}

// NeedLeaderElection runs an operator's reporter on its leader only.
func (r *Reporter) NeedLeaderElection() bool { return r.Leader }

// Start reports until ctx ends. A failure is logged and retried sooner,
// with backoff, and never ends the component: its own work goes on with
// the hub down.
func (r *Reporter) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("report").WithValues("component", r.Component.Folder, "memberCluster", r.Cluster)
	interval := r.interval()
	backoff := time.Duration(0)
	for {
		wait := interval
		if err := r.Report(ctx); err != nil {
			if backoff == 0 {
				backoff = r.MinBackoff
				if backoff <= 0 {
					backoff = time.Second
				}
				backoff = min(backoff, interval)
			} else {
				backoff = min(2*backoff, interval)
			}
			wait = backoff
			log.Error(err, "reporting to the hub failed; the component works on and retries", "retryIn", wait)
		} else {
			if backoff != 0 {
				log.Info("reporting to the hub again")
			}
			backoff = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

func (r *Reporter) interval() time.Duration {
	if r.Interval > 0 {
		return r.Interval
	}
	return DefaultInterval
}

// ErrNotRegistered is a report to a MemberCluster that does not exist.
var ErrNotRegistered = errors.New("not registered at the hub")

// Report applies the component's entry once: the hub's MemberCluster CRD
// is checked first (until it passes), so a report never writes fields an
// older hub does not serve.
func (r *Reporter) Report(ctx context.Context) error {
	if !r.schemaOK {
		if err := skew.Check(ctx, r.Hub, r.Component.Folder, skew.MemberClusters); err != nil {
			return fmt.Errorf("the hub: %w", err)
		}
		r.schemaOK = true
	}
	r.hubSkew, r.hubNotes = nil, nil
	if len(r.HubNeeds) > 0 {
		// A CRD the hub does not answer for counts as not checked, which
		// the entry says too; the next report asks again.
		newer, err := skew.Inspect(ctx, r.Hub, r.Component.Folder, r.HubNeeds...)
		r.hubNotes = prefixed("the hub: ", newer)
		if err != nil {
			r.hubSkew = fmt.Errorf("the hub: %w", err)
		}
	}
	e := r.Entry(ctx)
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(fleetv1.GroupVersion.WithKind("MemberCluster"))
	u.SetName(r.Cluster)
	entry := map[string]any{"name": e.Name, "version": e.Version, "ready": e.Ready, "lastSeen": e.LastSeen.UTC().Format(time.RFC3339)}
	if e.Revision != "" {
		entry["revision"] = e.Revision
	}
	if e.Message != "" {
		entry["message"] = e.Message
	}
	u.Object["status"] = map[string]any{"components": []any{entry}}
	err := r.Hub.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), FieldOwner(r.Component), client.ForceOwnership)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("MemberCluster %s %w: the hub's admin registers each member (docs/fleet-status.md)", r.Cluster, ErrNotRegistered)
	}
	if err != nil {
		return err
	}
	// The answer is the MemberCluster as stored, with the release the
	// hub's fleet operator wrote: compare this component's with it. When
	// the verdict changes, the entry just written says the old one, so
	// report again at once (the second answer names the same release).
	hubVersion, _, _ := unstructured.NestedString(u.Object, "status", "hubVersion")
	was := r.releaseSkew
	r.releaseSkew = skew.Release(r.Component.Folder, r.Version, hubVersion)
	if (was == nil) != (r.releaseSkew == nil) {
		if r.releaseSkew != nil {
			ctrl.LoggerFrom(ctx).Error(r.releaseSkew, "this component's release is outside the hub's window; it works on, reported not ready", "component", r.Component.Folder)
		}
		return r.Report(ctx)
	}
	return nil
}

// Entry is the component's entry as of now.
func (r *Reporter) Entry(ctx context.Context) fleetv1.ComponentVersion {
	c := r.Clock
	if c == nil {
		c = clock.RealClock{}
	}
	e := fleetv1.ComponentVersion{
		Name: r.Component.Folder, Version: r.Version, Revision: r.Revision, Ready: true,
		LastSeen: metav1.NewTime(c.Now()),
	}
	if e.Version == "" {
		e.Version = "unknown"
	}
	var msgs []string
	if r.Ready != nil {
		if err := r.Ready(ctx); err != nil {
			e.Ready = false
			msgs = append(msgs, err.Error())
		}
	}
	for _, err := range []error{r.hubSkew, r.releaseSkew} {
		if err != nil {
			e.Ready = false
			msgs = append(msgs, err.Error())
		}
	}
	e.Message = strings.Join(append(append(msgs, r.Notes...), r.hubNotes...), "; ")
	if len(e.Message) > MaxMessage {
		e.Message = e.Message[:MaxMessage-3] + "..."
	}
	return e
}

// BuildInfo is the binary's version and revision as internal/version
// has them (stamped by make build and make images, else what the Go
// toolchain recorded): the revision shortened to 12 hex digits as
// --version prints it, empty when nobody recorded it.
func BuildInfo() (string, string) {
	i := version.Get()
	rev := i.Revision
	switch {
	case rev == version.Unknown:
		rev = ""
	case len(rev) == 40:
		rev = rev[:12]
	}
	return i.Version, rev
}

func prefixed(p string, l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = p + s
	}
	return out
}
