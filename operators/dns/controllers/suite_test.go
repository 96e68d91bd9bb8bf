package controllers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/atrium-dev/atrium/internal/bind"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/dns/controllers"
	"github.com/atrium-dev/atrium/operators/dns/provider"
)

// The test fleet: a hub installed from config/hub, two members sharing one
// zone in a real BIND9, and each member's DNS operator running in this
// process as its shipped ServiceAccount, reaching the hub as the member's
// own DNS identity there. Claims are created at the hub the way the
// hostnames webhook creates them, as the member's hostnames identity.
var (
	hub     *testenv.Env
	dns     *bind.Server
	members = map[string]*member{}
	// secretFile holds the TSIG secret the operators read.
	secretFile string
)

const (
	zone = "apps.example.test"
	// zone2 is a second zone the operators write, on the same server.
	zone2 = "sites.example.org"
	// resync is short so that drift repair can be seen within a test.
	resync = 3 * time.Second
)

type member struct {
	name string
	env  *testenv.Env
	// proxy stands between the operator and the hub; a test cuts it to
	// play "hub down".
	proxy *testenv.FaultProxy
	// stop stops the member's operator; it is nil while stopped.
	stop func()
	// config is the operator's own ServiceAccount on the member; hubConfig
	// is the member's DNS identity at the hub, through proxy.
	config, hubConfig *rest.Config
}

func TestMain(m *testing.M) {
	testenv.Main(m, func() int { return run(m) })
}

func run(m *testing.M) int {
	logrus.SetLevel(logrus.WarnLevel)
	ctx := context.Background()
	var err error
	if dns, err = bind.Start(ctx, bind.Options{Zones: []string{zone, zone2}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer dns.Close()
	dir, err := os.MkdirTemp("", "atrium-dns-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	secretFile = filepath.Join(dir, "tsig-secret")
	if err := os.WriteFile(secretFile, []byte(dns.KeySecret+"\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fl, err := fleet.Start(ctx, fleet.Options{
		Mode:       fleet.InProcess,
		Components: []components.Component{components.DNS},
		Members:    []fleet.MemberOptions{{Name: "member-a"}, {Name: "member-b"}},
		ExtraCRDs:  []string{testenv.StandInCRDs},
		HubProxy:   true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hub = fl.Hub
	// Stop the operators before the API servers: an API server waits for
	// its open watches when it stops.
	defer func() {
		for _, mb := range members {
			if mb.stop != nil {
				mb.stop()
			}
		}
		fl.Stop()
	}()
	for _, fm := range fl.Members {
		mb := &member{name: fm.Name, env: fm.Env, proxy: fm.HubProxy}
		members[fm.Name] = mb
		if err := mb.configure(fm.HubCredentials); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := mb.startOperator(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// configure gives the member's operator what it runs with, as an admin
// installs it: its ServiceAccount on the member (whose shipped RBAC and
// admission policies of config/default the fleet installed) and the
// member's own DNS identity at the hub, through the member's proxy.
func (mb *member) configure(creds fleet.HubCredentials) error {
	kubeconfig, err := mb.env.ServiceAccountKubeConfig(fleet.Namespace, components.DNS.Deployment)
	if err != nil {
		return err
	}
	if mb.config, err = clientcmd.RESTConfigFromKubeConfig(kubeconfig); err != nil {
		return err
	}
	mb.config.QPS, mb.config.Burst = mb.env.Config.QPS, mb.env.Config.Burst
	mb.hubConfig, err = clientcmd.RESTConfigFromKubeConfig(creds.Of(components.DNS))
	return err
}

// startOperator runs the member's DNS operator until stop is called.
func (mb *member) startOperator() error {
	p, err := provider.New(context.Background(), provider.Config{
		Provider: provider.RFC2136, Zones: []string{zone, zone2}, Server: dns.Addr,
		TSIGKeyName: dns.KeyName, TSIGAlgorithm: bind.KeyAlgorithm, TSIGSecretFile: secretFile, BatchSize: 100,
	})
	if err != nil {
		return err
	}
	// The binary's cache settings.
	mgr, err := ctrl.NewManager(mb.config, controllers.ManagerOptions(ctrl.Options{
		Scheme:                 mb.env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Two members' controllers share this process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	}))
	if err != nil {
		return err
	}
	recorder, err := manager.EventRecorder(mgr, "atrium-dns")
	if err != nil {
		return err
	}
	if err := controllers.Setup(mgr, controllers.Config{
		Cluster: mb.name, Hub: rest.CopyConfig(mb.hubConfig), HubTimeout: 2 * time.Second,
		Provider: p, OwnershipFirst: true, Zones: []string{zone, zone2}, DefaultTargets: []string{"192.0.2.100"},
		TTL: time.Minute, Batch: 200 * time.Millisecond, Resync: resync, ConflictRetry: 2 * time.Second, NotClaimedGrace: 3 * time.Second,
		StatusConcurrency: 4, Recorder: recorder,
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "%s: DNS operator stopped: %v\n", mb.name, err)
		}
	}()
	mb.stop = func() { cancel(); <-done; mb.stop = nil }
	return nil
}
