package fleet

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// MemberOptions are one member's settings: what an admin writes into
// atrium-system when installing it, and the objects it starts with.
type MemberOptions struct {
	// Name is the cluster's name in the fleet (ConfigMap atrium-cluster).
	Name string
	// ConfigMaps are the member's settings by ConfigMap (atrium-dns, say):
	// each is shipped by the kustomization and gets these keys; the keys
	// not given keep their shipped values.
	ConfigMaps map[string]map[string]string
	// Secrets are the member's credentials by Secret (atrium-dns-credentials,
	// say), which no kustomization ships: each is created with this data,
	// empty when nil.
	Secrets map[string]map[string][]byte
	// Objects are files or folders created on the member as its admin once
	// it is up (the example tiers, say), relative to the repository root.
	Objects []string
}

// Member is one running member cluster.
type Member struct {
	Name       string
	Env        *testenv.Env
	Manifests  *shipped.Manifests
	Components *shipped.Components
	logDir     string
}

// startMember starts a member's control plane, installs the member as an
// admin would, with its identities at the hub and its settings, and runs
// its Deployments; its objects come last, as an admin's first objects on
// a cluster that is up.
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
	if err != nil {
		return mem, err
	}
	return mem, env.CreateFromFiles(ctx, mo.Objects...)
}

// configure writes the member's settings where the Deployments read them,
// as an admin installing the member would: its name, the ConfigMaps and
// Secrets it is given, and each component's kubeconfig of its own
// identity at the hub, minted for this member.
func (f *Fleet) configure(ctx context.Context, mem *Member, mo MemberOptions) error {
	c := mem.Env.Client
	if err := patchConfigMap(ctx, c, "atrium-cluster", map[string]string{"name": mo.Name}); err != nil {
		return err
	}
	for name, data := range mo.ConfigMaps {
		if err := patchConfigMap(ctx, c, name, data); err != nil {
			return err
		}
	}
	creds, err := MintMember(ctx, f.Hub, mo.Name)
	if err != nil {
		return err
	}
	secrets := map[string]map[string][]byte{}
	maps.Copy(secrets, mo.Secrets)
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

// Deployment is a running component of the member (Shipped).
func (m *Member) Deployment(c components.Component) *shipped.Deployment {
	return m.Components.Deployments[c.Deployment]
}

// Logs are the logs of every replica the component's Deployment ran, the
// replaced ones included (Shipped).
func (m *Member) Logs(c components.Component) []string {
	pattern := regexp.MustCompile("^" + regexp.QuoteMeta(m.Name+"-"+c.Deployment+"-") + "[0-9]+\\.log$")
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
// (after a replica was replaced, say; Shipped).
func (m *Member) WaitReady(ctx context.Context) error {
	for name, d := range m.Components.Deployments {
		if err := d.WaitReady(ctx, 2*time.Minute); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}
