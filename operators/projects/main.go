package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/hub"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/migrate"
	"github.com/atrium-dev/atrium/internal/report"
	"github.com/atrium-dev/atrium/internal/skew"
	"github.com/atrium-dev/atrium/internal/slots"
	"github.com/atrium-dev/atrium/operators/projects/controllers"
)

// Leader election, in the component's own namespace only (a Role, not a
// ClusterRole: other controllers' leases, kube-system's among them, are not
// its to take), with the events it records about its Lease (core events).
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=system
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch,namespace=system
// The start-up check of the CRDs it serves and reads (package skew).
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get,resourceNames=projects.tenancy.atrium.dev;projecttiers.tenancy.atrium.dev;openstackvolumes.storage.atrium.dev
// Storage-version migration of the CRDs it owns (package migrate): each
// CRD watched by name, its objects rewritten unchanged, storedVersions
// recorded once they all are.
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch,resourceNames=projects.tenancy.atrium.dev;projecttiers.tenancy.atrium.dev
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions/status,verbs=update,resourceNames=projects.tenancy.atrium.dev;projecttiers.tenancy.atrium.dev
// The migration's rewrite of ProjectTiers (Projects it updates anyway).
// +kubebuilder:rbac:groups=tenancy.atrium.dev,resources=projecttiers,verbs=update

func main() {
	opts := manager.Flags("atrium-projects", ":8080", ":8081", true)
	concurrency := flag.Int("concurrency", 32, "Projects reconciled in parallel; reconciles mostly wait on the API server, so this is well above the core count.")
	slotNamespace := flag.String("slot-namespace", "", "Namespace of the Leases that count each user's Projects; defaults to the pod's namespace. The projects webhook must be given the same.")
	slotGrace := flag.Duration("slot-grace", slots.DefaultGrace, "How long a Project slot of an owner or tier the Project does not have (yet) is kept; the same as the webhook's.")
	clusterName := flag.String("cluster-name", "", "This member cluster's name in the fleet (required): the MemberCluster at the hub it reports to.")
	hubFlags := hub.RegisterFlags(flag.CommandLine, report.HubDefaults, report.HubWhy)
	reportInterval := report.RegisterFlags(flag.CommandLine)
	pprofAddr := flag.String("pprof-bind-address", "", "Address of Go's /debug/pprof endpoints (heap, CPU, goroutines), to find where memory or time goes; empty (the default) serves none. Bind it to loopback and reach it with kubectl port-forward: the profiles show object names.")
	opts.Parse()

	ctx := ctrl.SetupSignalHandler()
	log := ctrl.Log.WithName("setup")
	ns := manager.PodNamespace(*slotNamespace)
	if ns == "" {
		log.Error(nil, "no namespace for the Project slots: set --slot-namespace or POD_NAMESPACE")
		os.Exit(2)
	}

	mgr, err := opts.NewManager(ctrl.Options{Cache: controllers.CacheOptions(ns), PprofBindAddress: *pprofAddr})
	if err != nil {
		log.Error(err, "creating manager")
		os.Exit(1)
	}
	recorder, err := manager.EventRecorder(mgr, "atrium-projects")
	if err != nil {
		log.Error(err, "event recorder")
		os.Exit(1)
	}
	projects := &controllers.ProjectReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		Recorder:                recorder,
		Slots:                   &slots.Ledger{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Namespace: ns, Grace: *slotGrace},
		MaxConcurrentReconciles: *concurrency,
	}
	if err := projects.SetupWithManager(ctx, mgr); err != nil {
		log.Error(err, "setting up Project controller")
		os.Exit(1)
	}
	if err := (&controllers.TierReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		log.Error(err, "setting up ProjectTier controller")
		os.Exit(1)
	}
	if err := migrate.Add(mgr, skew.Projects.CRD, skew.ProjectTiers.CRD); err != nil {
		log.Error(err, "setting up storage-version migration")
		os.Exit(1)
	}
	hubCfg, err := hubFlags.RESTConfig(mgr.GetConfig())
	if err == nil {
		err = report.Wire(ctx, mgr, report.Options{Component: components.Projects, Cluster: *clusterName, Interval: *reportInterval, Leader: true},
			hubCfg, hubFlags.Timeout, opts.ProbeAddr, skew.Projects, skew.ProjectTiers, skew.OpenStackVolume)
	}
	if err != nil {
		log.Error(err, "reporting to the hub")
		os.Exit(1)
	}
	log.Info("starting projects operator")
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}
