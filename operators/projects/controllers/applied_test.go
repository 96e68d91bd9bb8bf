package controllers

import (
	"context"
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/atrium-dev/atrium/internal/manager"
)

// An apply is skipped while nobody but the status writers touched the
// object since: a ResourceQuota's usage changes all the time. Any other
// change (its limits, its labels) is drift, and the next pass applies.
func TestAppliedMemorySkipsStatusOnlyChanges(t *testing.T) {
	ctx := context.Background()
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "atrium-compute", Labels: map[string]string{"a": "b"}},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}}
	c := fake.NewClientBuilder().WithScheme(manager.Scheme()).WithObjects(quota).WithStatusSubresource(&corev1.ResourceQuota{}).Build()
	get := func() *corev1.ResourceQuota {
		q := &corev1.ResourceQuota{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(quota), q); err != nil {
			t.Fatal(err)
		}
		return q
	}
	key := appliedKey{gvk: corev1.SchemeGroupVersion.WithKind("ResourceQuota"), namespace: "web", name: "atrium-compute"}
	hash := [32]byte{1}
	var m appliedMemory
	m.record(key, hash, get().ResourceVersion)
	if !m.upToDate(ctx, c, key, hash) {
		t.Fatal("unchanged since the apply: not skipped")
	}

	q := get()
	q.Status.Used = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	if err := c.Status().Update(ctx, q); err != nil {
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
	} {
		m.record(key, hash, get().ResourceVersion)
		if !m.upToDate(ctx, c, key, hash) {
			t.Fatal("unchanged since the apply: not skipped")
		}
		q := get()
		drift(q)
		if err := c.Update(ctx, q); err != nil {
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
	ctx := context.Background()
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "atrium-compute"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}}
	c := fake.NewClientBuilder().WithScheme(manager.Scheme()).WithObjects(quota).WithStatusSubresource(&corev1.ResourceQuota{}).Build()
	q := &corev1.ResourceQuota{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(quota), q); err != nil {
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
	if err := c.Status().Update(ctx, q); err != nil {
		t.Fatal(err)
	}
	if !m.upToDate(ctx, c, key, hash) {
		t.Fatal("only the status changed since the answer: not skipped")
	}
}
