package fleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/atrium-dev/atrium/internal/components"
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

// HubCredentials are a member's kubeconfigs for the hub, one for each
// component that reaches it (components.Component.Hub), by component
// folder: what the member's Secrets named by Hub.Secret hold.
type HubCredentials map[string][]byte

// Of is the kubeconfig of the component's identity at the hub.
func (c HubCredentials) Of(comp components.Component) []byte { return c[comp.Folder] }

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
		return nil, fmt.Errorf("identities of member %s at the hub: %w", cluster, err)
	}
	if err := shipped.Install(ctx, hub, m); err != nil {
		return nil, fmt.Errorf("identities of member %s at the hub: %w", cluster, err)
	}
	creds := HubCredentials{}
	for _, c := range components.All {
		if c.Hub == nil {
			continue
		}
		if creds[c.Folder], err = hub.ServiceAccountKubeConfig(HubNamespace, c.Hub.Account(cluster)); err != nil {
			return nil, err
		}
	}
	return creds, nil
}
