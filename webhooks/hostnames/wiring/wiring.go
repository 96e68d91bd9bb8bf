package wiring

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/hub"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/sources"
	"github.com/atrium-dev/atrium/webhooks/hostnames/admission"
	"github.com/atrium-dev/atrium/webhooks/hostnames/claims"
	"github.com/atrium-dev/atrium/webhooks/hostnames/policy"
	"github.com/atrium-dev/atrium/webhooks/hostnames/policysync"
)

// HubDefaults are the webhook's defaults for the hub flags (hub.Flags).
//
// Admission sends one request to the hub for each new hostname it
// reserves, and the claims releaser up to two more (the claim's Ready
// condition while it waits for its object, then once it is in use), all
// from one budget: 500 a second lets a cluster add well over 100
// hostnames a second, and the burst of 1,000 takes a GitOps sync of a few
// hundred at once without a wait. client-go's default of 5 a second made
// admissions wait after the first ten.
var HubDefaults = hub.Flags{Timeout: 3 * time.Second, Limits: hub.Limits{QPS: 500, Burst: 1000}}

// Options are the settings of one member's hostnames webhook.
type Options struct {
	// Cluster is this member's name in the fleet.
	Cluster string
	// Hub reaches the hub's API server, with the webhook's rate limit of
	// requests to it (hub.Flags.RESTConfig builds it from the flags).
	Hub *rest.Config
	// HubTimeout bounds one request to the hub.
	HubTimeout time.Duration
	// Grace is how long a reservation waits for its object.
	Grace time.Duration
	// Resync is how often every claim is checked without an event.
	Resync time.Duration
	// Metrics records decisions; nil records nothing.
	Metrics *admission.Metrics
}

// Webhook is one replica's hostnames webhook.
type Webhook struct {
	// Handler decides admissions.
	Handler *admission.Hostnames
	// Ready is the replica's readiness, also registered with the manager's
	// /readyz: the webhook server is serving, the caches admission reads
	// are filled, and the policy engine holds every ConstraintTemplate and
	// constraint.
	Ready healthz.Checker
}

// Setup adds the hostnames webhook to mgr, whose client must cache
// unstructured objects (the source kinds are read as unstructured).
//
// Everything admission depends on runs on every replica, leader or not: the
// webhook server, the caches (this cluster's Namespaces, Projects and
// ProjectTiers, and its claims at the hub) and the policy loader. Only the
// claims releaser, which deletes claims at the hub, runs on the leader
// alone.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) (*Webhook, error) {
	hubCluster, live, err := hub.Connect(o.Hub, o.Cluster, o.HubTimeout)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(hubCluster); err != nil {
		return nil, err
	}
	engine, err := policy.New(ctx)
	if err != nil {
		return nil, err
	}
	sync := &policysync.Sync{Engine: engine, Client: mgr.GetClient(), Cache: mgr.GetCache()}
	if err := sync.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	h := &admission.Hostnames{
		Client:   mgr.GetClient(),
		Reserver: &claims.Reserver{Hub: live, Index: hubCluster.GetCache(), Cluster: o.Cluster},
		Checks: []admission.Check{
			admission.FleetDomains{Policies: hubCluster.GetCache(), Cluster: o.Cluster},
			admission.TierDomains{Client: mgr.GetClient(), Claims: hubCluster.GetCache()},
			policysync.Check{Engine: engine},
		},
		Metrics: o.Metrics,
	}
	mgr.GetWebhookServer().Register(admission.Path, &webhook.Admission{Handler: h})
	releaser := &claims.Releaser{
		Hub: live, Claims: hubCluster.GetCache(), Local: mgr.GetClient(),
		Cluster: o.Cluster, Grace: o.Grace, Resync: o.Resync,
		Kinds: sources.Served(mgr.GetRESTMapper()),
	}
	if err := releaser.SetupWithManager(mgr, hubCluster); err != nil {
		return nil, err
	}

	// The caches admission reads, registered now so that every replica
	// fills them at start (not only the leader, whose releaser watches
	// claims, and not at the first request).
	local, err := manager.InformersSynced(ctx, mgr.GetCache(), &corev1.Namespace{}, &tenancyv1.Project{}, &tenancyv1.ProjectTier{})
	if err != nil {
		return nil, err
	}
	index, err := manager.InformersSynced(ctx, hubCluster.GetCache(), &fleetv1.HostnameClaim{}, &fleetv1.DomainPolicy{})
	if err != nil {
		return nil, err
	}
	checks := []check{
		{"webhook", mgr.GetWebhookServer().StartedChecker()},
		{"caches", func(r *http.Request) error { return errors.Join(local(r), index(r)) }},
		{"policies", sync.Synced},
	}
	for _, c := range checks {
		if err := mgr.AddReadyzCheck(c.name, c.check); err != nil {
			return nil, err
		}
	}
	return &Webhook{Handler: h, Ready: all(checks)}, nil
}

type check struct {
	name  string
	check healthz.Checker
}

// all passes when every check passes.
func all(checks []check) healthz.Checker {
	return func(r *http.Request) error {
		var errs []error
		for _, c := range checks {
			if err := c.check(r); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
			}
		}
		return errors.Join(errs...)
	}
}

// CacheTransform is the webhook's cache transform (the manager's
// cache.Options.DefaultTransform). The webhook caches every object of the
// source kinds in the cluster, for the claims releaser, which only asks
// each whether it still carries a hostname (sources.Uses); so of those it
// keeps the object's identity and its hostnames as written, in one list
// (sources.Slim), and drops the rest: their status, annotations (often a
// kubectl last-applied-configuration copy of the whole object), labels,
// managedFields and the spec. Of every other object only
// the managedFields go. The webhook never writes the objects it caches, so
// nothing it writes can lose a dropped field.
func CacheTransform(in any) (any, error) {
	u, ok := in.(*unstructured.Unstructured)
	if !ok {
		return stripManagedFields(in)
	}
	src, ok := sources.For(u.GroupVersionKind().GroupKind())
	if !ok {
		return stripManagedFields(in)
	}
	return sources.Slim(src, u), nil
}

var stripManagedFields = cache.TransformStripManagedFields()
