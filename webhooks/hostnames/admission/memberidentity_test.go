package admission_test

import (
	"context"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestWebhookServiceAccountDefinesOnlyConstraintKinds: the hostnames
// webhook's ServiceAccount on a member creates and updates CRDs (each
// ConstraintTemplate's constraint kind) and nothing else with that right:
// Atrium's own CRDs and any other API are refused by the shipped policy.
func TestWebhookServiceAccountDefinesOnlyConstraintKinds(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	m := members["member-a"]
	cfg, err := memberConfig(m.env)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := client.New(cfg, client.Options{Scheme: m.env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	refused(t, "defining another API", sa.Create(ctx, evilCRD()), "atrium-hostnames-constraint-crds")
	projects := &apiextensionsv1.CustomResourceDefinition{}
	if err := sa.Get(ctx, client.ObjectKey{Name: "projects.tenancy.atrium.dev"}, projects); err != nil {
		t.Fatal(err)
	}
	projects.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties = nil
	refused(t, "rewriting the Project CRD", sa.Update(ctx, projects), "atrium-hostnames-constraint-crds")

	constraint := evilCRD()
	constraint.Name, constraint.Spec.Group = "takeovers.constraints.gatekeeper.sh", "constraints.gatekeeper.sh"
	if err := sa.Create(ctx, constraint); err != nil {
		t.Fatalf("a constraint kind, what the webhook defines for each ConstraintTemplate: %v", err)
	}
	_ = m.env.Client.Delete(ctx, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: constraint.Name}})
}
