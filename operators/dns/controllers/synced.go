package controllers

import (
	"context"
	"errors"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// storeSynced is a source (a source.Kind) whose WaitForSync returns as
// soon as the informer of its kind holds every object, told by a channel.
//
// The controller starts its workers only when every source is synced, and
// a source.Kind finds that out by polling every 100ms, twice over (the
// whole cache, then its own event handler): at a cold start, up to 0.2s
// after the lists were in, with 10,000 names waiting to be published. The
// zone controller needs no more than the store: every event asks for the
// same whole-zone sync, which reads the objects from the store, not from
// the events, so events still being handed out need not be waited for.
type storeSynced struct {
	source.TypedSource[reconcile.Request]
	cache cache.Cache
	obj   client.Object
}

// syncedWhenStored wraps a Kind source of obj in cache.
func syncedWhenStored(src source.TypedSource[reconcile.Request], c cache.Cache, obj client.Object) source.TypedSyncingSource[reconcile.Request] {
	return storeSynced{TypedSource: src, cache: c, obj: obj}
}

func (s storeSynced) WaitForSync(ctx context.Context) error {
	inf, err := s.cache.GetInformer(ctx, s.obj, cache.BlockUntilSynced(false))
	if err != nil {
		return err
	}
	select {
	case <-inf.HasSyncedChecker().Done():
		return nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			// Stopping, as source.Kind has it.
			return nil
		}
		return fmt.Errorf("timed out waiting for the cache of %T %s to sync", s.obj, s.obj.GetObjectKind().GroupVersionKind().Kind)
	}
}
