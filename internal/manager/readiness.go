package manager

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// InformersSynced registers c's informers for objs and returns a readiness
// check that passes once all of them have been filled from their first
// list, and from then on. Call it while setting up, before the manager
// starts: the manager then fills these caches before it starts anything
// else, and a replica is not sent requests that would wait for them (or
// fail, before the cache has started: the webhook server starts first).
func InformersSynced(ctx context.Context, c cache.Cache, objs ...client.Object) (healthz.Checker, error) {
	type named struct {
		name string
		inf  cache.Informer
	}
	var infs []named
	for _, o := range objs {
		inf, err := c.GetInformer(ctx, o, cache.BlockUntilSynced(false))
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("%T", o)
		if gvk, err := apiutil.GVKForObject(o, Scheme()); err == nil {
			name = gvk.Kind
		}
		infs = append(infs, named{name, inf})
	}
	var synced atomic.Bool
	return func(*http.Request) error {
		if synced.Load() {
			return nil
		}
		for _, i := range infs {
			if !i.inf.HasSynced() {
				return fmt.Errorf("cache of %s not filled yet", i.name)
			}
		}
		synced.Store(true)
		return nil
	}, nil
}

// CacheSynced is every binary's readiness check: ready once the manager's
// cache has filled every informer registered so far from its first list
// (a replica that answers from an empty cache, or an operator whose
// controllers have not seen what exists, is not ready: a rollout waits for
// it). It never blocks a probe for long, and stays ready once it was.
func CacheSynced(c cache.Cache) healthz.Checker {
	var synced atomic.Bool
	return func(req *http.Request) error {
		if synced.Load() {
			return nil
		}
		ctx, cancel := context.WithTimeout(req.Context(), 200*time.Millisecond)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return fmt.Errorf("caches not filled yet")
		}
		synced.Store(true)
		return nil
	}
}
