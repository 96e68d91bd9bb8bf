package controllers

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Objects of a cache's first list ask for no sync of their own (the sync
// at start reads them); every later change does.
func TestBatchLeavesTheFirstListToTheStartSync(t *testing.T) {
	r := &ZoneReconciler{Batch: time.Second}
	h := batch[client.Object](r)
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	obj := &unstructured.Unstructured{}
	ctx := context.Background()

	h.Create(ctx, event.TypedCreateEvent[client.Object]{Object: obj, IsInInitialList: true}, q)
	if q.Len() != 0 {
		t.Fatalf("an object of the first list asked for a sync")
	}
	h.Create(ctx, event.TypedCreateEvent[client.Object]{Object: obj}, q)
	if q.Len() != 1 {
		t.Fatalf("a new object asked for %d syncs, want 1", q.Len())
	}
	item, _ := q.Get()
	q.Done(item)
	q.Forget(item)
	h.Update(ctx, event.TypedUpdateEvent[client.Object]{ObjectOld: obj, ObjectNew: obj}, q)
	h.Delete(ctx, event.TypedDeleteEvent[client.Object]{Object: obj}, q)
	if q.Len() != 1 {
		t.Fatalf("an update and a delete asked for %d syncs, want 1", q.Len())
	}
}
