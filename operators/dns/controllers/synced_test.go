package controllers_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/atrium-dev/atrium/operators/dns/controllers"
)

// The zone controller's sources say their kind is synced only once the
// cache holds every object of it, and say why when the kind is not served.
func TestSourcesSyncedWhenStored(t *testing.T) {
	var m *member
	for _, mb := range members {
		m = mb
		break
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "synced-"}}
	if err := m.env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: fmt.Sprintf("cm-%03d", i)}}
		if err := m.env.Client.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	c, err := cache.New(m.env.Config, cache.Options{Scheme: m.env.Scheme, DefaultNamespaces: map[string]cache.Config{ns.Name: {}}})
	if err != nil {
		t.Fatal(err)
	}
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	src := controllers.SyncedWhenStored(source.Kind[client.Object](c, cm, &handler.EnqueueRequestForObject{}), c, cm)
	if err := src.Start(ctx, q); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if err := src.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion("v1")
	list.SetKind("ConfigMapList")
	if err := c.List(ctx, list, client.InNamespace(ns.Name)); err != nil {
		t.Fatal(err)
	}
	mine := 0
	for _, item := range list.Items {
		if len(item.GetName()) == 6 && item.GetName()[:3] == "cm-" {
			mine++
		}
	}
	if mine != n {
		t.Fatalf("synced with %d of the %d ConfigMaps in the cache", mine, n)
	}

	missing := &unstructured.Unstructured{}
	missing.SetAPIVersion("nowhere.example.test/v1")
	missing.SetKind("Nothing")
	if err := controllers.SyncedWhenStored(source.Kind[client.Object](c, missing, &handler.EnqueueRequestForObject{}), c, missing).WaitForSync(ctx); err == nil {
		t.Fatal("a kind the cluster does not serve synced")
	}
	// Stopping is not a failure.
	stopped, stop := context.WithCancel(ctx)
	stop()
	other := &corev1.Secret{}
	if err := controllers.SyncedWhenStored(source.Kind[client.Object](c, other, &handler.EnqueueRequestForObject{}), c, other).WaitForSync(stopped); err != nil {
		t.Fatalf("stopped: %v", err)
	}
}
