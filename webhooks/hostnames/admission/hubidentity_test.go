package admission_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/hostname"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// The hostile member: a member's hostnames identity at the hub, as a
// member's admin (or whoever reads its Secret) holds it, turned against
// the other members. Each attack must be refused by the hub's API server
// (RBAC or the admission policies of config/hub); its own claims still go
// through their whole life.

// hubIdentity is a client of the hub acting as the cluster's hostnames
// identity there, minted as an admin mints it.
func hubIdentity(t *testing.T, cluster string) client.Client {
	t.Helper()
	creds, err := fleet.MintMember(context.Background(), hub, cluster)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(creds.Of(components.Hostnames))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: hub.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newClaim is a claim as the webhook of cluster makes it for a namespace.
func newClaim(t *testing.T, host, cluster, namespace string) *fleetv1.HostnameClaim {
	t.Helper()
	h, err := hostname.Normalize(host, hostname.Options{AllowWildcard: true})
	if err != nil {
		t.Fatal(err)
	}
	return &fleetv1.HostnameClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name:   hostname.ClaimName(h),
			Labels: map[string]string{fleetv1.ClusterLabel: cluster, fleetv1.NamespaceLabel: namespace},
		},
		Spec: fleetv1.HostnameClaimSpec{
			Hostname: h.Name, Cluster: cluster, Namespace: namespace,
			Sources: []fleetv1.SourceRef{{Group: "networking.k8s.io", Kind: "Ingress", Name: "site", ReservedAt: metav1.Now()}},
		},
	}
}

// refused fails the test unless err is the API server refusing the
// request (403 from RBAC or a policy, 422 from a policy saying the object
// is not as it must be) with a message holding every fragment.
func refused(t *testing.T, what string, err error, fragments ...string) {
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

func TestMemberHubIdentityWritesOnlyItsOwnClaims(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a, b := hubIdentity(t, "hostile-a"), hubIdentity(t, "hostile-b")

	// The other member's claim, made by its own identity.
	theirs := newClaim(t, "theirs.hostile.example", "hostile-b", "shop")
	if err := b.Create(ctx, theirs); err != nil {
		t.Fatalf("hostile-b's own claim: %v", err)
	}

	// Its own claim's whole life works: reserve, add a source, report
	// Ready, release; wildcards too.
	for _, host := range []string{"mine.hostile.example", "*.mine.hostile.example"} {
		mine := newClaim(t, host, "hostile-a", "blog")
		if err := a.Create(ctx, mine); err != nil {
			t.Fatalf("own claim %s: %v", host, err)
		}
		mine.Spec.Sources = append(mine.Spec.Sources, fleetv1.SourceRef{Group: "networking.k8s.io", Kind: "Ingress", Name: "acme-solver", ReservedAt: metav1.Now()})
		if err := a.Update(ctx, mine); err != nil {
			t.Fatalf("adding a source to the own claim %s: %v", host, err)
		}
		before := mine.DeepCopy()
		meta.SetStatusCondition(&mine.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "InUse", Message: "test"})
		if err := a.Status().Patch(ctx, mine, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			t.Fatalf("Ready of the own claim %s: %v", host, err)
		}
		if err := a.Delete(ctx, mine); err != nil {
			t.Fatalf("releasing the own claim %s: %v", host, err)
		}
	}

	// The other member's claim cannot be changed, released or reported on.
	live := &fleetv1.HostnameClaim{}
	if err := a.Get(ctx, client.ObjectKeyFromObject(theirs), live); err != nil {
		t.Fatalf("reading claims (to name their holder) is part of the job: %v", err)
	}
	stolen := live.DeepCopy()
	stolen.Spec.Sources = append(stolen.Spec.Sources, fleetv1.SourceRef{Kind: "Ingress", Name: "mine"})
	refused(t, "adding a source to another cluster's claim", a.Update(ctx, stolen), "held by cluster hostile-b")
	refused(t, "releasing another cluster's claim", a.Delete(ctx, live.DeepCopy()), "held by cluster hostile-b")
	patched := live.DeepCopy()
	meta.SetStatusCondition(&patched.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "AwaitingObject", Message: "forged"})
	refused(t, "reporting on another cluster's claim", a.Status().Patch(ctx, patched, client.MergeFrom(live)), "held by cluster hostile-b")
	taken := live.DeepCopy()
	taken.Spec.Cluster, taken.Labels[fleetv1.ClusterLabel] = "hostile-a", "hostile-a"
	refused(t, "taking another cluster's claim over", a.Update(ctx, taken))

	// Nothing is made in another cluster's name, nor mislabelled.
	refused(t, "a claim in another cluster's name",
		a.Create(ctx, newClaim(t, "forged.hostile.example", "hostile-b", "shop")), "not one for cluster hostile-b")
	mislabelled := newClaim(t, "mislabelled.hostile.example", "hostile-a", "blog")
	mislabelled.Labels[fleetv1.ClusterLabel] = "hostile-b"
	refused(t, "an own claim labelled as another cluster's (it would land in that cluster's cache)",
		a.Create(ctx, mislabelled), "fleet.atrium.dev/cluster=hostile-a")
	misnamed := newClaim(t, "misnamed.hostile.example", "hostile-a", "blog")
	misnamed.Name = "theirs-too.hostile.example"
	refused(t, "a claim not named after its hostname", a.Create(ctx, misnamed), "named after its hostname")

	// An own claim cannot be relabelled to another cluster afterwards.
	own := newClaim(t, "relabel.hostile.example", "hostile-a", "blog")
	if err := a.Create(ctx, own); err != nil {
		t.Fatal(err)
	}
	own.Labels[fleetv1.ClusterLabel] = "hostile-b"
	refused(t, "relabelling an own claim to another cluster", a.Update(ctx, own), "fleet.atrium.dev/cluster=hostile-a")

	// Nor can it write the DNS operator's condition of its own claim.
	if err := a.Get(ctx, client.ObjectKeyFromObject(own), own); err != nil {
		t.Fatal(err)
	}
	before := own.DeepCopy()
	meta.SetStatusCondition(&own.Status.Conditions, metav1.Condition{Type: "DNSRegistered", Status: metav1.ConditionTrue, Reason: "Registered", Message: "forged"})
	refused(t, "writing DNSRegistered", a.Status().Patch(ctx, own, client.MergeFrom(before)), "only the Ready condition")
}

func TestMemberHubIdentityHasNoOtherRights(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a := hubIdentity(t, "hostile-a")

	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := hub.Client.Get(ctx, client.ObjectKey{Name: "hostnameclaims.fleet.atrium.dev"}, crd); err != nil {
		t.Fatal(err)
	}
	crd.Spec.Versions[0].Schema.OpenAPIV3Schema.XValidations = nil
	refused(t, "updating the HostnameClaim CRD", a.Update(ctx, crd))
	refused(t, "creating a CRD", a.Create(ctx, evilCRD()))
	refused(t, "listing namespaces", a.List(ctx, &corev1.NamespaceList{}))
	refused(t, "listing Secrets", a.List(ctx, &corev1.SecretList{}))
	refused(t, "reading the other identities' Secrets", a.List(ctx, &corev1.SecretList{}, client.InNamespace(fleet.HubNamespace)))
	refused(t, "minting itself another identity",
		a.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: fleet.HubNamespace, Name: "hostile-b-hostnames"}}))
	refused(t, "granting itself more", a.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "hostile-a-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: fleet.HubNamespace, Name: components.Hostnames.Hub.Account("hostile-a")}},
	}))
}

// TestMemberHubIdentityIsNarrowedWhateverItsRoles: an admin who binds a
// member's identity to a role too wide (cluster-admin here) still gives it
// no more than its own claims: the API server's policies, not the roles,
// draw that line.
func TestMemberHubIdentityIsNarrowedWhateverItsRoles(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	careless := hubIdentity(t, "careless")
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "careless-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: fleet.HubNamespace, Name: components.Hostnames.Hub.Account("careless")}},
	}
	if err := hub.Client.Create(ctx, crb); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Client.Delete(context.Background(), crb) })
	// RBAC is cached by the API server: wait until the binding counts.
	if err := eventuallyAllowed(ctx, careless); err != nil {
		t.Fatal(err)
	}
	const policy = "atrium-fleet-identities"
	refused(t, "creating a CRD", careless.Create(ctx, evilCRD()), policy)
	refused(t, "creating a namespace", careless.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "careless"}}), policy)
	refused(t, "a claim in another cluster's name",
		careless.Create(ctx, newClaim(t, "careless.hostile.example", "member-a", "alpha")), policy)
	if err := careless.Create(ctx, newClaim(t, "own.careless.example", "careless", "alpha")); err != nil {
		t.Fatalf("its own claim: %v", err)
	}
}

// eventuallyAllowed waits until c may list namespaces, which only the
// test's wide binding grants.
func eventuallyAllowed(ctx context.Context, c client.Client) error {
	return testenv.Eventually(ctx, 30*time.Second, func() error { return c.List(ctx, &corev1.NamespaceList{}) })
}

func evilCRD() *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "takeovers.evil.example"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "evil.example", Scope: apiextensionsv1.ClusterScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "takeovers", Singular: "takeover", Kind: "Takeover", ListKind: "TakeoverList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object"}},
			}},
		},
	}
}
