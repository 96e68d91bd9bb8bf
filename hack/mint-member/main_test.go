package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/hostname"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// startHub is a hub installed from config/hub, as an admin installs one.
func startHub(t *testing.T) *testenv.Env {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	m, err := shipped.Build(root, fleet.HubKustomization)
	if err != nil {
		t.Fatal(err)
	}
	crds, err := m.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	hub, err := testenv.Start(testenv.Options{CRDs: crds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Stop() })
	if err := shipped.Install(context.Background(), hub, m); err != nil {
		t.Fatal(err)
	}
	return hub
}

// mounted writes a Secret's keys into a folder, as the kubelet mounts it,
// and returns a client built from its kubeconfig, as a component builds
// one from --hub-kubeconfig.
func mounted(t *testing.T, s *corev1.Secret) client.Client {
	t.Helper()
	dir := t.TempDir()
	for k, v := range s.Data {
		if err := os.WriteFile(filepath.Join(dir, k), v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func claim(t *testing.T, host, cluster string) *fleetv1.HostnameClaim {
	t.Helper()
	h, err := hostname.Normalize(host, hostname.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &fleetv1.HostnameClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name:   hostname.ClaimName(h),
			Labels: map[string]string{fleetv1.ClusterLabel: cluster, fleetv1.NamespaceLabel: "shop"},
		},
		Spec: fleetv1.HostnameClaimSpec{
			Hostname: h.Name, Cluster: cluster, Namespace: "shop",
			Sources: []fleetv1.SourceRef{{Group: "networking.k8s.io", Kind: "Ingress", Name: "site", ReservedAt: metav1.Now()}},
		},
	}
}

// TestMintedKubeconfigsActAsTheMembersIdentities mints member-1 of the
// example fleet (its cluster.env) against a real hub, as an admin runs
// the command, and uses each Secret as the member's component would: it
// authenticates as that identity alone, the hostnames identity writes its
// own cluster's claim and is refused another cluster's, the DNS identity
// creates no claim, neither reads Secrets; the token expires when asked.
// Minting again (a renewal) gives new tokens and changes nothing else.
func TestMintedKubeconfigsActAsTheMembersIdentities(t *testing.T) {
	if testing.Short() {
		t.Skip("needs an API server")
	}
	ctx := context.Background()
	hub := startHub(t)
	dir := t.TempDir()
	hubKubeconfig := filepath.Join(dir, "hub.kubeconfig")
	if err := os.WriteFile(hubKubeconfig, hub.KubeConfig(), 0o600); err != nil {
		t.Fatal(err)
	}
	root, _ := testenv.RepoRoot()
	out := filepath.Join(dir, "secrets.yaml")
	if err := run(hubKubeconfig, "", "", filepath.Join(root, "docs/examples/fleet/member-1/cluster.env"), "", "", 2*time.Hour, fleet.Namespace, out); err != nil {
		t.Fatal(err)
	}
	objs, err := testenv.ReadObjects(out)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]*corev1.Secret{}
	for _, u := range objs {
		s := &corev1.Secret{}
		if err := hub.Scheme.Convert(u, s, nil); err != nil {
			t.Fatal(err)
		}
		if s.Namespace != fleet.Namespace {
			t.Errorf("Secret %s in namespace %q, want %s", s.Name, s.Namespace, fleet.Namespace)
		}
		secrets[s.Name] = s
	}
	want := 0
	for _, c := range components.All {
		if c.Hub != nil {
			want++
			if secrets[c.Hub.Secret] == nil {
				t.Errorf("no Secret %s (the name Deployment %s mounts)", c.Hub.Secret, c.Deployment)
			}
		}
	}
	if len(secrets) != want {
		t.Fatalf("%d Secrets, want one per hub identity (%d)", len(secrets), want)
	}
	for _, comp := range []components.Component{components.Hostnames, components.DNS} {
		s := secrets[comp.Hub.Secret]
		if s == nil {
			t.Fatalf("no Secret %s (the name Deployment %s mounts)", comp.Hub.Secret, comp.Deployment)
		}
		c := mounted(t, s)
		review := &authenticationv1.SelfSubjectReview{}
		if err := c.Create(ctx, review); err != nil {
			t.Fatal(err)
		}
		if want := "system:serviceaccount:" + fleet.HubNamespace + ":member-1-" + comp.Hub.Identity; review.Status.UserInfo.Username != want {
			t.Errorf("%s acts as %s, want %s", s.Name, review.Status.UserInfo.Username, want)
		}
		expires, err := time.Parse(time.RFC3339, s.Annotations[ExpiresAnnotation])
		if err != nil || time.Until(expires) > 2*time.Hour+time.Minute || time.Until(expires) < time.Hour {
			t.Errorf("%s: token expires %q, asked for 2h: %v", s.Name, s.Annotations[ExpiresAnnotation], err)
		}
		if err := c.List(ctx, &corev1.SecretList{}, client.InNamespace(fleet.HubNamespace)); !apierrors.IsForbidden(err) {
			t.Errorf("%s lists the hub's Secrets: %v", s.Name, err)
		}
	}

	hostnames, dns := mounted(t, secrets[components.Hostnames.Hub.Secret]), mounted(t, secrets[components.DNS.Hub.Secret])
	if err := hostnames.Create(ctx, claim(t, "www.member-1.example.org", "member-1")); err != nil {
		t.Errorf("member-1's hostnames identity cannot claim for member-1: %v", err)
	}
	if err := hostnames.Create(ctx, claim(t, "www.member-2.example.org", "member-2")); err == nil || !(apierrors.IsForbidden(err) || apierrors.IsInvalid(err)) {
		t.Errorf("member-1's hostnames identity claims for member-2: %v", err)
	}
	if err := dns.Create(ctx, claim(t, "dns.member-1.example.org", "member-1")); !apierrors.IsForbidden(err) {
		t.Errorf("member-1's DNS identity creates a claim: %v", err)
	}
	if err := dns.List(ctx, &fleetv1.HostnameClaimList{}); err != nil {
		t.Errorf("member-1's DNS identity cannot read claims: %v", err)
	}

	// The member is registered: its components have a MemberCluster to
	// report to. A renewal leaves what the admin wrote in it alone.
	mc := &fleetv1.MemberCluster{}
	if err := hub.Client.Get(ctx, client.ObjectKey{Name: "member-1"}, mc); err != nil {
		t.Fatalf("no MemberCluster member-1 after minting: %v", err)
	}
	mc.Spec.DisplayName = "Member one"
	if err := hub.Client.Update(ctx, mc); err != nil {
		t.Fatal(err)
	}

	// A renewal: new tokens for the same identities.
	var renewed bytes.Buffer
	hubCfg, err := clientcmd.BuildConfigFromFlags("", hubKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Mint(ctx, Options{Hub: hubCfg, Cluster: "member-1", Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(&renewed, again); err != nil {
		t.Fatal(err)
	}
	for _, m := range again {
		if bytes.Equal(m.Secret.Data["token"], secrets[m.Secret.Name].Data["token"]) {
			t.Errorf("%s: the renewal issued the same token", m.Secret.Name)
		}
		if !strings.Contains(string(m.Secret.Data["kubeconfig"]), "tokenFile: token") {
			t.Errorf("%s: the kubeconfig does not read its token from the file beside it", m.Secret.Name)
		}
	}
	if err := hub.Client.Get(ctx, client.ObjectKey{Name: "member-1"}, mc); err != nil || mc.Spec.DisplayName != "Member one" {
		t.Errorf("the renewal changed MemberCluster member-1: %+v, %v", mc.Spec, err)
	}
	if !strings.Contains(renewed.String(), "kind: Secret") {
		t.Errorf("Write wrote no Secret:\n%s", renewed.String())
	}
}
