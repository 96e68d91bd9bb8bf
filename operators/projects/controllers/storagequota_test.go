package controllers_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/projects/controllers"
)

// The quota entries of the StorageClass of the volumes operator's claims.
var (
	storageGiB    = corev1.ResourceName(storagev1.StorageClassName + ".storageclass.storage.k8s.io/requests.storage")
	storageClaims = corev1.ResourceName(storagev1.StorageClassName + ".storageclass.storage.k8s.io/persistentvolumeclaims")
)

// storageTier creates a self-service tier offering OpenStack volumes.
func storageTier(t *testing.T, name string, st *tenancyv1.TierStorage) *tenancyv1.ProjectTier {
	t.Helper()
	tier := &tenancyv1.ProjectTier{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       tenancyv1.ProjectTierSpec{SelfService: true, Storage: st},
	}
	if err := env.Client.Create(context.Background(), tier); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), tier) })
	return tier
}

// updateTier changes a tier the way an admin does.
func updateTier(t *testing.T, name string, mutate func(*tenancyv1.ProjectTier)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		tier := &tenancyv1.ProjectTier{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, tier); err != nil {
			return err
		}
		mutate(tier)
		return env.Client.Update(context.Background(), tier)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitStorageQuota waits until the namespace's atrium-storage quota has
// exactly the hard entries given (nil: until there is none) and, when
// counted is set, until the resourcequota controller has counted them
// (quota admission refuses claims a quota has not counted yet).
func waitStorageQuota(t *testing.T, ns string, want corev1.ResourceList, counted bool) *corev1.ResourceQuota {
	t.Helper()
	ctx := context.Background()
	q := &corev1.ResourceQuota{}
	err := testenv.Eventually(ctx, wait, func() error {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.StorageQuotaName}, q)
		if want == nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("%s/%s still there (%v)", ns, controllers.StorageQuotaName, err)
		}
		if err != nil {
			return err
		}
		if !sameQuantities(q.Spec.Hard, want) {
			return fmt.Errorf("%s/%s hard = %v, want %v", ns, controllers.StorageQuotaName, q.Spec.Hard, want)
		}
		if counted && !sameQuantities(q.Status.Hard, want) {
			return fmt.Errorf("%s/%s not yet counted: status.hard = %v", ns, controllers.StorageQuotaName, q.Status.Hard)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func sameQuantities(got, want corev1.ResourceList) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

// The tier's storage offer becomes the ResourceQuota atrium-storage, on
// the claims of the volumes operator's StorageClass, and follows the tier:
// it changes with it, goes when the tier offers no quota any more, and
// comes back when somebody deletes or edits it.
func TestStorageQuotaFollowsTheTier(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	storageTier(t, "disks", &tenancyv1.TierStorage{Gigabytes: ptr.To[int32](10), Volumes: ptr.To[int32](2)})
	cleanup(t, "lima")
	owner := as(t, "tenant-l")
	if err := owner.Create(ctx, project("lima", onTier("disks"))); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "lima")
	q := waitStorageQuota(t, "lima", corev1.ResourceList{storageGiB: resource.MustParse("10Gi"), storageClaims: resource.MustParse("2")}, false)
	if q.Labels[tenancyv1.ProjectLabel] != "lima" || len(q.OwnerReferences) != 1 || q.OwnerReferences[0].Name != "lima" {
		t.Fatalf("atrium-storage not labelled and owned by the Project: %v %v", q.Labels, q.OwnerReferences)
	}
	// The tier's general quota stays where it was: the tier has none.
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "lima", Name: controllers.QuotaName}, &corev1.ResourceQuota{}); !apierrors.IsNotFound(err) {
		t.Fatalf("atrium-quota made from a tier without resourceQuota: %v", err)
	}

	// The owner, admin of the namespace, cannot loosen or remove it.
	mustForbid(t, owner.Delete(ctx, q.DeepCopy()))
	loose := q.DeepCopy()
	loose.Spec.Hard[storageGiB] = resource.MustParse("10Ti")
	mustForbid(t, owner.Update(ctx, loose))

	// The tier grows: so does every Project's quota.
	updateTier(t, "disks", func(tier *tenancyv1.ProjectTier) {
		tier.Spec.Storage.Gigabytes, tier.Spec.Storage.Volumes = ptr.To[int32](20), ptr.To[int32](5)
	})
	q = waitStorageQuota(t, "lima", corev1.ResourceList{storageGiB: resource.MustParse("20Gi"), storageClaims: resource.MustParse("5")}, false)

	// Edited or deleted by somebody who may (a cluster admin, by mistake):
	// put back, deleted or not.
	// (Read again on a conflict: kube-controller-manager writes the
	// quota's usage at any time.)
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		edited := &corev1.ResourceQuota{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(q), edited); err != nil {
			return err
		}
		edited.Spec.Hard[storageGiB] = resource.MustParse("1Ti")
		return env.Client.Update(ctx, edited)
	}); err != nil {
		t.Fatal(err)
	}
	q = waitStorageQuota(t, "lima", corev1.ResourceList{storageGiB: resource.MustParse("20Gi"), storageClaims: resource.MustParse("5")}, false)
	oldUID := q.UID
	if err := env.Client.Delete(ctx, q); err != nil {
		t.Fatal(err)
	}
	err := testenv.Eventually(ctx, wait, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(q), q); err != nil {
			return err
		}
		if q.UID == oldUID {
			return fmt.Errorf("not yet recreated")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Only the count left: only the count is limited.
	updateTier(t, "disks", func(tier *tenancyv1.ProjectTier) { tier.Spec.Storage.Gigabytes = nil })
	waitStorageQuota(t, "lima", corev1.ResourceList{storageClaims: resource.MustParse("5")}, false)

	// The tier stops offering storage: the quota goes.
	updateTier(t, "disks", func(tier *tenancyv1.ProjectTier) { tier.Spec.Storage = nil })
	waitStorageQuota(t, "lima", nil, false)
	waitReady(t, "lima")
}
