package controllers

import (
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"
	edprovider "sigs.k8s.io/external-dns/provider"

	"github.com/atrium-dev/atrium/internal/hub"
	"github.com/atrium-dev/atrium/internal/sources"
)

// HubLimits are the binary's defaults for --hub-qps and --hub-burst: the
// pace of the claim status writes. The burst is small: a cold start
// publishing thousands of names reports on them at a steady 50 a second
// from its first write, not 100 at once in the instant the names become
// resolvable, when BIND shares the machine (docs/benchmarks.md, DNS), and
// members restarting together do not send the fleet's hub 100 writes
// each at the same moment.
var HubLimits = hub.Limits{QPS: 50, Burst: 5}

// Config is the DNS operator of one member cluster.
type Config struct {
	// Cluster is this member's name in the fleet; it is also the owner id
	// written into the zone's ownership (TXT) records.
	Cluster string
	// Hub reaches the hub's API server, with the operator's rate limit of
	// requests to it (hub.Flags.RESTConfig builds it from --hub-qps and
	// --hub-burst); HubTimeout bounds one request.
	Hub        *rest.Config
	HubTimeout time.Duration
	// Provider writes the zones.
	Provider edprovider.Provider
	// OwnershipFirst: see ZoneReconciler.
	OwnershipFirst bool
	Zones          []string
	// DefaultTargets are the cluster's ingress addresses.
	DefaultTargets []string
	TTL            time.Duration
	Batch          time.Duration
	Resync         time.Duration
	ConflictRetry  time.Duration
	// NotClaimedGrace: zero means DefaultNotClaimedGrace.
	NotClaimedGrace time.Duration
	// StatusConcurrency is how many claims are reported on at once.
	StatusConcurrency int
	// StatusQPS and StatusBurst, when StatusQPS is positive, replace Hub's
	// rate limit (hub.Limits) for callers that build Hub themselves; the
	// binary sets the limit on Hub from --hub-qps and --hub-burst. The
	// limit paces the claim status writes to the hub, which serves the
	// whole fleet: publishing 10,000 hostnames at once must not flood it.
	StatusQPS   float32
	StatusBurst int
	// Recorder records events in the member cluster.
	Recorder events.EventRecorder
}

// Setup adds the DNS operator's controllers to mgr, whose client must
// cache unstructured objects (source kinds are read as unstructured).
func Setup(mgr ctrl.Manager, c Config) error {
	hubCfg := c.Hub
	if c.StatusQPS > 0 {
		// The limit applies to this operator's requests to the hub: the
		// status writes, and the cache's rare lists.
		hubCfg = hub.Limits{QPS: float64(c.StatusQPS), Burst: c.StatusBurst}.Apply(c.Hub)
	}
	hubCluster, hubClient, err := hub.Connect(hubCfg, c.Cluster, c.HubTimeout)
	if err != nil {
		return err
	}
	if err := mgr.Add(hubCluster); err != nil {
		return err
	}
	if c.NotClaimedGrace == 0 {
		c.NotClaimedGrace = DefaultNotClaimedGrace
	}
	outcomes := &Outcomes{}
	changed := make(chan event.TypedGenericEvent[string], 4096)
	zone := &ZoneReconciler{
		Local: mgr.GetClient(), Claims: hubCluster.GetCache(),
		Kinds:    sources.Published(mgr.GetRESTMapper()),
		Parents:  sources.Parents(sources.Served(mgr.GetRESTMapper())),
		Provider: c.Provider, OwnershipFirst: c.OwnershipFirst, Zones: c.Zones, Cluster: c.Cluster,
		DefaultTargets: c.DefaultTargets, TTL: c.TTL, Batch: c.Batch,
		Resync: c.Resync, ConflictRetry: c.ConflictRetry, NotClaimedGrace: c.NotClaimedGrace,
		Outcomes: outcomes, Changed: changed, Recorder: c.Recorder,
	}
	if err := zone.SetupWithManager(mgr, hubCluster); err != nil {
		return err
	}
	status := &ClaimStatusReconciler{
		Hub: hubClient, Claims: hubCluster.GetCache(), Cluster: c.Cluster,
		Outcomes: outcomes, Changed: changed, Recorder: c.Recorder, Concurrency: c.StatusConcurrency,
	}
	return status.SetupWithManager(mgr, hubCluster)
}
