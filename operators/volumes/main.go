package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/hub"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/migrate"
	"github.com/atrium-dev/atrium/internal/report"
	"github.com/atrium-dev/atrium/internal/skew"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
	"github.com/atrium-dev/atrium/operators/volumes/controllers"
)

// Leader election, in the component's own namespace only, with the events
// it records about its Lease.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=system
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch,namespace=system
// The start-up check of the CRDs it serves (package skew).
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get,resourceNames=openstackvolumes.storage.atrium.dev
// Storage-version migration of the CRDs it owns (package migrate): each
// CRD watched by name, its objects rewritten unchanged, storedVersions
// recorded once they all are.
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch,resourceNames=openstackvolumes.storage.atrium.dev
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions/status,verbs=update,resourceNames=openstackvolumes.storage.atrium.dev

func main() {
	opts := manager.Flags("atrium-volumes", ":8090", ":8091", true)
	clusterName := flag.String("cluster-name", "", "This member cluster's name in the fleet (required): written in every Cinder volume's metadata, so that a volume is found again, adoption can tell whose it is, and orphans are this cluster's.")
	cloudsFile := flag.String("clouds-file", "/etc/atrium/openstack/clouds.yaml", "clouds.yaml holding the cloud's auth (application credentials or a password), region and CA; mount it from a Secret.")
	cloud := flag.String("cloud", envOr("OS_CLOUD", "openstack"), "Cloud of --clouds-file to use (OS_CLOUD by default).")
	zone := flag.String("default-availability-zone", "", "Availability zone of volumes that name none; empty leaves it to Cinder.")
	topologyKey := flag.String("topology-key", "topology.cinder.csi.openstack.org/zone", "Node label saying a node's availability zone: each PersistentVolume's node affinity.")
	fsType := flag.String("fs-type", "ext4", "Filesystem the CSI driver makes on a new volume.")
	timeout := flag.Duration("cinder-timeout", 10*time.Second, "Timeout of each OpenStack request.")
	qps := flag.Float64("cinder-qps", 10, "Requests per second to Cinder at most; beyond it volumes wait their turn (requeued, no worker blocks; their status is left as it is).")
	burst := flag.Int("cinder-burst", 20, "Requests to Cinder allowed at once above --cinder-qps.")
	resync := flag.Duration("resync", 10*time.Minute, "How often every volume is checked against Cinder without an event, from one listing of this cluster's volumes (a volume the listing does not show settled is read on its own).")
	pollMin := flag.Duration("poll-min", time.Second, "First wait while Cinder is creating or extending a volume; doubles up to --poll-max.")
	pollMax := flag.Duration("poll-max", 30*time.Second, "Longest wait while Cinder is busy with a volume.")
	minBackoff := flag.Duration("min-backoff", time.Second, "First wait after Cinder fails; doubles with each failure in a row.")
	maxBackoff := flag.Duration("max-backoff", 5*time.Minute, "Longest wait after Cinder fails (or refuses for quota).")
	grace := flag.Duration("create-grace", time.Minute, "How long after a create was sent a look-up that finds no volume is not trusted (the create may still be on its way); more than --cinder-timeout.")
	orphanEvery := flag.Duration("orphan-interval", 10*time.Minute, "How often Cinder is compared with the OpenStackVolumes for volumes nobody holds; the first comparison comes a minute (at most this interval) after a replica starts leading.")
	answerTTL := flag.Duration("cinder-answer-ttl", 30*time.Second, "How long Cinder's answer that a volume is settled at its size stands for the volume's next reconciles (those its claim and PersistentVolume start while they bind), instead of reading the volume again each time; 0 reads it every time. A spec change and the operator's own changes in Cinder always read it afresh; the resync (longer) reads a listing.")
	inFlight := flag.Int("cinder-in-flight", 8, "Requests in flight to Cinder at once, at most, whatever --concurrency is; a request waits for its slot at most --cinder-timeout.")
	concurrency := flag.Int("concurrency", 32, "Volumes reconciled at once. Most of a reconcile's time goes to the API server: Cinder sees no more than --cinder-in-flight requests at once.")
	pprofAddr := flag.String("pprof-bind-address", "0", "Address of Go's pprof endpoints (/debug/pprof/: a heap profile, say); 0 turns them off.")
	hubFlags := hub.RegisterFlags(flag.CommandLine, report.HubDefaults, report.HubWhy)
	reportInterval := report.RegisterFlags(flag.CommandLine)
	opts.Parse()
	log := ctrl.Log.WithName("setup")

	if errs := validation.IsValidLabelValue(*clusterName); *clusterName == "" || len(errs) > 0 {
		log.Error(fmt.Errorf("%v", errs), "--cluster-name must be a non-empty label value")
		os.Exit(2)
	}
	if *answerTTL >= *resync {
		log.Error(nil, "--cinder-answer-ttl must be shorter than --resync, which reads every volume afresh from a listing", "cinder-answer-ttl", *answerTTL, "resync", *resync)
		os.Exit(2)
	}
	if *grace <= *timeout {
		log.Error(nil, "--create-grace must exceed --cinder-timeout", "create-grace", *grace, "cinder-timeout", *timeout)
		os.Exit(2)
	}
	cfg, err := cinder.LoadCloud(*cloudsFile, *cloud)
	if err != nil {
		log.Error(err, "OpenStack credentials")
		os.Exit(2)
	}
	cfg.Timeout, cfg.QPS, cfg.Burst, cfg.InFlight = *timeout, *qps, *burst, *inFlight
	api := cinder.New(cfg)

	// Only the operator's own claims and PersistentVolumes are cached, and
	// of each object only what the operator reads (see
	// controllers.CacheOptions).
	cacheOpts, err := controllers.CacheOptions()
	if err != nil {
		log.Error(err, "cache options")
		os.Exit(1)
	}
	mgr, err := opts.NewManager(ctrl.Options{PprofBindAddress: *pprofAddr, Cache: cacheOpts})
	if err != nil {
		log.Error(err, "creating manager")
		os.Exit(1)
	}
	ctx := ctrl.SetupSignalHandler()
	recorder, err := manager.EventRecorder(mgr, "atrium-volumes")
	if err != nil {
		log.Error(err, "event recorder")
		os.Exit(1)
	}
	r := &controllers.VolumeReconciler{
		Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Cinder: api, Cluster: *clusterName,
		DefaultZone: *zone, TopologyKey: *topologyKey, FSType: *fsType,
		Recorder: recorder, Resync: *resync,
		PollMin: *pollMin, PollMax: *pollMax, MinBackoff: *minBackoff, MaxBackoff: *maxBackoff, CreateGrace: *grace,
		AnswerTTL: *answerTTL,
	}
	if err := r.SetupWithManager(ctx, mgr, *concurrency); err != nil {
		log.Error(err, "setting up the controller")
		os.Exit(1)
	}
	reporter := &controllers.OrphanReporter{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Cinder: api,
		Cluster: *clusterName, Namespace: manager.PodNamespace(""), Interval: *orphanEvery,
		FirstAfter: min(*orphanEvery, time.Minute)}
	if reporter.Namespace == "" {
		log.Error(nil, "no namespace for the orphan report: set POD_NAMESPACE")
		os.Exit(2)
	}
	if err := mgr.Add(reporter); err != nil {
		log.Error(err, "adding the orphan reporter")
		os.Exit(1)
	}
	if err := migrate.Add(mgr, skew.OpenStackVolume.CRD); err != nil {
		log.Error(err, "setting up storage-version migration")
		os.Exit(1)
	}
	hubCfg, err := hubFlags.RESTConfig(mgr.GetConfig())
	if err == nil {
		err = report.Wire(ctx, mgr, report.Options{Component: components.Volumes, Cluster: *clusterName, Interval: *reportInterval, Leader: true},
			hubCfg, hubFlags.Timeout, opts.ProbeAddr, skew.OpenStackVolume)
	}
	if err != nil {
		log.Error(err, "reporting to the hub")
		os.Exit(1)
	}
	log.Info("starting", "cluster", *clusterName, "cloud", *cloud, "identity", cfg.Auth.IdentityEndpoint)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
