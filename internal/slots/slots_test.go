package slots

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

func TestHeld(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const grace = 2 * time.Minute
	// The slot was taken for generation 2 of Project web.
	slot := func(age time.Duration) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{
			CreationTimestamp: metav1.NewTime(now.Add(-age)),
			Labels:            map[string]string{ProjectUIDLabel: "uid-1"},
			Annotations: map[string]string{OwnerAnnotation: "alice", TierAnnotation: "standard", ProjectAnnotation: "web",
				GenerationAnnotation: "2"},
		}}
	}
	project := func(uid, owner, tier string, deleting bool) *tenancyv1.Project {
		p := &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: types.UID(uid)},
			Spec: tenancyv1.ProjectSpec{Owner: owner, Tier: tier}}
		if deleting {
			p.DeletionTimestamp = &metav1.Time{Time: now}
		}
		return p
	}
	tests := []struct {
		name    string
		age     time.Duration
		project *tenancyv1.Project
		gen     int
		want    bool
	}{
		{"its Project exists as it was counted", time.Hour, project("uid-1", "alice", "standard", false), 2, true},
		{"its Project exists, taken a moment ago", time.Second, project("uid-1", "alice", "standard", false), 2, true},
		{"its Project is being deleted", time.Second, project("uid-1", "alice", "standard", true), 2, false},
		{"no Project yet, the create may still be stored", time.Second, nil, 2, true},
		{"no Project after the grace period: the create failed", grace, nil, 2, false},
		{"handed over: the old owner's slot", time.Second, project("uid-1", "bob", "standard", false), 3, false},
		{"handed over long ago: the old owner's slot", time.Hour, project("uid-1", "bob", "standard", false), 2, false},
		{"a hand-over on its way: the new owner's slot", time.Second, project("uid-1", "bob", "standard", false), 1, true},
		{"a hand-over that failed: the new owner's slot after the grace period", grace, project("uid-1", "bob", "standard", false), 1, false},
		{"moved to another tier", time.Second, project("uid-1", "alice", "large", false), 5, false},
		{"another Project of that name: the create found the name taken", time.Second, project("uid-2", "carol", "standard", false), 2, false},
		{"another Project of that name on its way out: the create may still be stored", time.Second, project("uid-2", "carol", "standard", true), 2, true},
		{"another Project of that name on its way out, after the grace period", grace + time.Second, project("uid-2", "carol", "standard", true), 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.project != nil {
				tt.project.Generation = int64(tt.gen)
			}
			if got := Held(slot(tt.age), tt.project, grace, now); got != tt.want {
				t.Errorf("Held = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNamesAndIndex(t *testing.T) {
	k := Key("alice", "standard")
	if k == Key("alice", "large") || k == Key("alic", "estandard") || k == Key("bob", "standard") {
		t.Fatal("distinct (owner, tier) pairs share a key")
	}
	for _, i := range []int{0, 7, 123} {
		got, ok := index(Name(k, i), k)
		if !ok || got != i {
			t.Errorf("index(Name(%d)) = %d, %v", i, got, ok)
		}
	}
	for _, name := range []string{"project-slot-" + k + "-", "project-slot-" + k + "-x", "project-slot-" + Key("bob", "standard") + "-1", "leader"} {
		if _, ok := index(name, k); ok {
			t.Errorf("index(%q) parsed as a slot of %s", name, k)
		}
	}
	if n := len(Name(k, 1000000)); n > 63 {
		t.Errorf("slot names are %d characters; Lease names are DNS subdomains but keep them label-sized", n)
	}
}
