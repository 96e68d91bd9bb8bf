package controllers_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/controllers"
)

// What a tenant (or the binder) writes on volumes, claims and
// PersistentVolumes costs the operator's cache a digest at most, and what
// the operator reads is kept.
func TestTrimTransforms(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	managed := []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	out, err := controllers.TrimVolume(&storagev1.OpenStackVolume{
		ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: "v", UID: "u", ResourceVersion: "4", Generation: 2,
			Finalizers: []string{storagev1.Finalizer}, Labels: map[string]string{"team": "a"},
			Annotations: map[string]string{"example.org/bulk": big}, ManagedFields: managed},
		Spec:   storagev1.OpenStackVolumeSpec{SizeGiB: 3},
		Status: storagev1.OpenStackVolumeStatus{VolumeID: "vol-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	v := out.(*storagev1.OpenStackVolume)
	if v.Labels != nil || v.ManagedFields != nil || len(v.Annotations) != 1 || len(v.Annotations[controllers.AnnotationsDigest]) != 64 {
		t.Fatalf("volume in the cache: labels %v, %d annotations", v.Labels, len(v.Annotations))
	}
	if v.Spec.SizeGiB != 3 || v.Status.VolumeID != "vol-1" || v.UID != "u" || v.Generation != 2 || len(v.Finalizers) != 1 {
		t.Fatalf("trimmed away what the operator reads: %+v", v)
	}

	out, err = controllers.TrimClaim(&corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: "v", Labels: map[string]string{storagev1.VolumeUIDLabel: "u"},
			Annotations: map[string]string{"example.org/bulk": big, controllers.BindingAnnotation: "atrium-u",
				"pv.kubernetes.io/bind-completed": "yes"}, ManagedFields: managed},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "atrium-u",
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To("atrium-cinder"),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("3Gi")}}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Conditions:  []corev1.PersistentVolumeClaimCondition{{Type: corev1.PersistentVolumeClaimResizing, Message: big}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	pvc := out.(*corev1.PersistentVolumeClaim)
	if len(pvc.Annotations) != 1 || pvc.Annotations[controllers.BindingAnnotation] != controllers.BindingAsWanted || pvc.ManagedFields != nil {
		t.Fatalf("claim annotations in the cache = %v, want the binding annotation alone, as wanted", pvc.Annotations)
	}
	// The binding annotation: one shared map when it names the claim's
	// PersistentVolume; as it is when it names another (nudge then
	// writes it again), and only it.
	for name, tc := range map[string]struct {
		annotations map[string]string
		volumeName  string
		want        map[string]string
	}{
		"naming the claim's PersistentVolume": {map[string]string{controllers.BindingAnnotation: "atrium-w", "a": "b"}, "atrium-w",
			map[string]string{controllers.BindingAnnotation: controllers.BindingAsWanted}},
		"naming another": {map[string]string{controllers.BindingAnnotation: "atrium-x", "a": "b"}, "atrium-w",
			map[string]string{controllers.BindingAnnotation: "atrium-x"}},
		"empty, on a claim bound to none": {map[string]string{controllers.BindingAnnotation: ""}, "",
			map[string]string{controllers.BindingAnnotation: ""}},
		"absent": {map[string]string{"a": "b"}, "atrium-w", nil},
		// A tenant writing the marker on its own claim gains nothing: the
		// claim is taken as nudged, which spares only its own nudge (the
		// binder's periodic sync binds it), as writing the volume's name
		// there already could.
		"the marker, written by a tenant": {map[string]string{controllers.BindingAnnotation: controllers.BindingAsWanted}, "atrium-w",
			map[string]string{controllers.BindingAnnotation: controllers.BindingAsWanted}},
	} {
		out, err := controllers.TrimClaim(&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Annotations: tc.annotations},
			Spec: corev1.PersistentVolumeClaimSpec{VolumeName: tc.volumeName}})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.(*corev1.PersistentVolumeClaim).Annotations; !maps.Equal(got, tc.want) {
			t.Errorf("claim annotations %s: cached %v, want %v", name, got, tc.want)
		}
	}
	if pvc.Labels[storagev1.VolumeUIDLabel] != "u" || pvc.Spec.VolumeName != "atrium-u" || pvc.Status.Phase != corev1.ClaimBound {
		t.Fatalf("trimmed away what the operator reads: %+v", pvc)
	}
	// A claim's labels: the operator's three, as one shared map when they
	// name the volume that controls the claim; a tenant's own never.
	owner := &storagev1.OpenStackVolume{ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: "v", UID: "u"}}
	ref := *metav1.NewControllerRef(owner, storagev1.GroupVersion.WithKind("OpenStackVolume"))
	tenants := map[string]string{"example.org/" + strings.Repeat("k", 60): strings.Repeat("v", 63)}
	for name, tc := range map[string]struct {
		labels map[string]string
		refs   []metav1.OwnerReference
		want   map[string]string
	}{
		"as the volume gives them": {map[string]string{storagev1.VolumeLabel: "v", storagev1.VolumeNamespaceLabel: "t", storagev1.VolumeUIDLabel: "u"}, []metav1.OwnerReference{ref},
			map[string]string{controllers.LabelsAsWanted: "true"}},
		"naming another volume": {map[string]string{storagev1.VolumeLabel: "w", storagev1.VolumeNamespaceLabel: "t", storagev1.VolumeUIDLabel: "u"}, []metav1.OwnerReference{ref},
			map[string]string{storagev1.VolumeLabel: "w", storagev1.VolumeNamespaceLabel: "t", storagev1.VolumeUIDLabel: "u"}},
		"of no volume, a look-alike of the shared map among them": {map[string]string{storagev1.VolumeUIDLabel: "u", controllers.LabelsAsWanted: "true"}, nil,
			map[string]string{storagev1.VolumeUIDLabel: "u"}},
	} {
		l := maps.Clone(tc.labels)
		maps.Copy(l, tenants)
		out, err := controllers.TrimClaim(&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: "v", Labels: l, OwnerReferences: tc.refs}})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.(*corev1.PersistentVolumeClaim).Labels; !maps.Equal(got, tc.want) {
			t.Errorf("claim labels %s: cached %v, want %v", name, got, tc.want)
		}
	}
	if pvc.Status.Capacity != nil || pvc.Status.AccessModes != nil || pvc.Status.Conditions != nil {
		t.Fatalf("claim status in the cache = %+v, want the phase alone", pvc.Status)
	}
	if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("3Gi")) != 0 || len(pvc.Spec.Resources.Requests) != 1 {
		t.Fatalf("claim request in the cache = %v, want 3Gi", pvc.Spec.Resources.Requests)
	}
	if pvc.Spec.AccessModes != nil || pvc.Spec.StorageClassName != nil {
		t.Fatalf("claim spec in the cache = %+v, want the request and the volume name alone", pvc.Spec)
	}
	again, err := controllers.TrimClaim(pvc.DeepCopy())
	if err != nil || !equality.Semantic.DeepEqual(again, pvc) {
		t.Fatalf("trimming a trimmed claim changed it: %+v", again)
	}
	out, _ = controllers.TrimClaim(&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"a": "b"}}})
	if a := out.(*corev1.PersistentVolumeClaim).Annotations; a != nil {
		t.Fatalf("a claim not yet nudged kept %v", a)
	}

	out, err = controllers.TrimPersistentVolume(&corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "atrium-u", Labels: map[string]string{storagev1.VolumeUIDLabel: "u"},
			Annotations: map[string]string{"pv.kubernetes.io/bound-by-controller": "yes"}, ManagedFields: managed},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("3Gi")},
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			ClaimRef:    &corev1.ObjectReference{Namespace: "t", Name: "v", UID: "c"},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "topology.cinder.csi.openstack.org/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"nova"}}}}}}},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: storagev1.CSIDriver, VolumeHandle: "vol-1", FSType: "ext4"}}},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound, Message: big},
	})
	if err != nil {
		t.Fatal(err)
	}
	pv := out.(*corev1.PersistentVolume)
	if pv.Annotations != nil || pv.ManagedFields != nil || pv.Labels[storagev1.VolumeUIDLabel] != "u" || pv.Spec.CSI.VolumeHandle != "vol-1" {
		t.Fatalf("PersistentVolume in the cache: %+v", pv)
	}
	if pv.Status.Phase != corev1.VolumeBound || pv.Status.Message != "" {
		t.Fatalf("PersistentVolume status in the cache = %q %d bytes, want the phase alone", pv.Status.Phase, len(pv.Status.Message))
	}
	if q := pv.Spec.Capacity[corev1.ResourceStorage]; q.Cmp(resource.MustParse("3Gi")) != 0 || pv.Spec.CSI.Driver != storagev1.CSIDriver {
		t.Fatalf("PersistentVolume spec in the cache lost what the operator reads: %+v", pv.Spec)
	}
	if pv.Spec.AccessModes != nil || pv.Spec.ClaimRef != nil || pv.Spec.NodeAffinity != nil || pv.Spec.PersistentVolumeReclaimPolicy != "" {
		t.Fatalf("PersistentVolume spec in the cache = %+v, want the capacity and the CSI volume alone", pv.Spec)
	}
	againPV, err := controllers.TrimPersistentVolume(pv.DeepCopy())
	if err != nil || !equality.Semantic.DeepEqual(againPV, pv) {
		t.Fatalf("trimming a trimmed PersistentVolume changed it: %+v", againPV)
	}
}

// A volume and a claim a tenant loads with metadata are provisioned and
// grown like any other from the trimmed cache, and the operator's writes
// leave the tenant's metadata whole on the server: the cache's digest never
// reaches the API server, nor does trimming remove anything there.
func TestTenantMetadataIsKeptOutOfTheCache(t *testing.T) {
	ctx := context.Background()
	tenant := tenantNamespace(t, "meta")
	big := strings.Repeat("m", 100<<10)
	v := volume(t, tenant, "meta", "data", 1, func(v *storagev1.OpenStackVolume) {
		v.Annotations = map[string]string{"example.org/notes": big}
		v.Labels = map[string]string{"example.org/team": "docs"}
	})
	got := waitBound(t, v)
	if got.Annotations["example.org/notes"] != big || got.Labels["example.org/team"] != "docs" {
		t.Fatal("the operator's writes changed the tenant's metadata")
	}
	if _, ok := got.Annotations[controllers.AnnotationsDigest]; ok {
		t.Fatal("the cache's digest reached the API server")
	}
	key := types.NamespacedName{Namespace: "meta", Name: "data"}
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pvc := &corev1.PersistentVolumeClaim{}
		if err := tenant.Get(ctx, key, pvc); err != nil {
			return err
		}
		pvc.Annotations["example.org/notes"] = big
		return tenant.Update(ctx, pvc)
	}); err != nil {
		t.Fatalf("tenant annotating its claim: %v", err)
	}

	// An admin's note on the PersistentVolume, which the cache drops.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pv := &corev1.PersistentVolume{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: got.Status.PersistentVolumeName}, pv); err != nil {
			return err
		}
		if pv.Annotations == nil {
			pv.Annotations = map[string]string{}
		}
		pv.Annotations["example.org/admin-note"] = "kept"
		return env.Client.Update(ctx, pv)
	}); err != nil {
		t.Fatal(err)
	}

	// Growing patches the claim and the PersistentVolume from the cache.
	setSize(t, tenant, got, 2)
	got = waitFor(t, got, func(v *storagev1.OpenStackVolume) bool {
		c := condition(v, storagev1.ConditionReady)
		return v.Status.CapacityGiB == 2 && c != nil && c.Reason == "Bound" && c.ObservedGeneration == v.Generation
	})
	pvc := &corev1.PersistentVolumeClaim{}
	if err := env.Client.Get(ctx, key, pvc); err != nil {
		t.Fatal(err)
	}
	if c := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; c.Cmp(resource.MustParse("2Gi")) != 0 {
		t.Fatalf("claim request after extend = %s", c.String())
	}
	if pvc.Annotations["example.org/notes"] != big || pvc.Annotations[controllers.BindingAnnotation] != got.Status.PersistentVolumeName {
		t.Fatalf("claim annotations after the operator's writes: %d keys, binding %q", len(pvc.Annotations), pvc.Annotations[controllers.BindingAnnotation])
	}
	if len(pvc.Annotations) < 3 {
		t.Fatalf("the binder's annotations went: %v keys", len(pvc.Annotations))
	}
	pv := &corev1.PersistentVolume{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: got.Status.PersistentVolumeName}, pv); err != nil {
		t.Fatal(err)
	}
	if c := pv.Spec.Capacity[corev1.ResourceStorage]; c.Cmp(resource.MustParse("2Gi")) != 0 {
		t.Fatalf("PersistentVolume capacity after extend = %s", c.String())
	}
	if pv.Annotations["example.org/admin-note"] != "kept" {
		t.Fatal("the operator's patch of the PersistentVolume took the admin's annotation off")
	}
	after := &storagev1.OpenStackVolume{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(got), after); err != nil {
		t.Fatal(err)
	}
	if after.Annotations["example.org/notes"] != big || after.Labels["example.org/team"] != "docs" {
		t.Fatal("the tenant's metadata changed")
	}
}
