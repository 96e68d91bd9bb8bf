package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// A claim the cache holds as nudged (its binding annotation shared as
// BindingAsWanted) is not patched again; one not nudged is. The client
// holds no claim, so any patch fails and shows in the outcome.
func TestNudgeReadsTheSharedBinding(t *testing.T) {
	var patches int
	c := fake.NewClientBuilder().WithInterceptorFuncs(interceptorPatch(func() { patches++ })).Build()
	r := &VolumeReconciler{Client: c}
	claim := func(a map[string]string) *corev1.PersistentVolumeClaim {
		out, err := TrimClaim(&corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: "v", Annotations: a},
			Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: "atrium-u"}})
		if err != nil {
			t.Fatal(err)
		}
		return out.(*corev1.PersistentVolumeClaim).DeepCopy() // as a cache read hands it
	}
	if o := r.nudge(context.Background(), claim(map[string]string{BindingAnnotation: "atrium-u"})); o != nil || patches != 0 {
		t.Fatalf("a nudged claim was patched again (%d patches): %+v", patches, o)
	}
	for _, a := range []map[string]string{nil, {BindingAnnotation: "atrium-x"}} {
		patches = 0
		if o := r.nudge(context.Background(), claim(a)); o == nil || patches != 1 {
			t.Fatalf("a claim not nudged (annotations %v) was not patched: %d patches", a, patches)
		}
	}
	if bindingAsWanted[BindingAnnotation] != BindingAsWanted || len(bindingAsWanted) != 1 {
		t.Fatalf("the shared map was written: %v", bindingAsWanted)
	}
}

func interceptorPatch(count func()) interceptor.Funcs {
	return interceptor.Funcs{Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
		count()
		return c.Patch(ctx, obj, patch, opts...)
	}}
}
