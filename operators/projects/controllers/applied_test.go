package controllers

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/manager"
)

// viewClient reads objects as the operator's cache keeps them.
type viewClient struct{ client.Client }

func (c viewClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := c.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	v, err := ownedView(obj.DeepCopyObject())
	if err != nil {
		return err
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(v).Elem())
	return nil
}

// An apply is skipped while nobody but the status writers touched the
// object since: a ResourceQuota's usage changes all the time. Any other
// change (its limits, its labels) is drift, and the next pass applies.
// Both with the objects whole (a cache without the operator's transforms)
// and as the operator's cache keeps them (ownedView).
func TestAppliedMemorySkipsStatusOnlyChanges(t *testing.T) {
	t.Run("whole objects", func(t *testing.T) { testAppliedMemorySkipsStatusOnlyChanges(t, false) })
	t.Run("cached views", func(t *testing.T) { testAppliedMemorySkipsStatusOnlyChanges(t, true) })
}

func testAppliedMemorySkipsStatusOnlyChanges(t *testing.T, views bool) {
	ctx := context.Background()
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "atrium-compute", Labels: map[string]string{"a": "b"}},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}}
	var c client.Client = fake.NewClientBuilder().WithScheme(manager.Scheme()).WithObjects(quota).WithStatusSubresource(&corev1.ResourceQuota{}).Build()
	whole := c
	if views {
		c = viewClient{c}
	}
	// The writes are others': to the whole object.
	get := func() *corev1.ResourceQuota {
		q := &corev1.ResourceQuota{}
		if err := whole.Get(ctx, client.ObjectKeyFromObject(quota), q); err != nil {
			t.Fatal(err)
		}
		return q
	}
	content := func() [32]byte {
		c, ok := contentOf(get())
		if !ok {
			t.Fatal("no content")
		}
		return c
	}
	key := appliedKey{gvk: corev1.SchemeGroupVersion.WithKind("ResourceQuota"), namespace: "web", name: "atrium-compute"}
	hash := [32]byte{1}
	var m appliedMemory
	m.record(key, hash, content())
	if !m.upToDate(ctx, c, key, hash) {
		t.Fatal("unchanged since the apply: not skipped")
	}

	q := get()
	q.Status.Used = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	if err := whole.Status().Update(ctx, q); err != nil {
		t.Fatal(err)
	}
	if !m.upToDate(ctx, c, key, hash) {
		t.Fatal("only the status changed: not skipped")
	}
	if m.upToDate(ctx, c, key, [32]byte{2}) {
		t.Fatal("skipped an apply of other content")
	}

	for _, drift := range []func(*corev1.ResourceQuota){
		func(q *corev1.ResourceQuota) { q.Spec.Hard[corev1.ResourceCPU] = resource.MustParse("64") },
		func(q *corev1.ResourceQuota) { q.Labels["a"] = "changed" },
		func(q *corev1.ResourceQuota) { q.Labels[tenancyv1.ProjectLabel] = "other" },
		func(q *corev1.ResourceQuota) { q.Annotations = map[string]string{"note": "mine"} },
		func(q *corev1.ResourceQuota) {
			q.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}
		},
		func(q *corev1.ResourceQuota) {
			q.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "1"}}
		},
	} {
		m.record(key, hash, content())
		if !m.upToDate(ctx, c, key, hash) {
			t.Fatal("unchanged since the apply: not skipped")
		}
		q := get()
		drift(q)
		if err := whole.Update(ctx, q); err != nil {
			t.Fatal(err)
		}
		if m.upToDate(ctx, c, key, hash) {
			t.Fatalf("drift skipped: %+v", get())
		}
	}
}

// The server's answer to an apply tells what the object is: a status
// write that follows at once is no reason to apply again, even before
// the cache showed the applied version.
func TestAppliedMemoryLearnsFromTheAnswer(t *testing.T) {
	t.Run("whole objects", func(t *testing.T) { testAppliedMemoryLearnsFromTheAnswer(t, false) })
	t.Run("cached views", func(t *testing.T) { testAppliedMemoryLearnsFromTheAnswer(t, true) })
}

func testAppliedMemoryLearnsFromTheAnswer(t *testing.T, views bool) {
	ctx := context.Background()
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "atrium-compute"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}}
	var c client.Client = fake.NewClientBuilder().WithScheme(manager.Scheme()).WithObjects(quota).WithStatusSubresource(&corev1.ResourceQuota{}).Build()
	whole := c
	if views {
		c = viewClient{c}
	}
	q := &corev1.ResourceQuota{}
	if err := whole.Get(ctx, client.ObjectKeyFromObject(quota), q); err != nil {
		t.Fatal(err)
	}
	// The answer, the whole object, as the API server leaves it in the
	// apply configuration.
	q.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"}
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	answer := &corev1ac.ResourceQuotaApplyConfiguration{}
	if err := json.Unmarshal(b, answer); err != nil {
		t.Fatal(err)
	}
	key := appliedKey{gvk: corev1.SchemeGroupVersion.WithKind("ResourceQuota"), namespace: "web", name: "atrium-compute"}
	hash := [32]byte{1}
	var m appliedMemory
	m.recordAnswer(c.Scheme(), key, hash, answer)

	q.Status.Used = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	if err := whole.Status().Update(ctx, q); err != nil {
		t.Fatal(err)
	}
	if !m.upToDate(ctx, c, key, hash) {
		t.Fatal("only the status changed since the answer: not skipped")
	}
}

func benchQuota() *corev1.ResourceQuota {
	return &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "atrium-quota", Namespace: "bench-00001", UID: "0b5e6c1e-1111-2222-3333-444455556666", ResourceVersion: "12345",
			Labels:          map[string]string{tenancyv1.ProjectLabel: "bench-00001"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "tenancy.atrium.dev/v1alpha1", Kind: "Project", Name: "bench-00001", UID: "abc"}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "atrium-projects"}}},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"cpu": resource.MustParse("4"), "memory": resource.MustParse("8Gi"), "pods": resource.MustParse("20")}},
		Status: corev1.ResourceQuotaStatus{Hard: corev1.ResourceList{"cpu": resource.MustParse("4")},
			Used: corev1.ResourceList{"cpu": resource.MustParse("0")}},
	}
}

// contentOf hashes a copy: the object it is given, which may be the
// cache's, is left as it was.
func TestContentOfLeavesTheObjectAlone(t *testing.T) {
	q := benchQuota()
	q.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"}
	before := q.DeepCopy()
	if _, ok := contentOf(q); !ok {
		t.Fatal("no content")
	}
	if !reflect.DeepEqual(q, before) {
		t.Fatalf("contentOf changed its object: %+v", q)
	}
}

func BenchmarkContentOf(b *testing.B) {
	q := benchQuota()
	b.ReportAllocs()
	for b.Loop() {
		contentOf(q)
	}
}
