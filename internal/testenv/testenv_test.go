package testenv_test

import (
	"context"
	"os"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/testenv"
)

// TestControlPlaneBehavesLikeACluster: what tests and `make run` rely on
// kube-controller-manager for happens, and components get real
// ServiceAccount tokens.
func TestControlPlaneBehavesLikeACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	env, err := testenv.Start(testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	ctx := context.Background()
	c := env.Client

	t.Run("namespace deletion", func(t *testing.T) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "goes-away"}}
		if err := c.Create(ctx, ns); err != nil {
			t.Fatal(err)
		}
		if err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "inside", Namespace: ns.Name}}); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, ns); err != nil {
			t.Fatal(err)
		}
		err := testenv.Eventually(ctx, time.Minute, func() error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(ns), ns); !apierrors.IsNotFound(err) {
				return errStill("namespace", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("garbage collection", func(t *testing.T) {
		owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner", Namespace: "default"}}
		if err := c.Create(ctx, owner); err != nil {
			t.Fatal(err)
		}
		dependent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dependent", Namespace: "default",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}}}
		if err := c.Create(ctx, dependent); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, owner); err != nil {
			t.Fatal(err)
		}
		err := testenv.Eventually(ctx, time.Minute, func() error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(dependent), dependent); !apierrors.IsNotFound(err) {
				return errStill("dependent", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ClusterRole aggregation", func(t *testing.T) {
		role := &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "aggregated-into-view", Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"example.test"}, Resources: []string{"widgets"}, Verbs: []string{"get"}}},
		}
		if err := c.Create(ctx, role); err != nil {
			t.Fatal(err)
		}
		if err := env.WaitForAggregation(ctx); err != nil {
			t.Fatal(err)
		}
		view := &rbacv1.ClusterRole{}
		if err := c.Get(ctx, client.ObjectKey{Name: "view"}, view); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range view.Rules {
			found = found || (len(r.Resources) == 1 && r.Resources[0] == "widgets")
		}
		if !found {
			t.Fatalf("view does not aggregate the new role: %v", view.Rules)
		}
	})

	t.Run("ServiceAccount kubeconfig", func(t *testing.T) {
		if err := c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "component", Namespace: "default"}}); err != nil {
			t.Fatal(err)
		}
		b, err := env.ServiceAccountKubeConfig("default", "component")
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := clientcmd.RESTConfigFromKubeConfig(b)
		if err != nil {
			t.Fatal(err)
		}
		sa, err := client.New(cfg, client.Options{Scheme: env.Scheme})
		if err != nil {
			t.Fatal(err)
		}
		review := &authenticationv1.SelfSubjectReview{}
		if err := sa.Create(ctx, review); err != nil {
			t.Fatal(err)
		}
		if got, want := review.Status.UserInfo.Username, "system:serviceaccount:default:component"; got != want {
			t.Fatalf("authenticated as %q, want %q", got, want)
		}
		// The token carries no rights of its own.
		if err := sa.List(ctx, &corev1.SecretList{}); !apierrors.IsForbidden(err) {
			t.Fatalf("a ServiceAccount without roles listed Secrets: %v", err)
		}
	})
}

func errStill(what string, err error) error {
	if err == nil {
		return &stillThere{what}
	}
	return err
}

type stillThere struct{ what string }

func (s *stillThere) Error() string { return s.what + " still exists" }

func TestMain(m *testing.M) {
	testenv.SetupLogging()
	os.Exit(m.Run())
}
