package hub

import (
	"testing"
	"unsafe"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
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
