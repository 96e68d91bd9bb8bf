package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/webhooks/hostnames/admission"
	"github.com/atrium-dev/atrium/webhooks/hostnames/wiring"
)

// +kubebuilder:webhook:path=/validate-hostnames,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,groups=networking.k8s.io;gateway.networking.k8s.io;route.openshift.io;externaldns.k8s.io,resources=ingresses;httproutes;routes;dnsendpoints,verbs=create;update,versions=v1;v1alpha1,name=vhostnames.fleet.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10

// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=tenancy.atrium.dev,resources=projects;projecttiers,verbs=get;list;watch
// On the hub (the same role is bound there):
// +kubebuilder:rbac:groups=fleet.atrium.dev,resources=hostnameclaims,verbs=get;list;watch;create;update;delete

func main() {
	opts := manager.Flags("atrium-hostnames", ":8084", ":8085", true)
	port := flag.Int("webhook-port", 9444, "Port the webhook is served on (HTTPS).")
	certDir := flag.String("cert-dir", "", "Directory holding tls.crt and tls.key; defaults to controller-runtime's.")
	clusterName := flag.String("cluster-name", "", "This member cluster's name in the fleet (required); it owns the hostnames claimed here.")
	hubKubeconfig := flag.String("hub-kubeconfig", "", "Kubeconfig of the hub cluster; empty means this cluster is also the hub.")
	hubTimeout := flag.Duration("hub-timeout", 3*time.Second, "Timeout of one request to the hub; keep it well under the webhook's 10s.")
	grace := flag.Duration("grace-period", 2*time.Minute, "How long a reserved hostname waits for its object to be persisted before it is released.")
	resync := flag.Duration("resync", 10*time.Minute, "How often every claim of this cluster is checked without an event.")
	opts.Parse()
	log := ctrl.Log.WithName("setup")
	if errs := validation.IsValidLabelValue(*clusterName); *clusterName == "" || len(errs) > 0 {
		log.Error(fmt.Errorf("%v", errs), "--cluster-name must be a non-empty label value")
		os.Exit(2)
	}
	if err := run(opts, *port, *certDir, *clusterName, *hubKubeconfig, *hubTimeout, *grace, *resync); err != nil {
		log.Error(err, "hostnames webhook stopped")
		os.Exit(1)
	}
}

func run(opts *manager.Options, port int, certDir, clusterName, hubKubeconfig string, hubTimeout, grace, resync time.Duration) error {
	ctx := ctrl.SetupSignalHandler()
	mgr, err := opts.NewManager(ctrl.Options{
		WebhookServer: webhook.NewServer(webhook.Options{Port: port, CertDir: certDir}),
		// Source objects are read as unstructured; serve them from the cache.
		Client: client.Options{Cache: &client.CacheOptions{Unstructured: true}},
	})
	if err != nil {
		return err
	}
	hubCfg := mgr.GetConfig()
	if hubKubeconfig != "" {
		if hubCfg, err = clientcmd.BuildConfigFromFlags("", hubKubeconfig); err != nil {
			return fmt.Errorf("hub kubeconfig: %w", err)
		}
	}
	if _, err := wiring.Setup(ctx, mgr, wiring.Options{
		Cluster: clusterName, Hub: hubCfg, HubTimeout: hubTimeout,
		Grace: grace, Resync: resync, Metrics: admission.NewMetrics(),
	}); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return err
	}
	ctrl.Log.Info("serving hostnames admission", "cluster", clusterName)
	return mgr.Start(ctx)
}
