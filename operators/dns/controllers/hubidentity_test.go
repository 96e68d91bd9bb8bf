package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/operators/dns/controllers"
)

// The hostile member's DNS identity at the hub (what its DNS operator's
// Secret holds), turned against the fleet: it reports the DNSRegistered
// condition of its own cluster's claims and nothing else.

func dnsIdentity(t *testing.T, cluster string) client.Client {
	t.Helper()
	return identityClient(t, cluster, func(creds fleet.HubCredentials) []byte { return creds.Of(components.DNS) })
}

// applyCondition writes one condition of a claim's status by server-side
// apply, as the DNS operator writes DNSRegistered; a field manager per
// condition type, so that one apply never drops what another set.
func applyCondition(ctx context.Context, c client.Client, name string, cond metav1.Condition) error {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": fleetv1.GroupVersion.String(),
		"kind":       "HostnameClaim",
		"metadata":   map[string]any{"name": name},
		"status": map[string]any{"conditions": []any{map[string]any{
			"type": cond.Type, "status": string(cond.Status), "reason": cond.Reason, "message": cond.Message,
			"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
		}}},
	}}
	return c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("atrium-dns-hostile-"+cond.Type), client.ForceOwnership)
}

func mustRefuse(t *testing.T, what string, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: allowed", what)
		return
	}
	if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
		t.Errorf("%s: %v, want it refused", what, err)
		return
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s: refused with %q, which does not mention %q", what, err, f)
		}
	}
}

func TestDNSHubIdentityWritesOnlyItsOwnDNSCondition(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	dnsA := dnsIdentity(t, "member-a")

	// A claim of each member, with the Ready condition its hostnames
	// webhook reports (no object uses them: the operators report NoObject
	// meanwhile, which does not matter here).
	mine := claim(t, "mine.hostile-dns.example", "member-a", "hostile")
	theirs := claim(t, "theirs.hostile-dns.example", "member-b", "hostile")
	for _, c := range []*fleetv1.HostnameClaim{mine, theirs} {
		// As the releaser does it: from the live claim, with an optimistic
		// lock, so the DNS operator's condition is kept.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			h := hostnamesIdentity(t, c.Spec.Cluster)
			if err := h.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
				return err
			}
			before := c.DeepCopy()
			meta.SetStatusCondition(&c.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "InUse", Message: "held"})
			return h.Status().Patch(ctx, c, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		})
		if err != nil {
			t.Fatalf("Ready of %s by its cluster's hostnames identity: %v", c.Name, err)
		}
	}

	registered := metav1.Condition{Type: controllers.ConditionDNSRegistered, Status: metav1.ConditionTrue, Reason: "Registered", Message: "forged"}
	if err := applyCondition(ctx, dnsA, mine.Name, registered); err != nil {
		t.Fatalf("its own claim's DNSRegistered: %v", err)
	}
	mustRefuse(t, "DNSRegistered of another cluster's claim", applyCondition(ctx, dnsA, theirs.Name, registered), "held by cluster member-b")

	notReady := metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "AwaitingObject", Message: "forged"}
	mustRefuse(t, "the Ready condition of its own claim", applyCondition(ctx, dnsA, mine.Name, notReady), "only the DNSRegistered condition")

	// A patch that rewrites the whole list, in another order, is fine as
	// long as only DNSRegistered changes.
	live := &fleetv1.HostnameClaim{}
	if err := dnsA.Get(ctx, client.ObjectKeyFromObject(mine), live); err != nil {
		t.Fatal(err)
	}
	reordered := live.DeepCopy()
	conds := reordered.Status.Conditions
	for i, j := 0, len(conds)-1; i < j; i, j = i+1, j-1 {
		conds[i], conds[j] = conds[j], conds[i]
	}
	meta.SetStatusCondition(&reordered.Status.Conditions, metav1.Condition{Type: controllers.ConditionDNSRegistered, Status: metav1.ConditionFalse, Reason: "NoObject", Message: "reordered"})
	if err := dnsA.Status().Patch(ctx, reordered, client.MergeFrom(live)); err != nil {
		t.Fatalf("the conditions in another order, only DNSRegistered changed: %v", err)
	}

	if err := dnsA.Get(ctx, client.ObjectKeyFromObject(mine), live); err != nil {
		t.Fatal(err)
	}
	dropped := live.DeepCopy()
	dropped.Status.Conditions = slicesWithout(dropped.Status.Conditions, "Ready")
	mustRefuse(t, "dropping the Ready condition", dnsA.Status().Patch(ctx, dropped, client.MergeFrom(live)), "only the DNSRegistered condition")
	generation := live.DeepCopy()
	generation.Status.ObservedGeneration += 7
	mustRefuse(t, "the claim's observedGeneration", dnsA.Status().Patch(ctx, generation, client.MergeFrom(live)), "only the DNSRegistered condition")

	// No writes but status.
	spec := live.DeepCopy()
	spec.Spec.Sources = append(spec.Spec.Sources, fleetv1.SourceRef{Kind: "Ingress", Name: "forged"})
	mustRefuse(t, "a claim's spec", dnsA.Update(ctx, spec))
	mustRefuse(t, "releasing its own claim", dnsA.Delete(ctx, live.DeepCopy()))
	forged := &fleetv1.HostnameClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "forged.hostile-dns.example", Labels: map[string]string{fleetv1.ClusterLabel: "member-a", fleetv1.NamespaceLabel: "hostile"}},
		Spec:       fleetv1.HostnameClaimSpec{Hostname: "forged.hostile-dns.example", Cluster: "member-a", Namespace: "hostile"},
	}
	mustRefuse(t, "reserving a hostname", dnsA.Create(ctx, forged))
}

func slicesWithout(conds []metav1.Condition, condType string) []metav1.Condition {
	var out []metav1.Condition
	for _, c := range conds {
		if c.Type != condType {
			out = append(out, c)
		}
	}
	return out
}
