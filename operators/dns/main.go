package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/hub"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/report"
	"github.com/atrium-dev/atrium/internal/skew"
	"github.com/atrium-dev/atrium/operators/dns/controllers"
	"github.com/atrium-dev/atrium/operators/dns/provider"
)

// Leader election, in the component's own namespace only (a Role, not a
// ClusterRole: other controllers' leases, kube-system's among them, are not
// its to take), with the events it records about its Lease (core events).
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=system
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch,namespace=system
// The start-up check of the CRDs it reads (package skew).
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get,resourceNames=gitlabpagessites.pages.atrium.dev

func main() {
	opts := manager.Flags("atrium-dns", ":8086", ":8087", true)
	clusterName := flag.String("cluster-name", "", "This member cluster's name in the fleet (required): only hostnames it holds are published, and it is the owner id of its records in the zone.")
	// The hub serves the whole fleet: a cold start reporting on thousands of
	// claims is paced, not a flood.
	hubFlags := hub.RegisterFlags(flag.CommandLine, hub.Flags{Timeout: 5 * time.Second, Limits: controllers.HubLimits},
		"The operator reads claims from its cache and writes their status (DNSRegistered) at this pace, so a cold start with thousands of hostnames does not flood the hub the fleet relies on.")
	var p provider.Config
	flag.StringVar(&p.Provider, "provider", provider.RFC2136, "DNS provider: rfc2136 (BIND, Knot, PowerDNS with TSIG), pdns (PowerDNS HTTP API) or inmemory (development only: records live in the process).")
	zones := flag.String("zone", "", "Comma-separated DNS zones to publish in (required); hostnames outside them are not published.")
	flag.StringVar(&p.Server, "server", "", "rfc2136: host:port of the primary name server; pdns: URL of the API.")
	flag.StringVar(&p.TSIGKeyName, "tsig-key-name", "", "rfc2136: name of the TSIG key allowed to update and transfer the zones.")
	flag.StringVar(&p.TSIGAlgorithm, "tsig-algorithm", "hmac-sha256", "rfc2136: TSIG algorithm (hmac-sha256, hmac-sha512, …).")
	flag.StringVar(&p.TSIGSecretFile, "tsig-secret-file", "", "rfc2136: file holding the base64 TSIG secret (mount a Secret).")
	flag.IntVar(&p.BatchSize, "batch-size", 200, "rfc2136: records per update message.")
	flag.StringVar(&p.PDNSServerID, "pdns-server-id", "localhost", "pdns: the PowerDNS server id.")
	flag.StringVar(&p.PDNSAPIKeyFile, "pdns-api-key-file", "", "pdns: file holding the API key (mount a Secret).")
	targets := flag.String("default-targets", "", "Comma-separated addresses (IPs or a name) of the cluster's ingress front, for objects whose status names none (HTTPRoutes always use them).")
	ttl := flag.Duration("ttl", 5*time.Minute, "TTL of records whose object sets none.")
	batch := flag.Duration("batch", time.Second, "Shortest time between two syncs driven by changes: the first change after a quiet spell is written at once, the changes that follow are written together.")
	resync := flag.Duration("resync", 10*time.Minute, "How often the zone is read again to repair drift (records changed or deleted by hand).")
	conflictRetry := flag.Duration("conflict-retry", time.Minute, "How soon the zone is read again while a hostname is blocked by another owner's records.")
	statusConcurrency := flag.Int("status-concurrency", 8, "Claims reported on at the hub at once.")
	pprofAddr := flag.String("pprof-bind-address", "0", "Address of Go's pprof endpoints (/debug/pprof/: a heap profile, say); 0 turns them off.")
	reportInterval := report.RegisterFlags(flag.CommandLine)
	opts.Parse()
	log := ctrl.Log.WithName("setup")
	// external-dns logs through logrus: warnings and errors only, as JSON
	// like the rest of the operator's output.
	logrus.SetLevel(logrus.WarnLevel)
	logrus.SetFormatter(&logrus.JSONFormatter{})

	if errs := validation.IsValidLabelValue(*clusterName); *clusterName == "" || len(errs) > 0 {
		log.Error(fmt.Errorf("%v", errs), "--cluster-name must be a non-empty label value")
		os.Exit(2)
	}
	p.Zones = split(*zones)
	if err := p.Validate(); err != nil {
		log.Error(err, "invalid DNS provider configuration")
		os.Exit(2)
	}
	ctx := ctrl.SetupSignalHandler()
	dns, err := provider.New(ctx, p)
	if err != nil {
		log.Error(err, "DNS provider")
		os.Exit(2)
	}
	// Source objects are read as unstructured from the cache, trimmed.
	mgr, err := opts.NewManager(controllers.ManagerOptions(ctrl.Options{PprofBindAddress: *pprofAddr}))
	if err != nil {
		log.Error(err, "creating manager")
		os.Exit(1)
	}
	hubCfg, err := hubFlags.RESTConfig(mgr.GetConfig())
	if err != nil {
		log.Error(err, "hub")
		os.Exit(2)
	}
	recorder, err := manager.EventRecorder(mgr, "atrium-dns")
	if err != nil {
		log.Error(err, "event recorder")
		os.Exit(1)
	}
	if err := controllers.Setup(mgr, controllers.Config{
		Cluster: *clusterName, Hub: hubCfg, HubTimeout: hubFlags.Timeout,
		Provider: dns, OwnershipFirst: p.OwnershipFirst(), Zones: p.Zones, DefaultTargets: split(*targets),
		TTL: *ttl, Batch: *batch, Resync: *resync, ConflictRetry: *conflictRetry,
		StatusConcurrency: *statusConcurrency,
		Recorder:          recorder,
	}); err != nil {
		log.Error(err, "setting up the DNS controllers")
		os.Exit(1)
	}
	if err := report.Wire(ctx, mgr, report.Options{Component: components.DNS, Cluster: *clusterName, Interval: *reportInterval, Leader: true,
		HubNeeds: []skew.Need{skew.HostnameClaims}},
		hubCfg, hubFlags.Timeout, opts.ProbeAddr, skew.GitLabPagesSite); err != nil {
		log.Error(err, "reporting to the hub")
		os.Exit(1)
	}
	log.Info("starting DNS operator", "cluster", *clusterName, "provider", p.Provider, "zones", p.Zones)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
