package admission_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/sources"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/webhooks/hostnames/wiring"
)

// The test fleet: a hub installed from config/hub and two members, each
// member with the hostnames webhook and claims controller running in this
// process as its shipped ServiceAccount, reaching the hub as the member's
// own identity there, through a proxy that a test can cut.
var (
	hub     *testenv.Env
	members = map[string]*member{}
)

type member struct {
	name    string
	env     *testenv.Env
	proxy   *testenv.FaultProxy
	stopped chan struct{}
	// hubLimiter is the rate limiter of the webhook's hub requests.
	hubLimiter *countingLimiter
}

// countingLimiter counts the requests that pass a rate limiter and those
// it made wait.
type countingLimiter struct {
	flowcontrol.RateLimiter
	requests, waits atomic.Int64
}

// Wait is what client-go calls before each request.
func (l *countingLimiter) Wait(ctx context.Context) error {
	l.requests.Add(1)
	if l.TryAccept() {
		return nil
	}
	l.waits.Add(1)
	return l.RateLimiter.Wait(ctx)
}

// hubConfig is the member's hub config built as the binary builds it, from
// a kubeconfig file (the member's own identity at the hub, minted as an
// admin mints it) and the webhook's default hub flags, with its limiter
// counting.
func hubConfig(kubeconfig []byte, member *rest.Config) (*rest.Config, *countingLimiter, error) {
	dir, err := os.MkdirTemp("", "atrium-hub")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	f := wiring.HubDefaults
	f.Kubeconfig = filepath.Join(dir, "hub.kubeconfig")
	if err := os.WriteFile(f.Kubeconfig, kubeconfig, 0o600); err != nil {
		return nil, nil, err
	}
	cfg, err := f.RESTConfig(member)
	if err != nil {
		return nil, nil, err
	}
	if cfg.RateLimiter == nil {
		return nil, nil, fmt.Errorf("the webhook's hub config has no rate limiter (QPS %v)", cfg.QPS)
	}
	l := &countingLimiter{RateLimiter: cfg.RateLimiter}
	cfg.RateLimiter = l
	return cfg, l, nil
}

// memberConfig is the webhook's config on its own cluster: its shipped
// ServiceAccount, with the RBAC and admission policies of config/default
// installed there (by the fleet), as the Deployment runs it.
func memberConfig(env *testenv.Env) (*rest.Config, error) {
	kubeconfig, err := env.ServiceAccountKubeConfig(fleet.Namespace, components.Hostnames.Deployment)
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = env.Config.QPS, env.Config.Burst
	return cfg, nil
}

// grace is short so release can be seen within a test.
const grace = 2 * time.Second

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	testenv.SetupLogging()
	ctx, cancel := context.WithCancel(context.Background())
	tier := []string{"docs/examples/projecttier-standard.yaml"}
	fl, err := fleet.Start(ctx, fleet.Options{
		Mode:       fleet.InProcess,
		Components: []components.Component{components.Hostnames},
		HubObjects: []string{"webhooks/hostnames/admission/testdata/domainpolicy.yaml"},
		Members:    []fleet.MemberOptions{{Name: "member-a", Objects: tier}, {Name: "member-b", Objects: tier}},
		ExtraCRDs:  []string{testenv.StandInCRDs},
		HubProxy:   true,
	})
	if err != nil {
		cancel()
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hub = fl.Hub
	// Stop the components before the API servers: an API server waits for
	// its open watches when it stops.
	defer func() {
		cancel()
		for _, mb := range members {
			<-mb.stopped
		}
		fl.Stop()
	}()
	for _, fm := range fl.Members {
		mb, err := startMember(ctx, fm)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		members[fm.Name] = mb
	}
	return m.Run()
}

// startMember runs the member's hostnames webhook in this process.
func startMember(ctx context.Context, fm *fleet.Member) (*member, error) {
	env, name := fm.Env, fm.Name
	hubCfg, limiter, err := hubConfig(fm.HubCredentials.Of(components.Hostnames), env.Config)
	if err != nil {
		return nil, err
	}
	cfg, err := memberConfig(env)
	if err != nil {
		return nil, err
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer:          env.WebhookServer(),
		// Two members' controllers share this process and its metrics.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		// Source objects are read as unstructured; serve them from the cache.
		Client: client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		// The binary's cache, which keeps of source objects what the
		// releaser reads.
		Cache: cache.Options{DefaultTransform: wiring.CacheTransform},
	})
	if err != nil {
		return nil, err
	}
	if _, err := wiring.Setup(ctx, mgr, wiring.Options{
		Cluster: name, Hub: hubCfg, HubTimeout: 2 * time.Second, Grace: grace, Resync: time.Minute,
	}); err != nil {
		return nil, err
	}
	// Every registered kind's API is installed here (config/crd and the
	// stand-in CRDs), so every kind is admitted.
	if kinds := sources.Served(mgr.GetRESTMapper()); len(kinds) != len(sources.All()) {
		return nil, fmt.Errorf("%s serves %d source kinds, want all %d", name, len(kinds), len(sources.All()))
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, name, "manager:", err)
		}
	}()
	if err := testenv.Eventually(ctx, time.Minute, func() error { return mgr.GetWebhookServer().StartedChecker()(nil) }); err != nil {
		return nil, err
	}
	return &member{name: name, env: env, proxy: fm.HubProxy, stopped: stopped, hubLimiter: limiter}, nil
}

func (m *member) client() client.Client { return m.env.Client }
