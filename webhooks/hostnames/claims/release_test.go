package claims

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/sources"
)

// A claim admission has just made is not told AwaitingObject while its
// object is on its way: its first condition is InUse once the object is
// seen, one status write at the hub. An object that does not come within
// the settling time is still reported as awaited, and then released after
// the grace period.
func TestReleaserLetsAFreshClaimSettle(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	h := host(t, "www.example.org")
	ingress, _ := sources.For(schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"})
	claim := existing(h, "c1", "web", fleetv1.SourceRef{Group: "networking.k8s.io", Kind: "Ingress", Name: "site", UID: "u1",
		ReservedAt: metav1.NewTime(now.Add(-time.Second))})
	for k, v := range overlapLabels(h) {
		claim.Labels[k] = v
	}
	var statusWrites []string
	hubClient := fake.NewClientBuilder().WithScheme(manager.Scheme()).WithObjects(claim).
		WithStatusSubresource(&fleetv1.HostnameClaim{}).
		WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			cl := obj.(*fleetv1.HostnameClaim)
			statusWrites = append(statusWrites, meta.FindStatusCondition(cl.Status.Conditions, "Ready").Reason)
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		}}).Build()
	local := fake.NewClientBuilder().WithScheme(manager.Scheme()).Build()
	r := &Releaser{Hub: hubClient, Claims: hubClient, Local: local, Cluster: "c1", Grace: time.Minute, Resync: 10 * time.Minute,
		Kinds: []sources.Source{ingress}, now: func() time.Time { return now }}
	req := ctrl.Request{NamespacedName: types.NamespacedName{Name: claim.Name}}
	reconcile := func() ctrl.Result {
		t.Helper()
		res, err := r.Reconcile(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	// Reserved a second ago, object not seen yet: no write, a look once
	// the settling time is up.
	if res := reconcile(); len(statusWrites) != 0 || res.RequeueAfter != settleFor-time.Second {
		t.Fatalf("fresh claim: status writes %v, next look in %s; want none, and %s", statusWrites, res.RequeueAfter, settleFor-time.Second)
	}
	// The object appears: the first and only write says InUse.
	if err := local.Create(context.Background(), &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
		"metadata": map[string]any{"name": "site", "namespace": "web", "uid": "u1"},
		"spec":     map[string]any{"rules": []any{map[string]any{"host": "www.example.org"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	reconcile()
	reconcile()
	if len(statusWrites) != 1 || statusWrites[0] != "InUse" {
		t.Fatalf("status writes %v, want one: InUse", statusWrites)
	}

	// Another fresh claim whose object never comes: nothing at first,
	// AwaitingObject once the settling time has passed.
	other := host(t, "api.example.org")
	late := existing(other, "c1", "web", fleetv1.SourceRef{Group: "networking.k8s.io", Kind: "Ingress", Name: "api", UID: "u2",
		ReservedAt: metav1.NewTime(now)})
	for k, v := range overlapLabels(other) {
		late.Labels[k] = v
	}
	if err := hubClient.Create(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	statusWrites = nil
	req.Name = late.Name
	if reconcile(); len(statusWrites) != 0 {
		t.Fatalf("status writes %v before the settling time, want none", statusWrites)
	}
	now = now.Add(settleFor)
	if reconcile(); len(statusWrites) != 1 || statusWrites[0] != "AwaitingObject" {
		t.Fatalf("status writes %v after the settling time, want one: AwaitingObject", statusWrites)
	}
}
