package controllers_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/projects/controllers"
	"github.com/atrium-dev/atrium/webhooks/projects/admission"
)

// env is the package's test control plane: one real API server with the
// CRDs, the Project webhooks and the shipped RBAC installed, and the projects
// operator and webhook running in this process against it.
var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	testenv.SetupLogging()
	var err error
	env, err = testenv.Start(testenv.Options{Webhooks: []string{"webhooks/projects"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := env.CreateFromFiles(ctx, "config/rbac", "docs/examples/projecttier-standard.yaml"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := startComponents(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func startComponents(ctx context.Context) error {
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Cache:                  controllers.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer:          env.WebhookServer(),
	})
	if err != nil {
		return err
	}
	if err := (&controllers.ProjectReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		Recorder:                mgr.GetEventRecorder("atrium-projects"),
		MaxConcurrentReconciles: 4,
	}).SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	if err := (&controllers.TierReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&admission.Projects{
		Client:      mgr.GetClient(),
		Authorizer:  admission.SubjectAccessReviews{Client: mgr.GetClient()},
		DefaultTier: "standard",
		Reserved:    admission.DefaultReserved,
	}).SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
			os.Exit(1)
		}
	}()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return fmt.Errorf("cache did not sync")
	}
	// The API server calls the webhooks from the first request on.
	return testenv.Eventually(ctx, time.Minute, func() error {
		return mgr.GetWebhookServer().StartedChecker()(nil)
	})
}

// as returns a client acting as a user of the system:authenticated group.
func as(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	c, err := env.ClientAs(user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
