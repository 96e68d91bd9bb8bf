// The fleet operator runs at the hub: it turns the members' reports into
// each MemberCluster's Ready and Stale conditions and summary.
package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/migrate"
	"github.com/atrium-dev/atrium/internal/skew"
	"github.com/atrium-dev/atrium/internal/version"
	"github.com/atrium-dev/atrium/operators/fleet/controllers"
)

// Leader election, in its own namespace only, with the events it records
// about its Lease. The start-up check of the CRD it reads (memberclusters,
// package skew) is in the migration's get below.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=system
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch,namespace=system
// Storage-version migration of the CRDs it owns (package migrate): each
// CRD watched by name, its objects rewritten unchanged, storedVersions
// recorded once they all are.
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch,resourceNames=memberclusters.fleet.atrium.dev;hostnameclaims.fleet.atrium.dev;domainpolicies.fleet.atrium.dev
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions/status,verbs=update,resourceNames=memberclusters.fleet.atrium.dev;hostnameclaims.fleet.atrium.dev;domainpolicies.fleet.atrium.dev
// The rewrite of every fleet object the migration needs (an update that
// changes nothing; the objects are the hub's, whoever writes them).
// +kubebuilder:rbac:groups=fleet.atrium.dev,resources=memberclusters;hostnameclaims;domainpolicies,verbs=list;update

func main() {
	opts := manager.Flags("atrium-fleet", ":8094", ":8095", true)
	staleAfter := flag.Duration("stale-after", controllers.DefaultStaleAfter, "How long after a component's last report its MemberCluster turns Stale (and not Ready); the components report every 30s by default (--report-interval), so 2m is four missed reports.")
	opts.Parse()
	log := ctrl.Log.WithName("setup")
	ctx := ctrl.SetupSignalHandler()
	mgr, err := opts.NewManager(ctrl.Options{})
	if err != nil {
		log.Error(err, "creating manager")
		os.Exit(1)
	}
	if err := skew.Check(ctx, mgr.GetAPIReader(), "operators/fleet", skew.MemberClusters); err != nil {
		log.Error(err, "refusing to start")
		os.Exit(1)
	}
	if err := (&controllers.MemberReconciler{Client: mgr.GetClient(), StaleAfter: *staleAfter, HubVersion: version.Get().Version}).SetupWithManager(mgr); err != nil {
		log.Error(err, "setting up the MemberCluster controller")
		os.Exit(1)
	}
	if err := migrate.Add(mgr, skew.MemberClusters.CRD, skew.HostnameClaims.CRD, skew.DomainPolicies.CRD); err != nil {
		log.Error(err, "setting up storage-version migration")
		os.Exit(1)
	}
	log.Info("starting fleet operator", "staleAfter", *staleAfter)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}
