package controllers

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/slots"
)

// A Project created a moment ago whose slot the cache does not show yet
// is looked at again shortly, without a read of every slot from the API
// server; one that still holds none after that gets one.
func TestNewProjectWaitsForItsSlotInTheCache(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	p := &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "p-1", CreationTimestamp: metav1.NewTime(now.Add(-time.Second))},
		Spec: tenancyv1.ProjectSpec{Owner: "alice", Tier: "small"}}
	tier := &tenancyv1.ProjectTier{ObjectMeta: metav1.ObjectMeta{Name: "small"}, Spec: tenancyv1.ProjectTierSpec{MaxProjectsPerUser: ptr.To[int32](2)}}
	lists := 0
	c := fake.NewClientBuilder().WithScheme(manager.Scheme()).WithObjects(p, tier).
		WithIndex(&coordinationv1.Lease{}, slotIndex, func(o client.Object) []string {
			if uid := o.GetLabels()[slots.ProjectUIDLabel]; uid != "" {
				return []string{uid}
			}
			return nil
		}).Build()
	apiReader := interceptor.NewClient(c.(client.WithWatch), interceptor.Funcs{List: func(ctx context.Context, cl client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		lists++
		return cl.List(ctx, list, opts...)
	}})
	r := &ProjectReconciler{Client: c, Slots: &slots.Ledger{Client: c, Reader: apiReader, Namespace: "atrium-system"}, clock: func() time.Time { return now }}
	s := &scope{project: p, tier: tier}

	recheck, err := r.reconcileSlots(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if lists != 0 || recheck != slotSettle-time.Second {
		t.Fatalf("fresh Project: %d slot lists from the API server, next look in %s; want none, and %s", lists, recheck, slotSettle-time.Second)
	}
	var leases coordinationv1.LeaseList
	if err := c.List(ctx, &leases); err != nil || len(leases.Items) != 0 {
		t.Fatalf("slots taken for a fresh Project: %d, %v", len(leases.Items), err)
	}

	now = now.Add(slotSettle)
	if _, err := r.reconcileSlots(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, &leases); err != nil || len(leases.Items) != 1 || leases.Items[0].Labels[slots.ProjectUIDLabel] != "p-1" {
		t.Fatalf("slots after the settling time: %+v, %v; want the Project's one", leases.Items, err)
	}
}
