package fleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// HubKustomization is what the hub installs, relative to the repository
// root.
const HubKustomization = "config/hub"

// MemberTemplate is the template of one member's identities at the hub,
// relative to the repository root (see its kustomization.yaml).
const MemberTemplate = "config/hub/member"

// HubNamespace holds every member's identities at the hub.
const HubNamespace = "atrium-fleet"

// HostnamesIdentity is the ServiceAccount of HubNamespace that a member's
// hostnames webhook acts as at the hub. It is named after the cluster:
// that is how the hub's admission policies know whose claims it may write.
func HostnamesIdentity(cluster string) string { return cluster + "-hostnames" }

// DNSIdentity is the ServiceAccount of HubNamespace that a member's DNS
// operator acts as at the hub, named after the cluster as well.
func DNSIdentity(cluster string) string { return cluster + "-dns" }

// MemberKustomization is the kustomization an admin writes to mint a
// member's identities at the hub: the template (at base, a path or URL)
// with the cluster's name as prefix and label.
func MemberKustomization(base, cluster string) string {
	return fmt.Sprintf(`resources:
- %s
namePrefix: %s-
labels:
- pairs: {fleet.atrium.dev/cluster: %s}
`, base, cluster, cluster)
}

// HubCredentials are a member's kubeconfigs for the hub, one per
// component identity: what the member's Secrets atrium-hub-kubeconfig and
// atrium-dns-hub-kubeconfig hold.
type HubCredentials struct {
	Hostnames, DNS []byte
}

// BuildMember builds a member's identities at the hub from MemberTemplate
// as `kubectl apply -k` of MemberKustomization builds them.
func BuildMember(cluster string) (*shipped.Manifests, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "atrium-hub-member-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// kustomize takes resources outside the kustomization by relative
	// path only.
	base, err := filepath.Rel(dir, filepath.Join(root, MemberTemplate))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(MemberKustomization(base, cluster)), 0o600); err != nil {
		return nil, err
	}
	m, err := shipped.Build(dir, ".")
	if err != nil {
		return nil, err
	}
	m.Path = MemberTemplate + " for " + cluster
	return m, nil
}

// MintMember creates a member's identities at the hub as an admin would
// (MemberKustomization applied to the hub) and returns a kubeconfig of
// each, holding a token the hub's TokenRequest API issued for it.
func MintMember(ctx context.Context, hub *testenv.Env, cluster string) (HubCredentials, error) {
	m, err := BuildMember(cluster)
	if err != nil {
		return HubCredentials{}, fmt.Errorf("identities of member %s at the hub: %w", cluster, err)
	}
	if err := shipped.Install(ctx, hub, m); err != nil {
		return HubCredentials{}, fmt.Errorf("identities of member %s at the hub: %w", cluster, err)
	}
	var creds HubCredentials
	if creds.Hostnames, err = hub.ServiceAccountKubeConfig(HubNamespace, HostnamesIdentity(cluster)); err != nil {
		return HubCredentials{}, err
	}
	if creds.DNS, err = hub.ServiceAccountKubeConfig(HubNamespace, DNSIdentity(cluster)); err != nil {
		return HubCredentials{}, err
	}
	return creds, nil
}
