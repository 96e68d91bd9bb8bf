// Package fleet brings up a local Atrium fleet the way an admin installs
// one: a hub, its domain policy, and members that each get their own
// identities at the hub, their settings and their tiers. It is the one
// bring-up of e2e, `make run`, the fleet integration tests and the
// benchmarks; each says by its Mode how much of Atrium is installed and
// who runs the components.
package fleet

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// Namespace is where the components run.
const Namespace = "atrium-system"

// DefaultKustomization is what each member installs unless Options say
// otherwise, relative to the repository root: the member overlay an admin
// installs (config/default with Gatekeeper's ConstraintTemplate API, which
// the hostnames webhook reads, and the cluster's values).
const DefaultKustomization = "config/overlays/member"

// ExampleTiers are the ProjectTiers of docs/examples, which the local and
// the e2e fleets give their members.
var ExampleTiers = []string{"docs/examples/projecttier-standard.yaml", "docs/examples/projecttier-large.yaml"}

// Mode says how much of Atrium the fleet installs and who runs the
// components.
type Mode int

const (
	// Shipped installs the hub and every member as an admin would and runs
	// each member's Deployments as processes (internal/shipped), with the
	// members' settings where the Deployments read them: e2e and `make run`.
	Shipped Mode = iota
	// InProcess installs the hub, and on each member the kustomization's
	// CRDs, identities, RBAC and admission policies only; the caller runs
	// Options.Components in its own process as their ServiceAccounts, with
	// the member's credentials at the hub (Member.HubCredentials): the
	// fleet integration tests.
	InProcess
	// Bare starts the hub and the members with Atrium's CRDs and nothing
	// more installed, for the caller to run Options.Components in its own
	// process as cluster admin: the benchmarks that measure a component
	// alone, without the admission policies of a full install.
	Bare
)

// Options describe a fleet.
type Options struct {
	Mode Mode
	// Kustomization is what each member installs, relative to the
	// repository root: DefaultKustomization when empty, or an overlay of
	// it (or of config/default). Bare members install nothing of it.
	Kustomization string
	// Components are what the caller runs in its own process (InProcess
	// and Bare): the webhook configurations of those that serve webhooks
	// are sent to the member's testenv webhook servers.
	Components []components.Component
	// Dir holds binaries, pods' files, logs and kubeconfigs (Shipped).
	Dir string
	// HubObjects are files or folders created at the hub as its admin
	// once it is installed, before any member joins (the fleet's domain
	// policy, say), relative to the repository root.
	HubObjects []string
	// Members are the member clusters.
	Members []MemberOptions
	// ExtraCRDs are installed on every member besides the kustomization's
	// (stand-ins for the APIs Atrium reads).
	ExtraCRDs []string
	// HubProxy puts a testenv.FaultProxy between each member and the hub
	// (Member.HubProxy), which a test cuts to play "hub down"; the
	// member's hub kubeconfigs point at it.
	HubProxy bool
	// NoControllerManager leaves kube-controller-manager out of every
	// control plane (testenv.Options.NoControllerManager).
	NoControllerManager bool
	// ControllerManagerArgs are more flags for every control plane's
	// kube-controller-manager (testenv.Options.ControllerManagerArgs),
	// such as a benchmark's lifted client limit.
	ControllerManagerArgs []string
	// LDFlags are go build's -ldflags for a Shipped fleet's binaries:
	// version.LDFlags stamps them with a release's version, as an
	// installed fleet's images are (empty: the toolchain's own).
	LDFlags string
	// HubIsMember makes the hub's control plane the first member's too, as
	// config/overlays/hub-and-member installs a hub that is also a member:
	// the member's components reach the hub on their own API server, with
	// identities minted there like any member's (Shipped).
	HubIsMember bool
	// OnExit is called when a component's process ends unexpectedly.
	OnExit func(p *procs.Process, err error)
}

// Fleet is a running hub and its members.
type Fleet struct {
	Hub *testenv.Env
	// HubComponents are the hub's own components (Shipped).
	HubComponents *shipped.Components
	Members       []*Member
	// BinDir holds the components' binaries (Shipped).
	BinDir string
	// LogDir holds every component's log, <cluster>-<pod>.log (Shipped).
	LogDir string
}

// Start brings the fleet up: the hub and its objects, then each member in
// turn; on error whatever started is stopped.
func Start(ctx context.Context, o Options) (_ *Fleet, err error) {
	if o.Kustomization == "" {
		o.Kustomization = DefaultKustomization
	}
	f := &Fleet{}
	if o.Mode == Shipped {
		f.BinDir, f.LogDir = filepath.Join(o.Dir, "bin"), filepath.Join(o.Dir, "logs")
	}
	defer func() {
		if err != nil {
			f.Stop()
		}
	}()
	m, err := memberManifests(o, f.BinDir)
	if err != nil {
		return nil, err
	}
	if o.HubIsMember && (o.Mode != Shipped || len(o.Members) == 0) {
		return nil, fmt.Errorf("a hub that is also a member needs mode Shipped and a member")
	}
	if f.Hub, err = f.startHub(ctx, o, m); err != nil {
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

// memberManifests builds what each member installs and, for a Shipped
// fleet, the binaries its Deployments run; a Bare member installs nothing.
func memberManifests(o Options, binDir string) (*shipped.Manifests, error) {
	if o.Mode == Bare {
		return nil, nil
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	m, err := shipped.Build(root, o.Kustomization)
	if err != nil || o.Mode != Shipped {
		return m, err
	}
	return m, m.BuildBinaries(root, binDir, o.LDFlags)
}

// Stop stops the components (clients before servers: an API server
// waits for open watches when it stops), then the members and the hub.
// Components the caller runs in its process it stops first itself.
func (f *Fleet) Stop() {
	for _, m := range f.Members {
		if m.Components != nil {
			m.Components.Stop()
		}
	}
	if f.HubComponents != nil {
		f.HubComponents.Stop()
	}
	for _, m := range f.Members {
		if m.HubProxy != nil {
			m.HubProxy.Close()
		}
		if m.Env != f.Hub {
			_ = m.Env.Stop()
		}
	}
	if f.Hub != nil {
		_ = f.Hub.Stop()
	}
}
