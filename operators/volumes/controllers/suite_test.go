package controllers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/openstackfake"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
	"github.com/atrium-dev/atrium/operators/volumes/controllers"
)

var (
	env *testenv.Env
	os_ *openstackfake.Server
	// project is the cluster's OpenStack project; other is another one.
	project, other string
	// appCred is the operator's application credential.
	appCredID, appCredSecret string
	cloudsFile               string
	// logs holds everything the operator logged.
	logs     testenv.LogBuffer
	operator *running
	opConfig *rest.Config
)

const (
	cluster = "member-1"
	timeout = 30 * time.Second
	zoneA   = "zone-a"
	zoneB   = "zone-b"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(&logs), zap.Level(zapcore.DebugLevel)))
	var err error
	if env, err = testenv.Start(testenv.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	os_ = openstackfake.Start()
	defer os_.Close()
	project = os_.AddProject("atrium-member-1")
	other = os_.AddProject("someone-else")
	os_.AddAvailabilityZone(zoneA)
	os_.AddAvailabilityZone(zoneB)
	os_.AddVolumeType("standard")
	os_.AddVolumeType("fast")
	appCredID, appCredSecret = os_.AddApplicationCredential(project, "atrium-volumes")
	dir, err := os.MkdirTemp("", "atrium-volumes-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cloudsFile = filepath.Join(dir, "clouds.yaml")
	clouds := fmt.Sprintf("clouds:\n  fake:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: %s\n      application_credential_id: %s\n      application_credential_secret: %s\n    region_name: RegionOne\n",
		os_.IdentityURL, appCredID, appCredSecret)
	if err := os.WriteFile(cloudsFile, []byte(clouds), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := install(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if operator, err = start(nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if operator != nil {
			operator.stop()
		}
	}()
	return m.Run()
}

// install puts the operator's shipped RBAC, policies and StorageClass on
// the cluster, and makes the operator's kubeconfig (its ServiceAccount).
func install() error {
	ctx := context.Background()
	manifests, err := shipped.Build(env.Root, "operators/volumes/controllers/testdata")
	if err != nil {
		return err
	}
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metaName("atrium-system")}); err != nil {
		return err
	}
	if err := shipped.InstallRBAC(ctx, env, manifests); err != nil {
		return err
	}
	for _, sc := range manifests.Of("StorageClass") {
		if err := env.Client.Create(ctx, sc.DeepCopy()); err != nil {
			return err
		}
	}
	kubeconfig, err := env.ServiceAccountKubeConfig("atrium-system", "atrium-volumes")
	if err != nil {
		return err
	}
	opConfig, err = clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	return err
}

// running is one run of the operator in the test's process.
type running struct {
	cancel   context.CancelFunc
	done     chan struct{}
	reporter *controllers.OrphanReporter
	r        *controllers.VolumeReconciler
}

func (o *running) stop() {
	o.cancel()
	select {
	case <-o.done:
	case <-time.After(5 * time.Second):
		f, _ := os.Create("/tmp/stuck.txt")
		_ = pprof.Lookup("goroutine").WriteTo(f, 1)
		f.Close()
		<-o.done
	}
}

// start runs the operator as its shipped ServiceAccount, with its shipped
// ClusterRole, against the fake cloud through a clouds.yaml as shipped.
// wrap, when set, stands between the operator and Cinder.
func start(wrap func(controllers.Cinder, context.CancelFunc) controllers.Cinder) (*running, error) {
	return startWith(wrap, 2*time.Second, 3*time.Second)
}

// startWith is start with the Cinder timeout and the create grace given.
func startWith(wrap func(controllers.Cinder, context.CancelFunc) controllers.Cinder, cinderTimeout, grace time.Duration) (*running, error) {
	cfg, err := cinder.LoadCloud(cloudsFile, "fake")
	if err != nil {
		return nil, err
	}
	cfg.Timeout, cfg.QPS, cfg.Burst = cinderTimeout, 500, 500
	var api controllers.Cinder = cinder.New(cfg)
	// The cache main.go gives the operator, so that every test runs on
	// what it keeps of each object.
	cacheOpts, err := controllers.CacheOptions()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(opConfig, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		// The suite starts the operator again after a "crash".
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		Cache:      cacheOpts,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	if wrap != nil {
		api = wrap(api, cancel)
	}
	recorder, err := manager.EventRecorder(mgr, "atrium-volumes")
	if err != nil {
		cancel()
		return nil, err
	}
	r := &controllers.VolumeReconciler{
		Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Cinder: api, Cluster: cluster, DefaultZone: zoneA,
		TopologyKey: "topology.cinder.csi.openstack.org/zone", FSType: "ext4",
		Recorder: recorder, Resync: 5 * time.Second,
		PollMin: 50 * time.Millisecond, PollMax: 500 * time.Millisecond,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second, CreateGrace: grace,
		AnswerTTL: time.Second,
	}
	if err := r.SetupWithManager(ctx, mgr, 4); err != nil {
		cancel()
		return nil, err
	}
	rep := &controllers.OrphanReporter{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Cinder: api,
		Cluster: cluster, Namespace: "atrium-system", Interval: time.Hour}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "volumes operator stopped: %v\n", err)
		}
	}()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		cancel()
		return nil, fmt.Errorf("caches did not sync")
	}
	return &running{cancel: cancel, done: done, reporter: rep, r: r}, nil
}
