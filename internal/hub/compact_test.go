package hub

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"unsafe"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/procs"
)

// The hub cache's copy of a claim is the claim, less its managedFields,
// and claims share the strings they repeat.
func TestCompactClaimsChangesNothingButManagedFields(t *testing.T) {
	claim := func() *fleetv1.HostnameClaim {
		return &fleetv1.HostnameClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "www.example.org", ResourceVersion: "7",
				Labels:        map[string]string{fleetv1.ClusterLabel: string([]byte("member-1")), fleetv1.NamespaceLabel: "web"},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "atrium-hostnames", Operation: metav1.ManagedFieldsOperationUpdate}}},
			Spec: fleetv1.HostnameClaimSpec{Hostname: "www.example.org", Cluster: string([]byte("member-1")), Namespace: "web", Project: "web",
				Sources: []fleetv1.SourceRef{{Group: "networking.k8s.io", Kind: "Ingress", Name: "site", UID: "u1"}}},
			Status: fleetv1.HostnameClaimStatus{Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "InUse", Message: "held"}}},
		}
	}
	want := claim()
	want.ManagedFields = nil
	a, err := compactClaims(claim())
	if err != nil {
		t.Fatal(err)
	}
	b, err := compactClaims(claim())
	if err != nil {
		t.Fatal(err)
	}
	got := a.(*fleetv1.HostnameClaim)
	if !equality.Semantic.DeepEqual(got, want) {
		t.Fatalf("compacted claim\n%+v\nwant\n%+v", got, want)
	}
	other := b.(*fleetv1.HostnameClaim)
	if unsafe.StringData(got.Spec.Cluster) != unsafe.StringData(other.Spec.Cluster) ||
		unsafe.StringData(got.Labels[fleetv1.ClusterLabel]) != unsafe.StringData(other.Labels[fleetv1.ClusterLabel]) {
		t.Fatal("two claims of one cluster keep two copies of its name")
	}
	// Other objects lose their managedFields only.
	p := &fleetv1.DomainPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p", ManagedFields: claim().ManagedFields}}
	if out, err := compactClaims(p); err != nil || out.(*fleetv1.DomainPolicy).ManagedFields != nil {
		t.Fatalf("domain policy: %v, %v", out, err)
	}
}

// Claims with the same labels share one copy of them, unchanged; a claim
// whose labels differ gets its own; and the table of sets stays bounded
// however many sets pass through it.
func TestLabelSetsAreSharedAndBounded(t *testing.T) {
	sets := &labelSets{max: 3}
	ptr := func(m map[string]string) unsafe.Pointer { return reflect.ValueOf(m).UnsafePointer() }
	a := sets.shared(map[string]string{"c": "member-1", "n": "web"})
	b := sets.shared(map[string]string{"n": "web", "c": "member-1"})
	if ptr(a) != ptr(b) || !reflect.DeepEqual(a, map[string]string{"c": "member-1", "n": "web"}) {
		t.Fatalf("equal sets: %v and %v, shared %v", a, b, ptr(a) == ptr(b))
	}
	c := sets.shared(map[string]string{"c": "member-1", "n": "web", "u": ""})
	if ptr(c) == ptr(a) || len(c) != 3 {
		t.Fatalf("a different set got %v", c)
	}
	for i := range 10 {
		got := sets.shared(map[string]string{"i": fmt.Sprint(i)})
		if got["i"] != fmt.Sprint(i) || len(got) != 1 {
			t.Fatalf("set %d: %v", i, got)
		}
		if len(sets.sets) > sets.max {
			t.Fatalf("%d sets kept, at most %d", len(sets.sets), sets.max)
		}
	}
	// The claims that shared a set dropped from the table still hold it.
	if !reflect.DeepEqual(a, map[string]string{"c": "member-1", "n": "web"}) {
		t.Fatalf("a shared set changed: %v", a)
	}
}

// BenchmarkCompactClaims reports the memory the hub cache keeps for one
// claim (retained-B/object): 100 namespaces, one parent domain, the
// labels, spec and Ready condition admission and the releaser give it.
func BenchmarkCompactClaims(b *testing.B) {
	now := metav1.Now()
	kept := make([]any, b.N)
	before := procs.LiveHeap()
	for i := range kept {
		ns := fmt.Sprintf("project-%03d", i%100)
		host := fmt.Sprintf("site-%07d.apps.example.org", i)
		uid := fmt.Sprintf("%08d-1c5e-4a4b-9d52-7f1e0b2a9c3d", i)
		c := &fleetv1.HostnameClaim{
			ObjectMeta: metav1.ObjectMeta{Name: host, UID: types.UID(uid), ResourceVersion: fmt.Sprint(1000000 + i), Generation: 1, CreationTimestamp: now,
				Labels: map[string]string{fleetv1.ClusterLabel: "member-1", fleetv1.NamespaceLabel: ns,
					fleetv1.UnderLabelPrefix + "3f1c0e6b0d8a4b6f9e2d7c5a1b3e4f60": "", fleetv1.UnderLabelPrefix + "9a7b5c3d1e2f4a6b8c0d2e4f6a8b0c1d": ""}},
			Spec: fleetv1.HostnameClaimSpec{Hostname: fmt.Sprintf("site-%07d.apps.example.org", i), Cluster: "member-1", Namespace: ns, Project: ns,
				Sources: []fleetv1.SourceRef{{Group: "networking.k8s.io", Kind: "Ingress", Name: fmt.Sprintf("site-%07d", i), UID: uid, ReservedAt: now}}},
			Status: fleetv1.HostnameClaimStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue,
				Reason: "InUse", Message: fmt.Sprintf("held by namespace %s of cluster member-1 for 1 object(s)", ns), LastTransitionTime: now, ObservedGeneration: 1}}},
		}
		kept[i], _ = compactClaims(c)
	}
	b.ReportMetric(float64(procs.LiveHeap()-before)/float64(b.N), "retained-B/object")
	runtime.KeepAlive(kept)
}
