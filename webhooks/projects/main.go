package main

import (
	"flag"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/hub"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/report"
	"github.com/atrium-dev/atrium/internal/skew"
	"github.com/atrium-dev/atrium/internal/slots"
	"github.com/atrium-dev/atrium/webhooks/projects/admission"
)

// The start-up check of the CRDs it admits and reads (package skew).
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get,resourceNames=projects.tenancy.atrium.dev;projecttiers.tenancy.atrium.dev;openstackvolumes.storage.atrium.dev

func main() {
	opts := manager.Flags("atrium-projects-webhook", ":8082", ":8083", false)
	port := flag.Int("webhook-port", 9443, "Port the webhooks are served on (HTTPS).")
	certDir := flag.String("cert-dir", "", "Directory holding tls.crt and tls.key; defaults to controller-runtime's.")
	defaultTier := flag.String("default-tier", "standard", "Tier given to Projects created without one; empty makes spec.tier required.")
	reserved := flag.String("reserved-names", strings.Join(admission.DefaultReserved, ","), "Comma-separated name patterns no Project may take (the namespaces tiers admit traffic from are reserved as well).")
	slotNamespace := flag.String("slot-namespace", "", "Namespace of the Leases that count each user's Projects (see docs/security.md); defaults to the pod's namespace. The projects operator must be given the same.")
	slotGrace := flag.Duration("slot-grace", slots.DefaultGrace, "How long a Project slot taken by a request whose Project was never stored stays counted; must exceed the API server's request timeout.")
	clusterName := flag.String("cluster-name", "", "This member cluster's name in the fleet (required): the MemberCluster at the hub it reports to.")
	hubFlags := hub.RegisterFlags(flag.CommandLine, report.HubDefaults, report.HubWhy)
	reportInterval := report.RegisterFlags(flag.CommandLine)
	opts.Parse()

	ctx := ctrl.SetupSignalHandler()
	log := ctrl.Log.WithName("setup")
	if manager.PodNamespace(*slotNamespace) == "" {
		log.Error(nil, "no namespace for the Project slots: set --slot-namespace or POD_NAMESPACE")
		os.Exit(2)
	}
	mgr, err := opts.NewManager(ctrl.Options{
		WebhookServer: webhook.NewServer(webhook.Options{Port: *port, CertDir: *certDir}),
	})
	if err != nil {
		log.Error(err, "creating manager")
		os.Exit(1)
	}
	h := &admission.Projects{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Authorizer:  admission.SubjectAccessReviews{Client: mgr.GetClient()},
		DefaultTier: *defaultTier,
		Reserved:    splitList(*reserved),
		Slots: &slots.Ledger{
			Client: mgr.GetClient(), Reader: mgr.GetAPIReader(),
			Namespace: manager.PodNamespace(*slotNamespace), Grace: *slotGrace,
		},
	}
	if err := h.SetupWithManager(ctx, mgr); err != nil {
		log.Error(err, "setting up webhooks")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		log.Error(err, "adding webhook readiness check")
		os.Exit(1)
	}
	// Every replica serves (no leader election): it is ready once the
	// caches admission reads are filled, so no request waits for them.
	caches, err := manager.InformersSynced(ctx, mgr.GetCache(), &tenancyv1.Project{}, &tenancyv1.ProjectTier{}, &corev1.Namespace{}, &storagev1.OpenStackVolume{})
	if err == nil {
		err = mgr.AddReadyzCheck("caches", caches)
	}
	if err != nil {
		log.Error(err, "adding cache readiness check")
		os.Exit(1)
	}
	// Every replica serves, so every replica reports (the last writer wins).
	hubCfg, err := hubFlags.RESTConfig(mgr.GetConfig())
	if err == nil {
		err = report.Wire(ctx, mgr, report.Options{Component: components.ProjectsWebhook, Cluster: *clusterName, Interval: *reportInterval, Leader: false},
			hubCfg, hubFlags.Timeout, opts.ProbeAddr, skew.Projects, skew.ProjectTiers, skew.OpenStackVolume)
	}
	if err != nil {
		log.Error(err, "reporting to the hub")
		os.Exit(1)
	}
	log.Info("serving Project and OpenStackVolume admission", "port", *port)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
