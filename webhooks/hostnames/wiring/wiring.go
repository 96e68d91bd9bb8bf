package wiring

import (
	"context"
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/atrium-dev/atrium/internal/hub"
	"github.com/atrium-dev/atrium/internal/sources"
	"github.com/atrium-dev/atrium/webhooks/hostnames/admission"
	"github.com/atrium-dev/atrium/webhooks/hostnames/claims"
	"github.com/atrium-dev/atrium/webhooks/hostnames/policy"
	"github.com/atrium-dev/atrium/webhooks/hostnames/policysync"
)

// Options are the settings of one member's hostnames webhook.
type Options struct {
	// Cluster is this member's name in the fleet.
	Cluster string
	// Hub reaches the hub's API server.
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

// Setup adds the hostnames webhook to mgr, whose client must cache
// unstructured objects (the source kinds are read as unstructured).
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) (*admission.Hostnames, error) {
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
	if err := (&policysync.Sync{Engine: engine, Client: mgr.GetClient(), Cache: mgr.GetCache()}).SetupWithManager(mgr); err != nil {
		return nil, err
	}
	h := &admission.Hostnames{
		Client:   mgr.GetClient(),
		Reserver: &claims.Reserver{Hub: live, Index: hubCluster.GetCache(), Cluster: o.Cluster},
		Checks:   []admission.Check{admission.TierDomains{Client: mgr.GetClient()}, policysync.Check{Engine: engine}},
		Metrics:  o.Metrics,
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
	return h, nil
}
