package manager

import (
	"flag"
	"fmt"
	"os"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	accessv1 "github.com/atrium-dev/atrium/apis/access/v1alpha1"
	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/version"
)

// Scheme knows the built-in kinds and every Atrium API group.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(tenancyv1.AddToScheme(s))
	utilruntime.Must(fleetv1.AddToScheme(s))
	utilruntime.Must(accessv1.AddToScheme(s))
	utilruntime.Must(pagesv1.AddToScheme(s))
	utilruntime.Must(storagev1.AddToScheme(s))
	return s
}

// DefaultQPS and DefaultBurst are every binary's client-side limit of
// requests to its own cluster's API server (--kube-api-qps,
// --kube-api-burst).
const (
	DefaultQPS   = 500
	DefaultBurst = 1000
)

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
	PrintVersion            bool
	Zap                     zap.Options
}

// Flags registers the shared flags on the default FlagSet with the binary's
// defaults (leader election on for binaries with work that must run once,
// such as an operator or the hostnames claims releaser; everything that
// serves admission runs on every replica regardless); call Parse once the
// binary has added its own.
func Flags(name, metricsAddr, probeAddr string, leaderElect bool) *Options {
	o := &Options{Name: name, Zap: zap.Options{Development: false}}
	flag.StringVar(&o.MetricsAddr, "metrics-bind-address", metricsAddr, "Address of the Prometheus metrics endpoint; 0 turns it off.")
	flag.StringVar(&o.ProbeAddr, "health-probe-bind-address", probeAddr, "Address of /healthz and /readyz.")
	flag.BoolVar(&o.LeaderElect, "leader-elect", leaderElect, "Elect a leader so only one replica acts at a time.")
	flag.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the pod's namespace.")
	flag.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a standby replica waits before taking over a lease that was not renewed.")
	flag.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew before it gives up leading.")
	flag.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", 2*time.Second, "How often replicas try to acquire or renew the lease.")
	flag.Float64Var(&o.QPS, "kube-api-qps", DefaultQPS, "Client-side limit of requests per second to this cluster's API server, for each resource type a client talks to (client-go keeps one token bucket per resource client); 0 turns it off. The default is far above what a component sends: the projects operator provisioning 1,000 Projects sends about 600 requests a second in all (11,110 in 18s in make bench), spread over some ten resource types, so the limit never slows it and only stops a runaway loop.")
	flag.IntVar(&o.Burst, "kube-api-burst", DefaultBurst, "Requests to this cluster's API server allowed at once above --kube-api-qps, for each resource type.")
	flag.BoolVar(&o.WatchListClient, "watch-list-client", false, "Fill caches from a stream of watch events instead of one list (client-go's WatchListClient); a list starts the component faster, the stream spares the API server's memory on very large lists.")
	flag.BoolVar(&o.PrintVersion, "version", false, "Print the binary's version, git revision, build date and Go version, and exit.")
	o.Zap.BindFlags(flag.CommandLine)
	return o
}

// Parse parses the command line and installs the logger; with --version
// it prints the version and exits 0 instead, before anything else is
// checked, so that it answers without a kubeconfig or required flags.
func (o *Options) Parse() {
	flag.Parse()
	if o.PrintVersion {
		printVersion()
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.Zap)))
	SetWatchListClient(o.WatchListClient)
	logVersion()
	if soft := SetMemoryLimit(); soft > 0 {
		ctrl.Log.WithName("setup").Info("Go memory limit from the container's", "bytes", soft)
	}
}

// NewManager builds a manager from the shared flags; base carries what the
// binary sets itself (cache options, webhook server).
func (o *Options) NewManager(base ctrl.Options) (ctrl.Manager, error) {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	o.limit(cfg)
	base.Scheme = Scheme()
	base.Metrics = metricsserver.Options{BindAddress: o.MetricsAddr}
	base.HealthProbeBindAddress = o.ProbeAddr
	base.LeaderElection = o.LeaderElect
	base.LeaderElectionID = o.Name + ".atrium.dev"
	base.LeaderElectionNamespace = PodNamespace(o.LeaderElectionNamespace)
	base.LeaseDuration, base.RenewDeadline, base.RetryPeriod = &o.LeaseDuration, &o.RenewDeadline, &o.RetryPeriod
	// Release the lease on a clean shutdown so an upgrade hands over at once.
	base.LeaderElectionReleaseOnCancel = true
	if base.GracefulShutdownTimeout == nil {
		d := 30 * time.Second
		base.GracefulShutdownTimeout = &d
	}
	// No component reads managedFields, which are often the largest part
	// of an object, so the caches keep none: memory grows with the objects
	// a component watches, not with how many writers touched them. Writes
	// are unaffected (an update without managedFields keeps the server's,
	// and the components build what they apply afresh).
	if base.Cache.DefaultTransform == nil {
		base.Cache.DefaultTransform = cache.TransformStripManagedFields()
	}
	// client-go's plain work queue, not controller-runtime's priority
	// queue: in v0.24.1 the latter can deadlock on shutdown
	// (kubernetes-sigs/controller-runtime#3538, fixed in a later release),
	// so a stopping replica would hold on for the whole graceful shutdown
	// timeout before handing its Lease over.
	if base.Controller.UsePriorityQueue == nil {
		base.Controller.UsePriorityQueue = ptr.To(false)
	}
	mgr, err := ctrl.NewManager(cfg, base)
	if err != nil {
		return nil, err
	}
	if err := version.Register(metrics.Registry); err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("caches", CacheSynced(mgr.GetCache())); err != nil {
		return nil, err
	}
	return mgr, nil
}

// PodNamespace is ns, or when empty the pod's own namespace: the shipped
// Deployments set POD_NAMESPACE from it (without it controller-runtime
// reads the mounted ServiceAccount's namespace file, which exists only in a
// pod). Empty when neither is set.
func PodNamespace(ns string) string {
	if ns != "" {
		return ns
	}
	return os.Getenv("POD_NAMESPACE")
}

// limit applies --kube-api-qps and --kube-api-burst to cfg. The limit is
// deliberate, not client-go's default of 5 a second (which would throttle
// an operator provisioning thousands of tenants) nor none at all (which
// leaves a runaway loop to the server's priority and fairness alone).
func (o *Options) limit(cfg *rest.Config) {
	if o.QPS <= 0 {
		// client-go reads 0 as "the default of 5"; negative is no limit.
		cfg.QPS, cfg.Burst = -1, 0
		return
	}
	cfg.QPS, cfg.Burst = float32(o.QPS), max(o.Burst, 1)
}
