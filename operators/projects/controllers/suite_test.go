package controllers_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/slots"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/projects/controllers"
	"github.com/atrium-dev/atrium/webhooks/projects/admission"
)

// env is the package's test control plane: one real API server with the
// CRDs, the Project webhooks and the shipped RBAC of config/default
// installed, and the projects operator and webhook running in this process
// against it, each as its own ServiceAccount.
var env *testenv.Env

// operatorCache is the running operator's cache, to check what it keeps.
var operatorCache client.Reader

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
	env, err = testenv.Start(testenv.Options{Webhooks: []string{components.ProjectsWebhook.Folder}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The shipped RBAC of config/default: the components' ServiceAccounts
	// and roles, and what users get (self-provisioning, platform admin).
	shippedManifests, err := shipped.Build(env.Root, "config/default")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := shipped.InstallRBAC(ctx, env, shippedManifests); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := env.CreateFromFiles(ctx, "docs/examples/projecttier-standard.yaml"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := startWebhook(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := startOperator(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// The ServiceAccounts config/default runs the components as.
const systemNamespace = "atrium-system"

var (
	operatorAccount = components.Projects.Deployment
	webhookAccount  = components.ProjectsWebhook.Deployment
)

// serviceAccountConfig is a rest.Config that authenticates as one of the
// shipped ServiceAccounts (with a token the API server issued for it, as
// make run and the e2e suite do), so a component in this process has
// exactly the permissions config/default grants it: a missing RBAC marker
// fails here as it would in a cluster.
func serviceAccountConfig(name string) (*rest.Config, error) {
	kubeconfig, err := env.ServiceAccountKubeConfig(systemNamespace, name)
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = env.Config.QPS, env.Config.Burst
	// Make sure the component is who it should be, not the test's admin.
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		return nil, err
	}
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(context.Background(), review); err != nil {
		return nil, err
	}
	if got, want := review.Status.UserInfo.Username, "system:serviceaccount:"+systemNamespace+":"+name; got != want {
		return nil, fmt.Errorf("the %s kubeconfig authenticates as %q, want %q", name, got, want)
	}
	return cfg, nil
}

// startOperator runs the projects operator as its ServiceAccount.
func startOperator(ctx context.Context) error {
	cfg, err := serviceAccountConfig(operatorAccount)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 env.Scheme,
		Cache:                  controllers.CacheOptions(systemNamespace),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return err
	}
	recorder, err := manager.EventRecorder(mgr, "atrium-projects")
	if err != nil {
		return err
	}
	if err := (&controllers.ProjectReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		Recorder:                recorder,
		Slots:                   &slots.Ledger{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Namespace: systemNamespace},
		MaxConcurrentReconciles: 4,
	}).SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	if err := (&controllers.TierReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		return err
	}
	operatorCache = mgr.GetCache()
	start(ctx, "operator", mgr)
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return fmt.Errorf("operator cache did not sync (can its ServiceAccount list and watch what it caches?)")
	}
	return nil
}

// startWebhook runs the projects webhook as its ServiceAccount, serving
// where the installed webhook configurations point.
func startWebhook(ctx context.Context) error {
	cfg, err := serviceAccountConfig(webhookAccount)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer:          env.WebhookServer(),
	})
	if err != nil {
		return err
	}
	if err := (&admission.Projects{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Authorizer:  admission.SubjectAccessReviews{Client: mgr.GetClient()},
		DefaultTier: "standard",
		Reserved:    admission.DefaultReserved,
		Slots:       &slots.Ledger{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Namespace: systemNamespace},
	}).SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	start(ctx, "webhook", mgr)
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return fmt.Errorf("webhook cache did not sync (can its ServiceAccount list and watch what it caches?)")
	}
	// The API server calls the webhooks from the first request on.
	return testenv.Eventually(ctx, time.Minute, func() error {
		return mgr.GetWebhookServer().StartedChecker()(nil)
	})
}

// start runs a manager until ctx ends; a manager that stops early fails
// the whole run.
func start(ctx context.Context, name string, mgr ctrl.Manager) {
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
			os.Exit(1)
		}
	}()
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
