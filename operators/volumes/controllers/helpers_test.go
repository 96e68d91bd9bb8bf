package controllers_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/testenv"
)

func metaName(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }

// tenantNamespace makes a Project's namespace whose owner has the built-in
// admin role there, as the projects operator would, and returns a client
// acting as the owner.
func tenantNamespace(t *testing.T, name string) client.Client {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{tenancyv1.ProjectLabel: name}}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	owner := name + "-owner"
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "atrium-admins"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: owner}},
	}
	if err := env.Client.Create(ctx, rb); err != nil {
		t.Fatal(err)
	}
	c, err := env.ClientAs(owner)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// storageQuota is the tier's quota as the projects operator applies it.
func storageQuota(t *testing.T, ns string, gigabytes, volumes int) {
	t.Helper()
	prefix := storagev1.StorageClassName + ".storageclass.storage.k8s.io/"
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atrium-storage"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			corev1.ResourceName(prefix + "requests.storage"):       resource.MustParse(fmt.Sprintf("%dGi", gigabytes)),
			corev1.ResourceName(prefix + "persistentvolumeclaims"): resource.MustParse(fmt.Sprint(volumes)),
		}},
	}
	if err := env.Client.Create(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	// Quota admission counts only once the controller has filled in the
	// quota's status.
	err := testenv.Eventually(context.Background(), timeout, func() error {
		got := &corev1.ResourceQuota{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(q), got); err != nil {
			return err
		}
		if len(got.Status.Hard) == 0 {
			return fmt.Errorf("quota status not filled in yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type volOpt func(*storagev1.OpenStackVolume)

func deletePolicy(v *storagev1.OpenStackVolume) { v.Spec.ReclaimPolicy = storagev1.ReclaimDelete }

func inZone(z string) volOpt {
	return func(v *storagev1.OpenStackVolume) { v.Spec.AvailabilityZone = z }
}

func adopting(id string) volOpt {
	return func(v *storagev1.OpenStackVolume) { v.Spec.Source = &storagev1.VolumeSource{VolumeID: id} }
}

func fromSnapshot(id string) volOpt {
	return func(v *storagev1.OpenStackVolume) { v.Spec.Source = &storagev1.VolumeSource{SnapshotID: id} }
}

func ofType(t string) volOpt { return func(v *storagev1.OpenStackVolume) { v.Spec.VolumeType = t } }

// volume creates an OpenStackVolume as the tenant c.
func volume(t *testing.T, c client.Client, ns, name string, size int32, opts ...volOpt) *storagev1.OpenStackVolume {
	t.Helper()
	v := &storagev1.OpenStackVolume{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       storagev1.OpenStackVolumeSpec{SizeGiB: size},
	}
	for _, o := range opts {
		o(v)
	}
	if err := c.Create(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	return v
}

// waitReason waits until the volume's condition typ has reason, and
// returns the volume as it was then.
func waitReason(t *testing.T, v *storagev1.OpenStackVolume, typ, reason string) *storagev1.OpenStackVolume {
	t.Helper()
	got := &storagev1.OpenStackVolume{}
	err := testenv.Eventually(context.Background(), timeout, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(v), got); err != nil {
			return err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, typ)
		if c == nil || c.Reason != reason || c.ObservedGeneration != got.Generation {
			return fmt.Errorf("%s = %+v, want reason %s", typ, c, reason)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func waitBound(t *testing.T, v *storagev1.OpenStackVolume) *storagev1.OpenStackVolume {
	t.Helper()
	return waitReason(t, v, storagev1.ConditionReady, "Bound")
}

// waitGone waits until the object is gone.
func waitGone(t *testing.T, o client.Object) {
	t.Helper()
	err := testenv.Eventually(context.Background(), timeout, func() error {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(o), o)
		if err == nil {
			return fmt.Errorf("%s still there", o.GetName())
		}
		return client.IgnoreNotFound(err)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func condition(v *storagev1.OpenStackVolume, typ string) *metav1.Condition {
	return meta.FindStatusCondition(v.Status.Conditions, typ)
}

// volumesOf are the fake cloud's volumes naming the object's UID.
func volumesOf(t *testing.T, v *storagev1.OpenStackVolume) []string {
	t.Helper()
	return os_.VolumesWithMetadata(project, storagev1.MetaUID, string(v.UID))
}
