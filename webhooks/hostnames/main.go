package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/hub"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/report"
	"github.com/atrium-dev/atrium/internal/skew"
	"github.com/atrium-dev/atrium/webhooks/hostnames/admission"
	"github.com/atrium-dev/atrium/webhooks/hostnames/wiring"
)

// Each source kind's admission rule is a marker in its file of
// internal/sources.

// Leader election, in the component's own namespace only (a Role, not a
// ClusterRole: other controllers' leases, kube-system's among them, are not
// its to take), with the events it records about its Lease (core events).
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=system
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch,namespace=system
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=tenancy.atrium.dev,resources=projects;projecttiers,verbs=get;list;watch
// The start-up check of the CRDs it reads (package skew).
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get,resourceNames=projects.tenancy.atrium.dev;projecttiers.tenancy.atrium.dev;gitlabpagessites.pages.atrium.dev
// What the webhook does at the hub is in package hubrbac: the hub's role
// for this member's identity there, apart from this cluster's role.

func main() {
	opts := manager.Flags("atrium-hostnames", ":8084", ":8085", true)
	port := flag.Int("webhook-port", 9444, "Port the webhook is served on (HTTPS).")
	certDir := flag.String("cert-dir", "", "Directory holding tls.crt and tls.key; defaults to controller-runtime's.")
	clusterName := flag.String("cluster-name", "", "This member cluster's name in the fleet (required); it owns the hostnames claimed here.")
	hubFlags := hub.RegisterFlags(flag.CommandLine, wiring.HubDefaults,
		"Admission reserves each new hostname with one request, and the claims releaser writes each claim's status; the default lets a cluster add well over 100 hostnames a second. Keep --hub-timeout well under the webhook's 10s.")
	grace := flag.Duration("grace-period", 2*time.Minute, "How long a reserved hostname waits for its object to be persisted before it is released.")
	resync := flag.Duration("resync", 10*time.Minute, "How often every claim of this cluster is checked without an event.")
	reportInterval := report.RegisterFlags(flag.CommandLine)
	opts.Parse()
	log := ctrl.Log.WithName("setup")
	if errs := validation.IsValidLabelValue(*clusterName); *clusterName == "" || len(errs) > 0 {
		log.Error(fmt.Errorf("%v", errs), "--cluster-name must be a non-empty label value")
		os.Exit(2)
	}
	if err := run(opts, hubFlags, *port, *certDir, *clusterName, *grace, *resync, *reportInterval); err != nil {
		log.Error(err, "hostnames webhook stopped")
		os.Exit(1)
	}
}

// run serves admission on every replica; with --leader-elect (the default,
// for the releaser) only the claims releaser waits to lead.
func run(opts *manager.Options, hubFlags *hub.Flags, port int, certDir, clusterName string, grace, resync, reportInterval time.Duration) error {
	ctx := ctrl.SetupSignalHandler()
	mgr, err := opts.NewManager(ctrl.Options{
		WebhookServer: webhook.NewServer(webhook.Options{Port: port, CertDir: certDir}),
		// Of the source objects it watches, the cache keeps only what the
		// claims releaser reads.
		Cache: cache.Options{DefaultTransform: wiring.CacheTransform},
		// Source objects are read as unstructured; serve them from the cache.
		Client: client.Options{Cache: &client.CacheOptions{Unstructured: true}},
	})
	if err != nil {
		return err
	}
	hubCfg, err := hubFlags.RESTConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	// Setup adds the readiness checks: webhook serving, caches filled,
	// policies loaded.
	if _, err := wiring.Setup(ctx, mgr, wiring.Options{
		Cluster: clusterName, Hub: hubCfg, HubTimeout: hubFlags.Timeout,
		Grace: grace, Resync: resync, Metrics: admission.NewMetrics(),
	}); err != nil {
		return err
	}
	// Every replica serves admission, so every replica reports (the last
	// writer wins).
	if err := report.Wire(ctx, mgr, report.Options{Component: components.Hostnames, Cluster: clusterName, Interval: reportInterval,
		HubNeeds: []skew.Need{skew.HostnameClaims, skew.DomainPolicies}},
		hubCfg, hubFlags.Timeout, opts.ProbeAddr, skew.Projects, skew.ProjectTiers, skew.GitLabPagesSite); err != nil {
		return err
	}
	ctrl.Log.Info("serving hostnames admission", "cluster", clusterName)
	return mgr.Start(ctx)
}
