package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/hub"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/migrate"
	"github.com/atrium-dev/atrium/internal/report"
	"github.com/atrium-dev/atrium/internal/skew"
	"github.com/atrium-dev/atrium/operators/pages/controllers"
	"github.com/atrium-dev/atrium/operators/pages/gitlab"
)

// Leader election, in the component's own namespace only, with the events
// it records about its Lease.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=system
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch,namespace=system
// The start-up check of the CRDs it serves (package skew).
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get,resourceNames=gitlabpagessites.pages.atrium.dev
// Storage-version migration of the CRDs it owns (package migrate): each
// CRD watched by name, its objects rewritten unchanged, storedVersions
// recorded once they all are.
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch,resourceNames=gitlabpagessites.pages.atrium.dev
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions/status,verbs=update,resourceNames=gitlabpagessites.pages.atrium.dev

func main() {
	opts := manager.Flags("atrium-pages", ":8088", ":8089", true)
	gitlabURL := flag.String("gitlab-url", "", "URL of the GitLab instance (required), such as https://gitlab.example.org.")
	tokenFile := flag.String("gitlab-token-file", "", "File holding the bot user's GitLab token (required; mount a Secret). An admin's token lets a resync read every site's domain in one paginated list.")
	timeout := flag.Duration("gitlab-timeout", 10*time.Second, "Timeout of each GitLab request.")
	qps := flag.Float64("gitlab-qps", 10, "Requests per second to GitLab at most; beyond it sites wait their turn (requeued, no worker blocks).")
	burst := flag.Int("gitlab-burst", 20, "Requests to GitLab allowed at once above --gitlab-qps.")
	var front controllers.Front
	flag.StringVar(&front.Host, "pages-front", "", "DNS name of the fleet's GitLab Pages servers (required): each site's Ingress routes its hostname there.")
	port := flag.Int("pages-front-port", 443, "Port of the GitLab Pages servers.")
	flag.StringVar(&front.IngressClass, "ingress-class", "", "IngressClass of the sites' Ingresses; empty for the cluster's default.")
	identities := flag.String("identity-map", "", "YAML file mapping Kubernetes users to GitLab users (users, stripPrefixes, stripSuffixes); by default a user is the GitLab user of the same name.")
	resync := flag.Duration("resync", 10*time.Minute, "How often every site is checked against GitLab without an event.")
	fresh := flag.Duration("gitlab-fresh", 0, "How long a read of GitLab is reused by the sites of the same GitLab project; defaults to --resync, so that a resync reads each GitLab project once (drift made in GitLab by hand is then repaired within two resyncs).")
	accessFresh := flag.Duration("access-fresh", time.Hour, "How long a Project owner's access level in a GitLab project is reused: losing Maintainer in GitLab stops changes within it.")
	concurrency := flag.Int("concurrency", 8, "Sites reconciled at once.")
	verifyAfter := flag.Duration("verify-after", 10*time.Second, "First wait before GitLab is asked to verify a new domain (its record must reach DNS); doubles up to --max-backoff.")
	minBackoff := flag.Duration("min-backoff", time.Second, "First wait after GitLab fails; doubles with each failure in a row.")
	maxBackoff := flag.Duration("max-backoff", 5*time.Minute, "Longest wait after GitLab fails or between verifications.")
	pprofAddr := flag.String("pprof-bind-address", "0", "Address of Go's pprof endpoints (/debug/pprof/: a heap profile, say); 0 turns them off.")
	clusterName := flag.String("cluster-name", "", "This member cluster's name in the fleet (required): the MemberCluster at the hub it reports to.")
	hubFlags := hub.RegisterFlags(flag.CommandLine, report.HubDefaults, report.HubWhy)
	reportInterval := report.RegisterFlags(flag.CommandLine)
	opts.Parse()
	log := ctrl.Log.WithName("setup")

	token, err := os.ReadFile(*tokenFile)
	if err != nil || strings.TrimSpace(string(token)) == "" || *gitlabURL == "" || front.Host == "" {
		log.Error(err, "--gitlab-url, --pages-front and a non-empty --gitlab-token-file are needed")
		os.Exit(2)
	}
	front.Port = int32(*port)
	ids, err := controllers.LoadIdentities(*identities)
	if err != nil {
		log.Error(err, "identity mapping")
		os.Exit(2)
	}
	gl, err := gitlab.New(gitlab.Config{URL: *gitlabURL, Token: strings.TrimSpace(string(token)), Timeout: *timeout, QPS: *qps, Burst: *burst})
	if err != nil {
		log.Error(err, "GitLab client")
		os.Exit(2)
	}
	if *fresh == 0 {
		*fresh = *resync
	}
	// Only the sites' own Ingresses and the operator's Services are cached, and of sites,
	// namespaces and Projects only what the operator reads (see
	// controllers.CacheOptions).
	cacheOpts, err := controllers.CacheOptions()
	if err != nil {
		log.Error(err, "cache options")
		os.Exit(1)
	}
	ctx := ctrl.SetupSignalHandler()
	mgr, err := opts.NewManager(ctrl.Options{PprofBindAddress: *pprofAddr, Cache: cacheOpts})
	if err != nil {
		log.Error(err, "creating manager")
		os.Exit(1)
	}
	recorder, err := manager.EventRecorder(mgr, "atrium-pages")
	if err != nil {
		log.Error(err, "event recorder")
		os.Exit(1)
	}
	r := &controllers.SiteReconciler{
		Client: mgr.GetClient(), Secrets: mgr.GetAPIReader(),
		State:      &controllers.State{GitLab: gl, Fresh: *fresh, AccessFresh: *accessFresh},
		Identities: ids, Front: front, Recorder: recorder,
		Resync: *resync, VerifyAfter: *verifyAfter, MinBackoff: *minBackoff, MaxBackoff: *maxBackoff,
	}
	if err := r.SetupWithManager(mgr, *concurrency); err != nil {
		log.Error(err, "setting up the controller")
		os.Exit(1)
	}
	if err := migrate.Add(mgr, skew.GitLabPagesSite.CRD); err != nil {
		log.Error(err, "setting up storage-version migration")
		os.Exit(1)
	}
	hubCfg, err := hubFlags.RESTConfig(mgr.GetConfig())
	if err == nil {
		err = report.Wire(ctx, mgr, report.Options{Component: components.Pages, Cluster: *clusterName, Interval: *reportInterval, Leader: true},
			hubCfg, hubFlags.Timeout, opts.ProbeAddr, skew.GitLabPagesSite)
	}
	if err != nil {
		log.Error(err, "reporting to the hub")
		os.Exit(1)
	}
	log.Info("starting", "gitlab", *gitlabURL, "pagesFront", fmt.Sprintf("%s:%d", front.Host, front.Port))
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}
