package fleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// HubKustomization is what the hub installs, relative to the repository
// root.
const HubKustomization = "config/overlays/hub"

// MemberTemplate is the template of one member's identities at the hub,
// relative to the repository root (see its kustomization.yaml).
const MemberTemplate = "config/hub/member"

// HubNamespace holds every member's identities at the hub.
const HubNamespace = "atrium-fleet"

// startHub starts the hub as an admin installs one: config/hub (the fleet
// CRDs, the hub roles of the components that reach it, the policies that
// narrow them to each member's own claims, and the namespace of the
// members' identities), or in Bare mode a control plane that serves the
// fleet CRDs alone. Each member's identities are minted with MintMember.
//
// With Options.HubIsMember the hub's control plane also serves what the
// members' kustomization installs (member is its manifests).
func (f *Fleet) startHub(ctx context.Context, o Options, member *shipped.Manifests) (*testenv.Env, error) {
	if o.Mode == Bare {
		return testenv.Start(testenv.Options{NoControllerManager: o.NoControllerManager})
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	m, err := shipped.Build(root, HubKustomization)
	if err != nil {
		return nil, err
	}
	crds, err := m.CRDs()
	if err != nil {
		return nil, err
	}
	eo := testenv.Options{CRDs: crds, NoControllerManager: o.NoControllerManager, ControllerManagerArgs: o.ControllerManagerArgs}
	if o.HubIsMember {
		me, err := memberEnvOptions(member, o)
		if err != nil {
			return nil, err
		}
		eo.CRDs = append(eo.CRDs, me.CRDs...)
		eo.ServiceWebhooks, eo.ExtraCRDs = me.ServiceWebhooks, me.ExtraCRDs
	}
	hub, err := testenv.Start(eo)
	if err != nil {
		return nil, err
	}
	if err := shipped.Install(ctx, hub, m); err != nil {
		_ = hub.Stop()
		return nil, err
	}
	if o.Mode == Shipped {
		// The hub's own components (the fleet operator) run from their
		// Deployments, as a member's do.
		if err := m.BuildBinaries(root, f.BinDir, o.LDFlags); err != nil {
			_ = hub.Stop()
			return nil, err
		}
		if f.HubComponents, err = shipped.Start(ctx, hub, m, shipped.RunOptions{
			BinDir: f.BinDir, Dir: filepath.Join(o.Dir, "hub-pods"), LogDir: f.LogDir, Prefix: "hub-", OnExit: o.OnExit,
		}); err != nil {
			_ = hub.Stop()
			return nil, err
		}
	}
	return hub, nil
}

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
// (MemberKustomization applied to the hub), registers its MemberCluster,
// and returns a kubeconfig of
// each, holding a token the hub's TokenRequest API issued for it.
func MintMember(ctx context.Context, hub *testenv.Env, cluster string) (HubCredentials, error) {
	m, err := BuildMember(cluster)
	if err != nil {
		return nil, fmt.Errorf("identities of member %s at the hub: %w", cluster, err)
	}
	if err := shipped.Install(ctx, hub, m); err != nil {
		return nil, fmt.Errorf("identities of member %s at the hub: %w", cluster, err)
	}
	// The admin registers the member: its MemberCluster, which its
	// components report to.
	mc := &fleetv1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Name: cluster}}
	if err := hub.Client.Create(ctx, mc); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("MemberCluster %s at the hub: %w", cluster, err)
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
