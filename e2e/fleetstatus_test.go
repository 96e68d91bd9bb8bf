package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// TestEveryComponentReportsToItsMemberCluster: on the e2e fleet, each
// member's MemberCluster at the hub lists every component of the member,
// each of this build (the version and revision the toolchain stamped, as
// in this test's own binary) and ready, and the hub's fleet operator says the member is
// Ready and not Stale: what `kubectl get memberclusters` shows.
func TestEveryComponentReportsToItsMemberCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx := context.Background()
	// The components were built stamped with the suite's version and
	// revision; the hub shows the revision's first 12 characters.
	wantVersion, wantRevision := suiteVersion, suiteRevision[:12]
	for _, member := range []string{memberName, pdnsMemberName} {
		t.Run(member, func(t *testing.T) {
			want := fmt.Sprintf("%d components, %d ready", len(components.All), len(components.All))
			err := testenv.Eventually(ctx, 3*time.Minute, func() error {
				mc, err := memberReports(ctx, member, wantVersion, wantRevision)
				if err != nil {
					return err
				}
				ready := meta.FindStatusCondition(mc.Status.Conditions, fleetv1.MemberReady)
				stale := meta.FindStatusCondition(mc.Status.Conditions, fleetv1.MemberStale)
				if ready == nil || ready.Status != metav1.ConditionTrue || stale == nil || stale.Status != metav1.ConditionFalse || mc.Status.Summary != want {
					return fmt.Errorf("the hub says Ready %+v, Stale %+v, summary %q", ready, stale, mc.Status.Summary)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// memberReports reads member's MemberCluster at the hub and checks that
// every member component has an entry there, ready, reporting version
// (and revision, unless empty); it returns the MemberCluster for the
// caller's further checks.
func memberReports(ctx context.Context, member, version, revision string) (*fleetv1.MemberCluster, error) {
	mc := &fleetv1.MemberCluster{}
	if err := f.hub.Client.Get(ctx, client.ObjectKey{Name: member}, mc); err != nil {
		return nil, err
	}
	seen := map[string]fleetv1.ComponentVersion{}
	for _, c := range mc.Status.Components {
		seen[c.Name] = c
	}
	for _, comp := range components.All {
		e, ok := seen[comp.Folder]
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: no entry for %s: %+v", member, comp.Folder, mc.Status.Components)
		case !e.Ready:
			return nil, fmt.Errorf("%s: %s not ready: %s", member, comp.Folder, e.Message)
		case e.Version != version || (revision != "" && e.Revision != revision):
			return nil, fmt.Errorf("%s: %s reports version %q revision %q, want %q %q", member, comp.Folder, e.Version, e.Revision, version, revision)
		}
	}
	return mc, nil
}
