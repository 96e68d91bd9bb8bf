package controllers_test

// OpenStackVolume admission (webhooks/projects), as tenants meet it: the
// webhook runs as shipped, with its ServiceAccount, in front of the real
// API server; the volumes operator does not run here, so the volumes stay
// as admitted.

import (
	"context"
	"fmt"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/testenv"
)

func openStackVolume(ns, name string, size int32, mutate ...func(*storagev1.OpenStackVolume)) *storagev1.OpenStackVolume {
	v := &storagev1.OpenStackVolume{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       storagev1.OpenStackVolumeSpec{SizeGiB: size},
	}
	for _, m := range mutate {
		m(v)
	}
	return v
}

func adoptingVolume(id string) func(*storagev1.OpenStackVolume) {
	return func(v *storagev1.OpenStackVolume) { v.Spec.Source = &storagev1.VolumeSource{VolumeID: id} }
}

// volumeProject creates a Project on a tier as its owner and waits until
// the owner may write OpenStackVolumes in its namespace.
func volumeProject(t *testing.T, name, tier, owner string) client.Client {
	t.Helper()
	cleanup(t, name)
	c := as(t, owner)
	if err := c.Create(context.Background(), project(name, onTier(tier))); err != nil {
		t.Fatal(err)
	}
	waitReady(t, name)
	waitAllowed(t, c, name)
	return c
}

// waitAllowed waits until RBAC lets c create and update OpenStackVolumes
// in ns: the API server's authorizer learns of new RoleBindings (and of
// roles aggregated into admin) through a watch.
func waitAllowed(t *testing.T, c client.Client, ns string) {
	t.Helper()
	ctx := context.Background()
	err := testenv.Eventually(ctx, wait, func() error {
		for _, verb := range []string{"create", "update"} {
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: ns, Verb: verb, Group: storagev1.GroupVersion.Group, Resource: "openstackvolumes",
				},
			}}
			if err := c.Create(ctx, review); err != nil {
				return err
			}
			if !review.Status.Allowed {
				return fmt.Errorf("may not %s openstackvolumes in %s yet", verb, ns)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// eventuallyDenied retries a dry-run create until admission refuses it
// (the webhook decides from caches, which see a write a moment after it
// was made), then checks the refusal as mustDeny does.
func eventuallyDenied(t *testing.T, c client.Client, v *storagev1.OpenStackVolume, fragments ...string) error {
	t.Helper()
	ctx := context.Background()
	var denial error
	err := testenv.Eventually(ctx, wait, func() error {
		denial = c.Create(ctx, v.DeepCopy(), client.DryRunAll)
		if denial == nil {
			return fmt.Errorf("%s/%s admitted", v.Namespace, v.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustDeny(t, denial, fragments...)
	return denial
}

// updateVolume changes a volume the way a user does: read, change, write,
// and again on a conflict.
func updateVolume(ctx context.Context, c client.Client, key client.ObjectKey, mutate func(*storagev1.OpenStackVolume), opts ...client.UpdateOption) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		v := &storagev1.OpenStackVolume{}
		if err := c.Get(ctx, key, v); err != nil {
			return err
		}
		mutate(v)
		return c.Update(ctx, v, opts...)
	})
}

// A tenant asks for volumes on a tier that offers 2 of at most 50 GiB, 60
// GiB in all, of types "standard" or the cloud's default, without
// adoption: every refusal names the field, the limit and the tier.
func TestVolumesWithinTheTier(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	storageTier(t, "vol-small", &tenancyv1.TierStorage{
		VolumeTypes: []string{"standard", ""}, MaxVolumeGiB: ptr.To[int32](50), Gigabytes: ptr.To[int32](60), Volumes: ptr.To[int32](2),
	})
	owner := volumeProject(t, "vol-mike", "vol-small", "tenant-vm")

	t.Run("type not offered", func(t *testing.T) {
		mustDeny(t, owner.Create(ctx, openStackVolume("vol-mike", "fast", 10, func(v *storagev1.OpenStackVolume) { v.Spec.VolumeType = "io1" })),
			`spec.volumeType "io1" is not offered by tier "vol-small"`, `choose one of "standard", "" (the cloud's default)`)
	})
	t.Run("too large", func(t *testing.T) {
		mustDeny(t, owner.Create(ctx, openStackVolume("vol-mike", "huge", 51)),
			`spec.sizeGiB 51 is more than tier "vol-small" allows for one volume (storage.maxVolumeGiB 50)`)
	})
	t.Run("adoption not offered", func(t *testing.T) {
		mustDeny(t, owner.Create(ctx, openStackVolume("vol-mike", "adopted", 10, adoptingVolume("6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"))),
			`spec.source.volumeID: tier "vol-small" does not allow adopting existing Cinder volumes`)
	})

	// Within the tier, of the cloud's default type.
	if err := owner.Create(ctx, openStackVolume("vol-mike", "data", 40)); err != nil {
		t.Fatal(err)
	}
	t.Run("over the GiB", func(t *testing.T) {
		eventuallyDenied(t, owner, openStackVolume("vol-mike", "more", 30, func(v *storagev1.OpenStackVolume) { v.Spec.VolumeType = "standard" }),
			"spec.sizeGiB 30 would bring namespace vol-mike to 70 GiB", `tier "vol-small" allows 60 GiB per Project (storage.gigabytes)`, "at most 20 GiB more fit")
	})
	dataKey := client.ObjectKey{Namespace: "vol-mike", Name: "data"}
	t.Run("grow within the tier", func(t *testing.T) {
		if err := updateVolume(ctx, owner, dataKey, func(v *storagev1.OpenStackVolume) { v.Spec.SizeGiB = 50 }); err != nil {
			t.Fatal(err)
		}
	})
	// Of a type the tier names.
	if err := owner.Create(ctx, openStackVolume("vol-mike", "logs", 10, func(v *storagev1.OpenStackVolume) { v.Spec.VolumeType = "standard" })); err != nil {
		t.Fatal(err)
	}
	t.Run("over the count", func(t *testing.T) {
		eventuallyDenied(t, owner, openStackVolume("vol-mike", "third", 1),
			`namespace vol-mike already holds 2 OpenStackVolume(s), and tier "vol-small" allows 2 per Project (storage.volumes)`)
	})
	t.Run("shrink", func(t *testing.T) {
		// The CRD's own rule answers before the webhook is asked; both say
		// that a volume cannot shrink.
		err := updateVolume(ctx, owner, dataKey, func(v *storagev1.OpenStackVolume) { v.Spec.SizeGiB = 10 })
		mustDeny(t, err, "spec.sizeGiB", "a volume cannot shrink")
	})
	t.Run("grow past the GiB", func(t *testing.T) {
		key := client.ObjectKey{Namespace: "vol-mike", Name: "logs"}
		var denial error
		err := testenv.Eventually(ctx, wait, func() error {
			denial = updateVolume(ctx, owner, key, func(v *storagev1.OpenStackVolume) { v.Spec.SizeGiB = 15 }, client.DryRunAll)
			if denial == nil {
				return fmt.Errorf("growth admitted")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		mustDeny(t, denial, "growing spec.sizeGiB from 10 to 15 would bring namespace vol-mike to 65 GiB",
			`tier "vol-small" allows 60 GiB per Project`, "its 1 other volume(s) hold 50 GiB, so at most 10 GiB more fit")
	})
}

// Only Projects' namespaces hold OpenStackVolumes, and only on a tier that
// offers them.
func TestVolumesOnlyInProjectsOnTiersWithStorage(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	// A power user's own namespace, where they are a full admin.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vol-plain"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, ns) })
	grantNamespaceAdmin(t, "vol-plain", "power-vol")
	power := as(t, "power-vol")
	waitAllowed(t, power, "vol-plain")
	mustDeny(t, power.Create(ctx, openStackVolume("vol-plain", "data", 10)),
		"OpenStackVolumes live only in the namespaces of Projects, and namespace vol-plain is not a Project's")

	storageTier(t, "vol-none", nil)
	owner := volumeProject(t, "vol-november", "vol-none", "tenant-vn")
	mustDeny(t, owner.Create(ctx, openStackVolume("vol-november", "data", 10)),
		`tier "vol-none" offers no OpenStack volumes (it has no spec.storage), and Project vol-november is on it`)
}

// A Cinder volume is held by one OpenStackVolume at a time, and a tenant
// who asks for one that another tenant holds learns only that it is held:
// not by which namespace or object.
func TestAttackAdoptAnotherTenantsVolume(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	storageTier(t, "vol-adopt", &tenancyv1.TierStorage{AllowAdoption: true})
	const (
		adopted = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
		created = "1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e"
	)
	victim := volumeProject(t, "vol-oscar", "vol-adopt", "tenant-vo")
	// The victim adopts one volume; the operator recorded the id of
	// another it created (status is the operator's: written here as admin).
	if err := victim.Create(ctx, openStackVolume("vol-oscar", "secret-db", 10, adoptingVolume(adopted))); err != nil {
		t.Fatal(err)
	}
	mine := openStackVolume("vol-oscar", "payroll", 10)
	if err := victim.Create(ctx, mine); err != nil {
		t.Fatal(err)
	}
	mine.Status.VolumeID = created
	if err := env.Client.Status().Update(ctx, mine); err != nil {
		t.Fatal(err)
	}

	attacker := volumeProject(t, "vol-papa", "vol-adopt", "tenant-vp")
	for _, id := range []string{adopted, created} {
		err := eventuallyDenied(t, attacker, openStackVolume("vol-papa", "loot", 10, adoptingVolume(id)),
			"spec.source.volumeID "+id+": the Cinder volume is already held by another OpenStackVolume")
		for _, secret := range []string{"vol-oscar", "secret-db", "payroll", "tenant-vo"} {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the refusal gives away %q: %v", secret, err)
			}
		}
	}
	// A volume nobody holds may be adopted (the operator checks in Cinder
	// that it is this namespace's to adopt).
	if err := attacker.Create(ctx, openStackVolume("vol-papa", "mine", 10, adoptingVolume("2c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f"))); err != nil {
		t.Fatal(err)
	}
}

// A tier that stops offering storage stops new volumes and growth, never
// the updates that leave a volume's spec as it is: labels, and the
// finalizer's removal that lets a volume be deleted.
func TestVolumeUpdatesThatKeepTheSpecAreAdmitted(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	storageTier(t, "vol-going", &tenancyv1.TierStorage{Gigabytes: ptr.To[int32](100)})
	owner := volumeProject(t, "vol-quebec", "vol-going", "tenant-vq")
	v := openStackVolume("vol-quebec", "data", 10, func(v *storagev1.OpenStackVolume) { v.Finalizers = []string{storagev1.Finalizer} })
	if err := owner.Create(ctx, v); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(v)
	t.Cleanup(func() {
		_ = updateVolume(ctx, env.Client, key, func(v *storagev1.OpenStackVolume) { v.Finalizers = nil })
	})

	updateTier(t, "vol-going", func(tier *tenancyv1.ProjectTier) { tier.Spec.Storage = nil })
	// Once the webhook has seen the change, new volumes are refused...
	eventuallyDenied(t, owner, openStackVolume("vol-quebec", "more", 1), `tier "vol-going" offers no OpenStack volumes`)
	// ... and so is growing one.
	mustDeny(t, updateVolume(ctx, owner, key, func(v *storagev1.OpenStackVolume) { v.Spec.SizeGiB = 20 }), `tier "vol-going" offers no OpenStack volumes`)

	// A label, then the volume's deletion to the end, are admitted.
	if err := updateVolume(ctx, owner, key, func(v *storagev1.OpenStackVolume) { v.Labels = map[string]string{"app": "db"} }); err != nil {
		t.Fatalf("a label was refused: %v", err)
	}
	if err := owner.Delete(ctx, v); err != nil {
		t.Fatal(err)
	}
	// The finalizer goes as the operator removes it, once the Cinder
	// volume is released.
	if err := updateVolume(ctx, env.Client, key, func(v *storagev1.OpenStackVolume) { v.Finalizers = nil }); err != nil {
		t.Fatalf("removing the finalizer was refused: %v", err)
	}
	err := testenv.Eventually(ctx, wait, func() error {
		if err := env.Client.Get(ctx, key, &storagev1.OpenStackVolume{}); err == nil {
			return fmt.Errorf("%s still there", key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
