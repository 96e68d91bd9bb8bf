package admission

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

const cinderID = "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"

func osv(ns, name string, size int32, mutate ...func(*storagev1.OpenStackVolume)) *storagev1.OpenStackVolume {
	v := &storagev1.OpenStackVolume{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name)},
		Spec:       storagev1.OpenStackVolumeSpec{SizeGiB: size, ReclaimPolicy: storagev1.ReclaimRetain},
	}
	for _, m := range mutate {
		m(v)
	}
	return v
}

func adopting(id string) func(*storagev1.OpenStackVolume) {
	return func(v *storagev1.OpenStackVolume) { v.Spec.Source = &storagev1.VolumeSource{VolumeID: id} }
}

func ofType(t string) func(*storagev1.OpenStackVolume) {
	return func(v *storagev1.OpenStackVolume) { v.Spec.VolumeType = t }
}

// storageTestTier is the tier of the tests: any type, 100 GiB a volume,
// 200 GiB and 10 volumes a Project, adoption allowed; mutate changes it.
func storageTestTier(mutate ...func(*tenancyv1.TierStorage)) *tenancyv1.ProjectTier {
	st := &tenancyv1.TierStorage{MaxVolumeGiB: ptr.To[int32](100), Gigabytes: ptr.To[int32](200), Volumes: ptr.To[int32](10), AllowAdoption: true}
	for _, m := range mutate {
		m(st)
	}
	return &tenancyv1.ProjectTier{ObjectMeta: metav1.ObjectMeta{Name: "standard"}, Spec: tenancyv1.ProjectTierSpec{Storage: st}}
}

var teamProject = &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "team"}, Spec: tenancyv1.ProjectSpec{Tier: "standard"}}

// volumes of the namespace "team" of the given sizes.
func volumesOf(sizes ...int32) []storagev1.OpenStackVolume {
	out := make([]storagev1.OpenStackVolume, 0, len(sizes))
	for i, s := range sizes {
		out = append(out, *osv("team", "v"+string(rune('a'+i)), s))
	}
	return out
}

func TestVolumeDecision(t *testing.T) {
	deleting := metav1.Now()
	tests := []struct {
		name string
		c    volumeChange
		// wantErr lists fragments the error must contain; nil means admitted.
		wantErr []string
		// notIn lists what the error must not say.
		notIn []string
	}{
		// Create: where, and on which tier.
		{name: "plain create", c: volumeChange{new: osv("team", "data", 10), project: teamProject, tier: storageTestTier()}},
		{name: "not a Project's namespace", c: volumeChange{new: osv("kube-system", "data", 10)},
			wantErr: []string{"OpenStackVolumes live only in the namespaces of Projects", "namespace kube-system is not a Project's"}},
		{name: "Project without a tier", c: volumeChange{new: osv("team", "data", 10), project: &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "team"}}},
			wantErr: []string{"Project team has no tier, so it offers no OpenStack volumes"}},
		{name: "tier gone", c: volumeChange{new: osv("team", "data", 10), project: teamProject},
			wantErr: []string{`tier "standard" of Project team does not exist, so it offers no OpenStack volumes`}},
		{name: "tier without storage", c: volumeChange{new: osv("team", "data", 10), project: teamProject,
			tier: &tenancyv1.ProjectTier{ObjectMeta: metav1.ObjectMeta{Name: "standard"}}},
			wantErr: []string{`tier "standard" offers no OpenStack volumes (it has no spec.storage)`, "Project team"}},

		// Volume types.
		{name: "any type when the list is empty", c: volumeChange{new: osv("team", "data", 10, ofType("io1")), project: teamProject, tier: storageTestTier()}},
		{name: "default type when the list is empty", c: volumeChange{new: osv("team", "data", 10), project: teamProject, tier: storageTestTier()}},
		{name: "listed type", c: volumeChange{new: osv("team", "data", 10, ofType("io1")), project: teamProject,
			tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.VolumeTypes = []string{"standard", "io1"} })}},
		{name: "type not listed", c: volumeChange{new: osv("team", "data", 10, ofType("gold")), project: teamProject,
			tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.VolumeTypes = []string{"standard", "io1"} })},
			wantErr: []string{`spec.volumeType "gold" is not offered by tier "standard" (storage.volumeTypes); choose one of "standard", "io1"`}},
		{name: "default type not listed", c: volumeChange{new: osv("team", "data", 10), project: teamProject,
			tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.VolumeTypes = []string{"standard"} })},
			wantErr: []string{`spec.volumeType is empty (the cloud's default type), which tier "standard" does not offer`, `one of "standard"`}},
		{name: "default type listed as empty", c: volumeChange{new: osv("team", "data", 10), project: teamProject,
			tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.VolumeTypes = []string{"", "io1"} })}},
		{name: "the default is named in the offer", c: volumeChange{new: osv("team", "data", 10, ofType("gold")), project: teamProject,
			tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.VolumeTypes = []string{"", "io1"} })},
			wantErr: []string{`choose one of "" (the cloud's default), "io1"`}},

		// Size.
		{name: "at the largest", c: volumeChange{new: osv("team", "data", 100), project: teamProject, tier: storageTestTier()}},
		{name: "too large", c: volumeChange{new: osv("team", "data", 101), project: teamProject, tier: storageTestTier()},
			wantErr: []string{`spec.sizeGiB 101 is more than tier "standard" allows for one volume (storage.maxVolumeGiB 100)`, "at most 100 GiB"}},
		{name: "no largest", c: volumeChange{new: osv("team", "data", 150), project: teamProject,
			tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.MaxVolumeGiB = nil })}},

		// Quota, early.
		{name: "up to the GiB", c: volumeChange{new: osv("team", "data", 50), project: teamProject, tier: storageTestTier(), others: volumesOf(100, 50)}},
		{name: "over the GiB", c: volumeChange{new: osv("team", "data", 60), project: teamProject, tier: storageTestTier(), others: volumesOf(100, 50)},
			wantErr: []string{"spec.sizeGiB 60 would bring namespace team to 210 GiB", `tier "standard" allows 200 GiB per Project (storage.gigabytes)`,
				"its 2 other volume(s) hold 150 GiB, so at most 50 GiB more fit"}},
		{name: "no GiB left", c: volumeChange{new: osv("team", "data", 1), project: teamProject, tier: storageTestTier(), others: volumesOf(100, 100)},
			wantErr: []string{"no GiB are left"}},
		{name: "GiB 0 allows none", c: volumeChange{new: osv("team", "data", 1), project: teamProject,
			tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.Gigabytes = ptr.To[int32](0) })},
			wantErr: []string{"allows 0 GiB per Project"}},
		{name: "no GiB limit", c: volumeChange{new: osv("team", "data", 100), project: teamProject,
			tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.Gigabytes = nil }), others: volumesOf(100, 100, 100)}},
		{name: "up to the count", c: volumeChange{new: osv("team", "data", 1), project: teamProject,
			tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.Volumes = ptr.To[int32](3) }), others: volumesOf(1, 1)}},
		{name: "over the count", c: volumeChange{new: osv("team", "data", 1), project: teamProject,
			tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.Volumes = ptr.To[int32](2) }), others: volumesOf(1, 1)},
			wantErr: []string{`namespace team already holds 2 OpenStackVolume(s), and tier "standard" allows 2 per Project (storage.volumes)`}},
		{name: "every problem at once", c: volumeChange{new: osv("team", "data", 150, ofType("gold")), project: teamProject,
			tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.VolumeTypes = []string{"standard"}; s.Volumes = ptr.To[int32](1) }), others: volumesOf(100)},
			wantErr: []string{"spec.volumeType", "storage.maxVolumeGiB 100", "storage.volumes", "storage.gigabytes"}},

		// Adoption.
		{name: "adopt a free volume", c: volumeChange{new: osv("team", "data", 10, adopting(cinderID)), project: teamProject, tier: storageTestTier()}},
		{name: "adoption not allowed", c: volumeChange{new: osv("team", "data", 10, adopting(cinderID)), project: teamProject,
			tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.AllowAdoption = false })},
			wantErr: []string{`spec.source.volumeID: tier "standard" does not allow adopting existing Cinder volumes (storage.allowAdoption is false)`}},
		{name: "a snapshot source needs no adoption", c: volumeChange{new: osv("team", "data", 10, func(v *storagev1.OpenStackVolume) {
			v.Spec.Source = &storagev1.VolumeSource{SnapshotID: cinderID}
		}), project: teamProject, tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.AllowAdoption = false })}},
		{name: "held in another namespace: not named", c: volumeChange{new: osv("team", "data", 10, adopting(cinderID)), project: teamProject, tier: storageTestTier(),
			holders: []storagev1.OpenStackVolume{*osv("victim", "secret-db", 10, adopting(cinderID))}},
			wantErr: []string{"spec.source.volumeID " + cinderID + ": the Cinder volume is already held by another OpenStackVolume"},
			notIn:   []string{"victim", "secret-db"}},
		{name: "held in this namespace: named", c: volumeChange{new: osv("team", "data", 10, adopting(cinderID)), project: teamProject, tier: storageTestTier(),
			holders: []storagev1.OpenStackVolume{*osv("team", "old-data", 10, func(v *storagev1.OpenStackVolume) { v.Status.VolumeID = cinderID })}},
			wantErr: []string{"already held by OpenStackVolume old-data of this namespace"}},
		{name: "held by one being deleted here", c: volumeChange{new: osv("team", "data", 10, adopting(cinderID)), project: teamProject, tier: storageTestTier(),
			holders: []storagev1.OpenStackVolume{*osv("team", "data", 10, adopting(cinderID), func(v *storagev1.OpenStackVolume) { v.DeletionTimestamp = &deleting })}},
			wantErr: []string{"still held by OpenStackVolume data of this namespace, which is being deleted; adopt it once that one is gone"}},

		// Updates.
		{name: "spec unchanged, no Project any more", c: volumeChange{old: osv("team", "data", 10), new: osv("team", "data", 10, func(v *storagev1.OpenStackVolume) {
			v.Labels = map[string]string{"app": "db"}
		})}},
		{name: "spec unchanged, over every limit", c: volumeChange{old: osv("team", "data", 500, ofType("gold")), new: osv("team", "data", 500, ofType("gold"), func(v *storagev1.OpenStackVolume) {
			v.Finalizers = nil
		}), project: teamProject, tier: storageTestTier(func(s *tenancyv1.TierStorage) { s.VolumeTypes = []string{"standard"}; s.Volumes = ptr.To[int32](0) }), others: volumesOf(200)}},
		{name: "reclaim policy changed on a tier without storage", c: volumeChange{old: osv("team", "data", 10), new: osv("team", "data", 10, func(v *storagev1.OpenStackVolume) {
			v.Spec.ReclaimPolicy = storagev1.ReclaimDelete
		}), project: teamProject, tier: &tenancyv1.ProjectTier{ObjectMeta: metav1.ObjectMeta{Name: "standard"}}}},
		{name: "shrink", c: volumeChange{old: osv("team", "data", 20), new: osv("team", "data", 10), project: teamProject, tier: storageTestTier()},
			wantErr: []string{"spec.sizeGiB cannot go from 20 to 10 GiB: a volume cannot shrink, only grow"}},
		{name: "grow within limits", c: volumeChange{old: osv("team", "data", 20), new: osv("team", "data", 50), project: teamProject, tier: storageTestTier(), others: volumesOf(100)}},
		{name: "grow past the largest", c: volumeChange{old: osv("team", "data", 20), new: osv("team", "data", 120), project: teamProject, tier: storageTestTier()},
			wantErr: []string{"spec.sizeGiB 120 is more than tier \"standard\" allows for one volume"}},
		{name: "grow past the GiB", c: volumeChange{old: osv("team", "data", 20), new: osv("team", "data", 60), project: teamProject, tier: storageTestTier(), others: volumesOf(100, 50)},
			wantErr: []string{"growing spec.sizeGiB from 20 to 60 would bring namespace team to 210 GiB", "at most 50 GiB more fit"}},
		{name: "grow is not held to the count or the type", c: volumeChange{old: osv("team", "data", 20, ofType("gold"), adopting(cinderID)), new: osv("team", "data", 30, ofType("gold"), adopting(cinderID)),
			project: teamProject, tier: storageTestTier(func(s *tenancyv1.TierStorage) {
				s.VolumeTypes = []string{"standard"}
				s.Volumes = ptr.To[int32](1)
				s.AllowAdoption = false
			}), others: volumesOf(10, 10), holders: []storagev1.OpenStackVolume{*osv("victim", "x", 1, adopting(cinderID))}}},
		{name: "grow on a tier without storage", c: volumeChange{old: osv("team", "data", 20), new: osv("team", "data", 30), project: teamProject,
			tier: &tenancyv1.ProjectTier{ObjectMeta: metav1.ObjectMeta{Name: "standard"}}},
			wantErr: []string{`tier "standard" offers no OpenStack volumes`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := volumeDecision(tt.c)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("admitted, want a refusal containing %q", tt.wantErr)
			}
			for _, f := range tt.wantErr {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("refusal %q does not contain %q", err, f)
				}
			}
			for _, f := range tt.notIn {
				if strings.Contains(err.Error(), f) {
					t.Errorf("refusal %q gives away %q", err, f)
				}
			}
		})
	}
}

func TestVolumeNeedsFacts(t *testing.T) {
	tests := []struct {
		name     string
		old, new *storagev1.OpenStackVolume
		want     bool
	}{
		{name: "create", new: osv("team", "data", 10), want: true},
		{name: "grow", old: osv("team", "data", 10), new: osv("team", "data", 11), want: true},
		{name: "metadata only", old: osv("team", "data", 10), new: osv("team", "data", 10, func(v *storagev1.OpenStackVolume) { v.Labels = map[string]string{"a": "b"} })},
		{name: "shrink", old: osv("team", "data", 10), new: osv("team", "data", 9)},
		{name: "reclaim policy", old: osv("team", "data", 10), new: osv("team", "data", 10, func(v *storagev1.OpenStackVolume) { v.Spec.ReclaimPolicy = storagev1.ReclaimDelete })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := volumeNeedsFacts(volumeChange{old: tt.old, new: tt.new}); got != tt.want {
				t.Errorf("volumeNeedsFacts = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHeldVolumeIDs(t *testing.T) {
	tests := []struct {
		name string
		v    *storagev1.OpenStackVolume
		want []string
	}{
		{name: "new, not yet created", v: osv("team", "a", 1)},
		{name: "created", v: osv("team", "a", 1, func(v *storagev1.OpenStackVolume) { v.Status.VolumeID = "c" }), want: []string{"c"}},
		{name: "adopting", v: osv("team", "a", 1, adopting("s")), want: []string{"s"}},
		{name: "adopted", v: osv("team", "a", 1, adopting("s"), func(v *storagev1.OpenStackVolume) { v.Status.VolumeID = "s" }), want: []string{"s"}},
		{name: "status differs from the source", v: osv("team", "a", 1, adopting("s"), func(v *storagev1.OpenStackVolume) { v.Status.VolumeID = "c" }), want: []string{"s", "c"}},
		{name: "from a snapshot", v: osv("team", "a", 1, func(v *storagev1.OpenStackVolume) {
			v.Spec.Source = &storagev1.VolumeSource{SnapshotID: "snap"}
			v.Status.VolumeID = "c"
		}), want: []string{"c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := heldVolumeIDs(tt.v)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("heldVolumeIDs = %v, want %v", got, tt.want)
			}
		})
	}
}
