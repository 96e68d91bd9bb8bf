package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// HostnameInput describes two tenants wanting one hostname.
type HostnameInput struct {
	Hostname       string
	First, Second  string // namespaces
	ReleaseTimeout time.Duration
}

// HostnameBelongsToOneTenant: the first namespace's Ingress claims the
// hostname at the hub, the second namespace is refused with a message that
// names the holder, and once the first Ingress is deleted the second gets it.
func HostnameBelongsToOneTenant(ctx context.Context, t *testing.T, in HostnameInput) {
	t.Helper()
	c := f.env.Client
	for _, ns := range []string{in.First, in.Second} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	ing := func(ns string) *networkingv1.Ingress {
		return &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "site"},
			Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: in.Hostname}}},
		}
	}
	first := ing(in.First)
	if err := c.Create(ctx, first); err != nil {
		t.Fatalf("first tenant refused: %v", err)
	}
	claim := &fleetv1.HostnameClaim{}
	if err := f.hub.Client.Get(ctx, client.ObjectKey{Name: in.Hostname}, claim); err != nil || claim.Spec.Namespace != in.First {
		t.Fatalf("claim at the hub: %+v, %v", claim.Spec, err)
	}
	err := c.Create(ctx, ing(in.Second))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("namespace %s of cluster member-e2e", in.First)) {
		t.Fatalf("second tenant: %v", err)
	}
	if err := c.Delete(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := testenv.Eventually(ctx, in.ReleaseTimeout, func() error { return c.Create(ctx, ing(in.Second)) }); err != nil {
		t.Fatalf("never released: %v", err)
	}
}

func TestHostnameBelongsToOneTenant(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	HostnameBelongsToOneTenant(context.Background(), t, HostnameInput{
		Hostname: "shared.e2e.example.org", First: "tenant-one", Second: "tenant-two", ReleaseTimeout: 30 * time.Second,
	})
}
