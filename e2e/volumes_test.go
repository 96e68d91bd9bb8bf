package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/openstackfake"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// osVolume is an OpenStackVolume as its user writes it.
func osVolume(ns, name string, size int32) *storagev1.OpenStackVolume {
	return &storagev1.OpenStackVolume{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       storagev1.OpenStackVolumeSpec{SizeGiB: size},
	}
}

// waitVolume waits until the volume's Ready condition has reason.
func waitVolume(ctx context.Context, t *testing.T, c client.Client, v *storagev1.OpenStackVolume, reason string, timeout time.Duration) *storagev1.OpenStackVolume {
	t.Helper()
	got := &storagev1.OpenStackVolume{}
	err := testenv.Eventually(ctx, timeout, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(v), got); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, storagev1.ConditionReady)
		if cond == nil || cond.Reason != reason || cond.ObservedGeneration != got.Generation {
			return fmt.Errorf("Ready = %+v", cond)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// createAs creates obj as the user, retrying until the namespace's
// RoleBindings (which come with the Project) let them.
func createAs(ctx context.Context, t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := testenv.Eventually(ctx, time.Minute, func() error { return c.Create(ctx, obj) }); err != nil {
		t.Fatalf("creating %s: %v", obj.GetName(), err)
	}
}

// TestTenantGetsAVolume: a casual user asks for Cinder storage in their
// Project and gets a bound claim; grows it; deletes it (the Cinder volume
// stays, released, and the orphan report says so); adopts it again; then
// deletes their Project, which keeps the retained volume in Cinder. A
// tenant of another cluster of the fleet cannot take the volume while it
// is held.
func TestTenantGetsAVolume(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx := context.Background()
	user, err := f.env.ClientAs("vera")
	if err != nil {
		t.Fatal(err)
	}
	if err := user.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "vera-data"}}); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, "vera-data", time.Minute)
	v := osVolume("vera-data", "db", 5)
	createAs(ctx, t, user, v.DeepCopy())
	got := waitVolume(ctx, t, user, v, "Bound", time.Minute)
	id := got.Status.VolumeID
	cv, ok := f.cloud.Volume(id)
	if !ok || cv.Size != 5 || cv.Zone != "nova" || cv.Metadata[storagev1.MetaCluster] != memberName || cv.Metadata[storagev1.MetaUID] != string(got.UID) {
		t.Fatalf("Cinder volume %+v (found %v)", cv, ok)
	}
	pvc := &corev1.PersistentVolumeClaim{}
	if err := user.Get(ctx, types.NamespacedName{Namespace: "vera-data", Name: "db"}, pvc); err != nil {
		t.Fatalf("the user cannot read their claim: %v", err)
	}
	if pvc.Status.Phase != corev1.ClaimBound {
		t.Fatalf("claim %s is %s", pvc.Name, pvc.Status.Phase)
	}
	// The tier's quota is in the namespace, and the claim counts in it.
	quota := &corev1.ResourceQuota{}
	if err := testenv.Eventually(ctx, time.Minute, func() error {
		if err := f.env.Client.Get(ctx, types.NamespacedName{Namespace: "vera-data", Name: "atrium-storage"}, quota); err != nil {
			return err
		}
		used := quota.Status.Used[corev1.ResourceName(storagev1.StorageClassName+".storageclass.storage.k8s.io/requests.storage")]
		if used.String() != "5Gi" {
			return fmt.Errorf("quota used %s", used.String())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// A tenant of the other member asks to adopt the volume: refused, it
	// is held (by this cluster's object).
	rival, err := f.pdnsMember.Env.ClientAs("rufus")
	if err != nil {
		t.Fatal(err)
	}
	if err := rival.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "vera-data"}}); err != nil {
		t.Fatal(err)
	}
	steal := osVolume("vera-data", "db", 5)
	steal.Spec.Source = &storagev1.VolumeSource{VolumeID: id}
	createAs(ctx, t, rival, steal)
	refused := waitVolume(ctx, t, rival, steal, "AdoptionRefused", time.Minute)
	if m := meta.FindStatusCondition(refused.Status.Conditions, storagev1.ConditionReady).Message; !strings.Contains(m, "held by another OpenStackVolume") {
		t.Fatalf("refusal %q", m)
	}
	if cv, _ := f.cloud.Volume(id); cv.Metadata[storagev1.MetaUID] != string(got.UID) {
		t.Fatal("the other cluster took the volume")
	}
	if err := rival.Delete(ctx, refused); err != nil {
		t.Fatal(err)
	}

	// Grow.
	err = testenv.Eventually(ctx, time.Minute, func() error {
		cur := &storagev1.OpenStackVolume{}
		if err := user.Get(ctx, client.ObjectKeyFromObject(v), cur); err != nil {
			return err
		}
		cur.Spec.SizeGiB = 8
		return user.Update(ctx, cur)
	})
	if err != nil {
		t.Fatal(err)
	}
	got = waitVolume(ctx, t, user, v, "Bound", time.Minute)
	if cv, _ := f.cloud.Volume(id); cv.Size != 8 || got.Status.CapacityGiB != 8 {
		t.Fatalf("after growing: Cinder %d GiB, status %d", cv.Size, got.Status.CapacityGiB)
	}

	// Delete: the Cinder volume is kept, released, and reported.
	if err := user.Delete(ctx, got); err != nil {
		t.Fatal(err)
	}
	gone(ctx, t, user, got)
	gone(ctx, t, f.env.Client, pvc)
	if cv, ok := f.cloud.Volume(id); !ok || cv.Metadata[storagev1.MetaReleased] == "" {
		t.Fatalf("after delete: %+v (found %v), want kept and released", cv, ok)
	}
	ev := &corev1.EventList{}
	_ = user.List(ctx, ev, client.InNamespace("vera-data"))
	retained := false
	for _, e := range ev.Items {
		retained = retained || (e.Reason == "Retained" && strings.Contains(e.Message, id))
	}
	if !retained {
		t.Error("no Retained event told the user where the volume is")
	}

	// Adopt it again, in the same Project.
	again := osVolume("vera-data", "db-again", 8)
	again.Spec.Source = &storagev1.VolumeSource{VolumeID: id}
	createAs(ctx, t, user, again.DeepCopy())
	if got := waitVolume(ctx, t, user, again, "Bound", time.Minute); got.Status.VolumeID != id {
		t.Fatalf("adopted %s, want %s", got.Status.VolumeID, id)
	}

	// The Project goes: the retained volume stays in Cinder.
	if err := user.Delete(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "vera-data"}}); err != nil {
		t.Fatal(err)
	}
	gone(ctx, t, f.env.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vera-data"}})
	if cv, ok := f.cloud.Volume(id); !ok || cv.Metadata[storagev1.MetaReleased] == "" {
		t.Fatalf("after the Project went: %+v (found %v), want kept and released", cv, ok)
	}
	_ = rival.Delete(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "vera-data"}})
}

// gone waits until obj is deleted.
func gone(ctx context.Context, t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	err := testenv.Eventually(ctx, 2*time.Minute, func() error {
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err == nil {
			return fmt.Errorf("%s still there", obj.GetName())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestVolumesOperatorKilledMidCreate: both replicas of the volumes operator
// die while Cinder is slow to answer a create; the replicas that replace
// them find the volume (or make it, if it never was), make no second one
// and bind it. The OpenStack credentials are never in the operator's log.
func TestVolumesOperatorKilledMidCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx := context.Background()
	user, err := f.env.ClientAs("victor")
	if err != nil {
		t.Fatal(err)
	}
	if err := user.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "victor-data"}}); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, "victor-data", time.Minute)
	f.cloud.SetLatency(openstackfake.RouteCreateVolume, 3*time.Second)
	creates := f.cloud.Count(openstackfake.RouteCreateVolume)
	v := osVolume("victor-data", "scratch", 1)
	v.Spec.ReclaimPolicy = storagev1.ReclaimDelete
	createAs(ctx, t, user, v.DeepCopy())
	err = testenv.Eventually(ctx, time.Minute, func() error {
		if f.cloud.Count(openstackfake.RouteCreateVolume) == creates {
			return fmt.Errorf("no create sent yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	operator := f.member.Deployment(components.Volumes)
	pods := operator.Pods()
	for _, p := range pods {
		operator.Kill(p)
	}
	f.cloud.SetLatency(openstackfake.RouteCreateVolume, 0)
	for _, p := range pods {
		if _, err := operator.Replace(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	got := waitVolume(ctx, t, user, v, "Bound", 2*time.Minute)
	if ids := f.cloud.VolumesWithMetadata(f.cloudProject, storagev1.MetaUID, string(got.UID)); len(ids) != 1 {
		t.Fatalf("%d Cinder volumes for one OpenStackVolume after the crash", len(ids))
	}
	if err := user.Delete(ctx, got); err != nil {
		t.Fatal(err)
	}
	gone(ctx, t, user, got)
	if _, ok := f.cloud.Volume(got.Status.VolumeID); ok {
		t.Error("the Delete volume is still in Cinder")
	}
	for _, path := range f.member.Logs(components.Volumes) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range f.cloudSecrets {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds an OpenStack credential's secret", path)
			}
		}
	}
	_ = user.Delete(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "victor-data"}})
}
