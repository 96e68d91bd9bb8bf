package main

import (
	"context"
	goflag "flag"
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/apiservers/myprojects/server"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/hub"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/report"
	"github.com/atrium-dev/atrium/internal/skew"
	"github.com/atrium-dev/atrium/internal/version"
)

// The server reads Projects and, to check who is asking and whether they
// may, reviews tokens and access with the cluster and reads the front
// proxy's client CA, which the API server publishes in kube-system (by
// name: a ClusterRole, since a namespaced binding would be moved into
// atrium-system by config/default).
// +kubebuilder:rbac:groups=tenancy.atrium.dev,resources=projects,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,resourceNames=extension-apiserver-authentication,verbs=get;list;watch
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
// The start-up check of the CRDs it reads (package skew).
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get,resourceNames=projects.tenancy.atrium.dev

func main() {
	opts := server.NewOptions()
	fs := pflag.CommandLine
	opts.SecureServing.AddFlags(fs)
	opts.Authentication.AddFlags(fs)
	opts.Authorization.AddFlags(fs)
	printVersion := fs.Bool("version", false, "Print the binary's version, git revision, build date and Go version, and exit.")
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "Kubeconfig of the cluster (its Projects, token and access reviews); empty means the pod's ServiceAccount.")
	qps := fs.Float32("kube-api-qps", 50, "Client-side limit of requests per second to the cluster's API server (the cache's list and watch; reviews are cached by the generic server); 0 means no limit.")
	burst := fs.Int("kube-api-burst", 100, "Requests allowed in a burst when --kube-api-qps is positive.")
	reportFlags := goflag.NewFlagSet("report", goflag.ExitOnError)
	clusterName := reportFlags.String("cluster-name", "", "This member cluster's name in the fleet (required): the MemberCluster at the hub it reports to.")
	hubFlags := hub.RegisterFlags(reportFlags, report.HubDefaults, report.HubWhy)
	reportInterval := report.RegisterFlags(reportFlags)
	fs.AddGoFlagSet(reportFlags)
	klogFlags := goflag.NewFlagSet("klog", goflag.ExitOnError)
	klog.InitFlags(klogFlags)
	fs.AddGoFlagSet(klogFlags)
	pflag.Parse()
	if *printVersion {
		fmt.Println(version.Get())
		os.Exit(0)
	}
	klog.InfoS("build", version.Get().KeysAndValues()...)
	if soft := manager.SetMemoryLimit(); soft > 0 {
		klog.InfoS("Go memory limit from the container's", "bytes", soft)
	}
	ctrl.SetLogger(klog.NewKlogr())
	rep := report.Options{Component: components.MyProjects, Cluster: *clusterName, Interval: *reportInterval}
	if err := run(opts, *kubeconfig, *qps, *burst, hubFlags, rep); err != nil {
		klog.ErrorS(err, "myprojects API server stopped")
		os.Exit(1)
	}
}

func run(opts *server.Options, kubeconfig string, qps float32, burst int, hubFlags *hub.Flags, rep report.Options) error {
	ctx := ctrl.SetupSignalHandler()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = qps, burst
	if qps <= 0 {
		cfg.QPS, cfg.Burst = -1, 0
	}
	direct, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return err
	}
	if err := skew.Check(ctx, direct, rep.Component.Folder, skew.Projects); err != nil {
		return err
	}
	projects, err := cache.New(cfg, cache.Options{Scheme: manager.Scheme()})
	if err != nil {
		return err
	}
	// Registered before the cache starts, so readiness waits for it.
	inf, err := projects.GetInformer(ctx, &tenancyv1.Project{})
	if err != nil {
		return err
	}
	// It reports from every replica (no leader election), ready once its
	// Projects are cached: what it serves is read from there.
	hubCfg, err := hubFlags.RESTConfig(cfg)
	if err != nil {
		return err
	}
	reporter, err := report.New(rep, hubCfg, hubFlags.Timeout)
	if err != nil {
		return err
	}
	reporter.Ready = func(context.Context) error {
		if !inf.HasSynced() {
			return fmt.Errorf("cache of Project not filled yet")
		}
		return nil
	}
	go func() { _ = reporter.Start(ctx) }()
	go func() {
		if err := projects.Start(ctx); err != nil {
			klog.ErrorS(err, "Projects cache stopped")
			os.Exit(1)
		}
	}()
	klog.InfoS("serving myprojects", "group", "access.tenancy.atrium.dev")
	return server.Run(ctx, opts, projects, kubeconfig)
}
