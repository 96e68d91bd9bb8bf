package hub

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/manager"
)

// Connect connects a member to the hub: a cluster whose cache holds this
// member's claims only (add it to the manager), and a direct client with a
// short timeout for writes, so a slow hub fails a request well within an
// API server's webhook timeout. The hostnames webhook decides admissions
// with both; the DNS operator reads claims from the cache and reports on
// them through the client. The rate limit of cfg (see Limits) applies to
// both; the timeout only to the direct client, never to the cache's watches.
func Connect(cfg *rest.Config, clusterName string, timeout time.Duration) (cluster.Cluster, client.Client, error) {
	sel := labels.SelectorFromSet(labels.Set{fleetv1.ClusterLabel: clusterName})
	hub, err := cluster.New(cfg, func(o *cluster.Options) {
		o.Scheme = manager.Scheme()
		o.Cache.ByObject = map[client.Object]cache.ByObject{&fleetv1.HostnameClaim{}: {Label: sel}}
		// A claim's managedFields (one entry per writer: admission, the
		// releaser's status) are a good part of its size, and nothing reads
		// them: the cache grows with the cluster's hostnames.
		o.Cache.DefaultTransform = cache.TransformStripManagedFields()
	})
	if err != nil {
		return nil, nil, fmt.Errorf("hub: %w", err)
	}
	live, err := client.New(directConfig(cfg, timeout), client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return nil, nil, fmt.Errorf("hub: %w", err)
	}
	return hub, live, nil
}

// directConfig is the config of the direct client: cfg's rate limit, and a
// timeout on every request.
func directConfig(cfg *rest.Config, timeout time.Duration) *rest.Config {
	out := rest.CopyConfig(cfg)
	out.Timeout = timeout
	return out
}
