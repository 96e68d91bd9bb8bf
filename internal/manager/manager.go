package manager

import (
	"flag"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// Scheme knows the built-in kinds and every Atrium API group.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(tenancyv1.AddToScheme(s))
	utilruntime.Must(fleetv1.AddToScheme(s))
	return s
}

// Options are the flags every Atrium binary shares.
type Options struct {
	Name                    string
	MetricsAddr             string
	ProbeAddr               string
	LeaderElect             bool
	LeaderElectionNamespace string
	LeaseDuration           time.Duration
	RenewDeadline           time.Duration
	RetryPeriod             time.Duration
	QPS                     float64
	Burst                   int
	WatchListClient         bool
	Zap                     zap.Options
}

// Flags registers the shared flags on the default FlagSet with the binary's
// defaults (leader election on for operators, off for webhooks, whose
// replicas all serve); call Parse once the binary has added its own.
func Flags(name, metricsAddr, probeAddr string, leaderElect bool) *Options {
	o := &Options{Name: name, Zap: zap.Options{Development: false}}
	flag.StringVar(&o.MetricsAddr, "metrics-bind-address", metricsAddr, "Address of the Prometheus metrics endpoint; 0 turns it off.")
	flag.StringVar(&o.ProbeAddr, "health-probe-bind-address", probeAddr, "Address of /healthz and /readyz.")
	flag.BoolVar(&o.LeaderElect, "leader-elect", leaderElect, "Elect a leader so only one replica acts at a time.")
	flag.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the pod's namespace.")
	flag.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a standby replica waits before taking over a lease that was not renewed.")
	flag.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew before it gives up leading.")
	flag.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", 2*time.Second, "How often replicas try to acquire or renew the lease.")
	flag.Float64Var(&o.QPS, "kube-api-qps", -1, "Client-side limit of requests per second to the API server; negative turns it off and leaves protection to the server's priority and fairness.")
	flag.IntVar(&o.Burst, "kube-api-burst", 0, "Requests allowed in a burst when --kube-api-qps is positive.")
	flag.BoolVar(&o.WatchListClient, "watch-list-client", false, "Fill caches from a stream of watch events instead of one list (client-go's WatchListClient); a list starts the component faster, the stream spares the API server's memory on very large lists.")
	o.Zap.BindFlags(flag.CommandLine)
	return o
}

// Parse parses the command line and installs the logger.
func (o *Options) Parse() {
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.Zap)))
	SetWatchListClient(o.WatchListClient)
}

// NewManager builds a manager from the shared flags; base carries what the
// binary sets itself (cache options, webhook server).
func (o *Options) NewManager(base ctrl.Options) (ctrl.Manager, error) {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	// Client-side throttling is off by default (as controller-runtime sets
	// it): a fixed per-client budget would slow an operator that provisions
	// thousands of tenants, and API Priority and Fairness already protects
	// the server from a busy client.
	cfg.QPS, cfg.Burst = float32(o.QPS), o.Burst
	base.Scheme = Scheme()
	base.Metrics = metricsserver.Options{BindAddress: o.MetricsAddr}
	base.HealthProbeBindAddress = o.ProbeAddr
	base.LeaderElection = o.LeaderElect
	base.LeaderElectionID = o.Name + ".atrium.dev"
	base.LeaderElectionNamespace = o.LeaderElectionNamespace
	base.LeaseDuration, base.RenewDeadline, base.RetryPeriod = &o.LeaseDuration, &o.RenewDeadline, &o.RetryPeriod
	// Release the lease on a clean shutdown so an upgrade hands over at once.
	base.LeaderElectionReleaseOnCancel = true
	if base.GracefulShutdownTimeout == nil {
		d := 30 * time.Second
		base.GracefulShutdownTimeout = &d
	}
	mgr, err := ctrl.NewManager(cfg, base)
	if err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, err
	}
	return mgr, nil
}
