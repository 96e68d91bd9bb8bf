// Package fleet brings up a local Atrium fleet the way an admin installs
// one: a hub and its domain policy, and members that each run every
// component of config/ (or an overlay of it) from its Deployment, as its
// ServiceAccount, with the shipped RBAC, with per-cluster settings in the
// ConfigMaps and Secrets the Deployments read, and their tiers. The e2e
// suite and `make run` share it.
package fleet

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// Namespace is where the components run.
const Namespace = "atrium-system"

// ExampleTiers are the ProjectTiers of docs/examples, which the local and
// the e2e fleets give their members.
var ExampleTiers = []string{"docs/examples/projecttier-standard.yaml", "docs/examples/projecttier-large.yaml"}

// Options describe a fleet.
type Options struct {
	// Kustomization is what each member installs, relative to the
	// repository root: config/default, or an overlay of it.
	Kustomization string
	// Dir holds binaries, pods' files, logs and kubeconfigs.
	Dir string
	// HubObjects are files or folders created at the hub as its admin
	// once it is installed, before any member joins (the fleet's domain
	// policy, say), relative to the repository root.
	HubObjects []string
	// Members are the member clusters.
	Members []MemberOptions
	// ExtraCRDs are installed on every member besides config/crd
	// (stand-ins for the APIs Atrium reads).
	ExtraCRDs []string
	// OnExit is called when a component's process ends unexpectedly.
	OnExit func(p *procs.Process, err error)
}

// Fleet is a running hub and its members.
type Fleet struct {
	Hub     *testenv.Env
	Members []*Member
	// BinDir holds the components' binaries.
	BinDir string
	// LogDir holds every component's log, <cluster>-<pod>.log.
	LogDir string
}

// Start builds the components and brings the fleet up; on error whatever
// started is stopped.
func Start(ctx context.Context, o Options) (_ *Fleet, err error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	f := &Fleet{BinDir: filepath.Join(o.Dir, "bin"), LogDir: filepath.Join(o.Dir, "logs")}
	defer func() {
		if err != nil {
			f.Stop()
		}
	}()
	m, err := shipped.Build(root, o.Kustomization)
	if err != nil {
		return nil, err
	}
	if err := m.BuildBinaries(root, f.BinDir); err != nil {
		return nil, err
	}
	if f.Hub, err = StartHub(ctx); err != nil {
		return nil, err
	}
	if err := f.Hub.CreateFromFiles(ctx, o.HubObjects...); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	for _, mo := range o.Members {
		mem, err := f.startMember(ctx, m, mo, o)
		if mem != nil {
			f.Members = append(f.Members, mem)
		}
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", mo.Name, err)
		}
	}
	return f, nil
}

// StartHub starts the hub as an admin installs one: config/hub (the fleet
// CRDs, the hub roles of the components that reach it, the policies that
// narrow them to each member's own claims, and the namespace of the
// members' identities). Each member's identities are minted with
// MintMember.
func StartHub(ctx context.Context) (*testenv.Env, error) {
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
	hub, err := testenv.Start(testenv.Options{CRDs: crds})
	if err != nil {
		return nil, err
	}
	if err := shipped.Install(ctx, hub, m); err != nil {
		_ = hub.Stop()
		return nil, err
	}
	return hub, nil
}

// Stop stops the components (clients before servers: an API server
// waits for open watches when it stops), then the members and the hub.
func (f *Fleet) Stop() {
	for _, m := range f.Members {
		if m.Components != nil {
			m.Components.Stop()
		}
	}
	for _, m := range f.Members {
		_ = m.Env.Stop()
	}
	if f.Hub != nil {
		_ = f.Hub.Stop()
	}
}
