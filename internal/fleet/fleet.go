// Package fleet brings up a local Atrium fleet the way an admin installs
// one: a hub, and members that each run every component of config/ (or an
// overlay of it) from its Deployment, as its ServiceAccount, with the
// shipped RBAC, with per-cluster settings in the ConfigMaps and Secrets
// the Deployments read. The e2e suite and `make run` share it.
package fleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// Namespace is where the components run.
const Namespace = "atrium-system"

// Options describe a fleet.
type Options struct {
	// Kustomization is what each member installs, relative to the
	// repository root: config/default, or an overlay of it.
	Kustomization string
	// Dir holds binaries, pods' files, logs and kubeconfigs.
	Dir string
	// Members are the member clusters.
	Members []MemberOptions
	// ExtraCRDs are installed on every member besides config/crd
	// (stand-ins for the APIs Atrium reads).
	ExtraCRDs []string
	// OnExit is called when a component's process ends unexpectedly.
	OnExit func(p *procs.Process, err error)
}

// MemberOptions are one member's settings: what an admin writes into the
// ConfigMaps and Secrets of atrium-system when installing it.
type MemberOptions struct {
	// Name is the cluster's name in the fleet (ConfigMap atrium-cluster).
	Name string
	// DNS is the data of ConfigMap atrium-dns (provider, zone, server, …).
	DNS map[string]string
	// DNSCredentials is the data of Secret atrium-dns-credentials.
	DNSCredentials map[string][]byte
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

// Member is one running member cluster.
type Member struct {
	Name       string
	Env        *testenv.Env
	Manifests  *shipped.Manifests
	Components *shipped.Components
	logDir     string
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

func (f *Fleet) startMember(ctx context.Context, m *shipped.Manifests, mo MemberOptions, o Options) (*Member, error) {
	webhooks, err := m.WebhookConfigurations()
	if err != nil {
		return nil, err
	}
	crds, err := m.CRDs()
	if err != nil {
		return nil, err
	}
	env, err := testenv.Start(testenv.Options{CRDs: crds, ServiceWebhooks: webhooks, ExtraCRDs: o.ExtraCRDs})
	if err != nil {
		return nil, err
	}
	mem := &Member{Name: mo.Name, Env: env, Manifests: m, logDir: f.LogDir}
	if err := shipped.Install(ctx, env, m); err != nil {
		return mem, err
	}
	if err := shipped.IssueCertificates(ctx, env, m); err != nil {
		return mem, err
	}
	if err := f.configure(ctx, mem, mo); err != nil {
		return mem, err
	}
	mem.Components, err = shipped.Start(ctx, env, m, shipped.RunOptions{
		BinDir: f.BinDir, Dir: filepath.Join(o.Dir, "pods"), LogDir: f.LogDir,
		Prefix: mo.Name + "-", OnExit: o.OnExit,
	})
	return mem, err
}

// configure writes the member's settings where the Deployments read them,
// as an admin installing the member would: its name, its DNS settings and
// credentials, and each component's kubeconfig of its own identity at the
// hub, minted for this member.
func (f *Fleet) configure(ctx context.Context, mem *Member, mo MemberOptions) error {
	c := mem.Env.Client
	if err := patchConfigMap(ctx, c, "atrium-cluster", map[string]string{"name": mo.Name}); err != nil {
		return err
	}
	if len(mo.DNS) > 0 {
		if err := patchConfigMap(ctx, c, "atrium-dns", mo.DNS); err != nil {
			return err
		}
	}
	creds, err := MintMember(ctx, f.Hub, mo.Name)
	if err != nil {
		return err
	}
	secrets := map[string]map[string][]byte{"atrium-dns-credentials": mo.DNSCredentials}
	for _, comp := range components.All {
		if comp.Hub != nil {
			secrets[comp.Hub.Secret] = map[string][]byte{"kubeconfig": creds.Of(comp)}
		}
	}
	for name, data := range secrets {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: name}, Data: data}
		if err := c.Create(ctx, s); err != nil {
			return fmt.Errorf("Secret %s: %w", name, err)
		}
	}
	return nil
}

func patchConfigMap(ctx context.Context, c client.Client, name string, data map[string]string) error {
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: name}, cm); err != nil {
		return fmt.Errorf("ConfigMap %s (shipped by config/): %w", name, err)
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	for k, v := range data {
		cm.Data[k] = v
	}
	return c.Update(ctx, cm)
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

// Deployment is a running component of the member.
func (m *Member) Deployment(name string) *shipped.Deployment {
	return m.Components.Deployments[name]
}

// Logs are the logs of every replica the member's Deployment ran, the
// replaced ones included.
func (m *Member) Logs(deployment string) []string {
	pattern := regexp.MustCompile("^" + regexp.QuoteMeta(m.Name+"-"+deployment+"-") + "[0-9]+\\.log$")
	entries, _ := os.ReadDir(m.logDir)
	var out []string
	for _, e := range entries {
		if pattern.MatchString(e.Name()) {
			out = append(out, filepath.Join(m.logDir, e.Name()))
		}
	}
	return out
}

// WaitReady waits until every component of the member is ready again
// (after a replica was replaced, say).
func (m *Member) WaitReady(ctx context.Context) error {
	for name, d := range m.Components.Deployments {
		if err := d.WaitReady(ctx, 2*time.Minute); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}
