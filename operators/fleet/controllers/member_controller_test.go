package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/report"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/fleet/controllers"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.MainWithEnv(m, &env, testenv.Options{NoControllerManager: true})
}

func condition(t *testing.T, name, typ string) (*metav1.Condition, string) {
	t.Helper()
	mc := &fleetv1.MemberCluster{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, mc); err != nil {
		t.Fatal(err)
	}
	return meta.FindStatusCondition(mc.Status.Conditions, typ), mc.Status.Summary
}

// TestSilentComponentTurnsStale: a member whose component reports is
// Ready; once it stops reporting it turns Stale after the stale time
// without any event at the hub, and Ready again when it reports.
func TestSilentComponentTurnsStale(t *testing.T) {
	if testing.Short() {
		t.Skip("envtest")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: manager.Scheme(), Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	// A short stale time for the test; the shipped one is 2m.
	if err := (&controllers.MemberReconciler{Client: mgr.GetClient(), StaleAfter: 3 * time.Second, HubVersion: "v1.4.0"}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	go func() { _ = mgr.Start(ctx) }()

	if err := env.Client.Create(ctx, &fleetv1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Name: "quiet"}}); err != nil {
		t.Fatal(err)
	}
	r, err := report.New(report.Options{Component: components.Volumes, Cluster: "quiet", Version: "v1"}, env.Config, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wait := func(what string, check func() error) {
		t.Helper()
		if err := testenv.Eventually(ctx, 30*time.Second, check); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	status := func(typ string, want metav1.ConditionStatus, summary string) func() error {
		return func() error {
			c, s := condition(t, "quiet", typ)
			if c == nil || c.Status != want || s != summary {
				return fmt.Errorf("%s %+v, summary %q", typ, c, s)
			}
			return nil
		}
	}
	wait("no reports yet", status(fleetv1.MemberReady, metav1.ConditionFalse, "0 components, 0 ready"))
	wait("the hub's release written", func() error {
		mc := &fleetv1.MemberCluster{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "quiet"}, mc); err != nil {
			return err
		}
		if mc.Status.HubVersion != "v1.4.0" {
			return fmt.Errorf("hubVersion %q", mc.Status.HubVersion)
		}
		return nil
	})
	if err := r.Report(ctx); err != nil {
		t.Fatal(err)
	}
	wait("Ready once reported", status(fleetv1.MemberReady, metav1.ConditionTrue, "1 components, 1 ready"))
	// Silence: only the controller's own requeue can notice.
	wait("Stale once silent", status(fleetv1.MemberStale, metav1.ConditionTrue, "1 components, 0 ready, 1 stale"))
	if c, _ := condition(t, "quiet", fleetv1.MemberReady); c.Status != metav1.ConditionFalse || c.Reason != fleetv1.ReasonComponentStale {
		t.Fatalf("Ready %+v while stale", c)
	}
	if err := r.Report(ctx); err != nil {
		t.Fatal(err)
	}
	wait("Ready again once it reports", status(fleetv1.MemberReady, metav1.ConditionTrue, "1 components, 1 ready"))
	wait("not Stale once it reports", status(fleetv1.MemberStale, metav1.ConditionFalse, "1 components, 1 ready"))
}
