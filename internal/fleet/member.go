package fleet

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
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
	// not given keep their shipped values (Shipped).
	ConfigMaps map[string]map[string]string
	// Secrets are the member's credentials by Secret (atrium-dns-credentials,
	// say), which no kustomization ships: each is created with this data,
	// empty when nil (Shipped).
	Secrets map[string]map[string][]byte
	// Objects are files or folders created on the member as its admin once
	// it is up (the example tiers, say), relative to the repository root.
	Objects []string
}

// Member is one running member cluster.
type Member struct {
	Name string
	Env  *testenv.Env
	// HubCredentials are the kubeconfigs of the member's identities at
	// the hub (none in Bare mode), through HubProxy when there is one.
	HubCredentials HubCredentials
	// HubProxy stands between the member and the hub (Options.HubProxy).
	HubProxy *testenv.FaultProxy
	// Manifests and Components are what the member installed and runs
	// (Shipped).
	Manifests  *shipped.Manifests
	Components *shipped.Components
	logDir     string
}

// startMember starts a member's control plane and installs what the mode
// says; its objects come last, as an admin's first objects on a cluster
// that is up.
func (f *Fleet) startMember(ctx context.Context, m *shipped.Manifests, mo MemberOptions, o Options) (*Member, error) {
	if o.Mode != Shipped && (len(mo.ConfigMaps) > 0 || len(mo.Secrets) > 0) {
		return nil, fmt.Errorf("settings in ConfigMaps and Secrets are for Deployments, which run in mode Shipped only")
	}
	eo, err := memberEnvOptions(m, o)
	if err != nil {
		return nil, err
	}
	env := f.Hub
	if !o.HubIsMember || len(f.Members) > 0 {
		if env, err = testenv.Start(eo); err != nil {
			return nil, err
		}
	}
	mem := &Member{Name: mo.Name, Env: env, Manifests: m, logDir: f.LogDir}
	switch o.Mode {
	case Shipped:
		err = f.install(ctx, mem, mo, o)
	case InProcess:
		if err = f.join(ctx, mem, o); err == nil {
			err = shipped.InstallRBAC(ctx, env, m)
		}
	}
	if err != nil {
		return mem, err
	}
	return mem, env.CreateFromFiles(ctx, mo.Objects...)
}

// install installs the member as an admin would, with its identities at
// the hub and its settings, and runs its Deployments.
func (f *Fleet) install(ctx context.Context, mem *Member, mo MemberOptions, o Options) error {
	if err := shipped.Install(ctx, mem.Env, mem.Manifests); err != nil {
		return err
	}
	if err := shipped.IssueCertificates(ctx, mem.Env, mem.Manifests); err != nil {
		return err
	}
	if err := f.join(ctx, mem, o); err != nil {
		return err
	}
	if err := mem.configure(ctx, mo); err != nil {
		return err
	}
	var err error
	mem.Components, err = shipped.Start(ctx, mem.Env, mem.Manifests, shipped.RunOptions{
		BinDir: f.BinDir, Dir: filepath.Join(o.Dir, "pods"), LogDir: f.LogDir,
		Prefix: mo.Name + "-", OnExit: o.OnExit,
	})
	return err
}

// memberEnvOptions are a member's control plane: the kustomization's CRDs
// and webhook configurations pointing at its Services (Shipped), or the
// webhooks of the caller's components pointing at the caller.
func memberEnvOptions(m *shipped.Manifests, o Options) (testenv.Options, error) {
	eo := testenv.Options{ExtraCRDs: o.ExtraCRDs, NoControllerManager: o.NoControllerManager, ControllerManagerArgs: o.ControllerManagerArgs}
	if o.Mode != Shipped {
		for _, c := range o.Components {
			if c.Webhook {
				eo.Webhooks = append(eo.Webhooks, c.Folder)
			}
		}
	}
	if o.Mode == Bare {
		return eo, nil
	}
	var err error
	if eo.CRDs, err = m.CRDs(); err != nil {
		return eo, err
	}
	if o.Mode == Shipped {
		eo.ServiceWebhooks, err = m.WebhookConfigurations()
	}
	return eo, err
}

// join mints the member's identities at the hub, as an admin adding a
// member to the fleet does, behind the member's proxy to the hub when
// there is one.
func (f *Fleet) join(ctx context.Context, mem *Member, o Options) error {
	creds, err := MintMember(ctx, f.Hub, mem.Name)
	if err != nil {
		return err
	}
	if o.HubProxy {
		u, err := url.Parse(f.Hub.Config.Host)
		if err != nil {
			return err
		}
		if mem.HubProxy, err = testenv.NewFaultProxy(u.Host); err != nil {
			return err
		}
		for name, kubeconfig := range creds {
			if creds[name], err = viaProxy(kubeconfig, mem.HubProxy); err != nil {
				return err
			}
		}
	}
	mem.HubCredentials = creds
	return nil
}

// viaProxy points a kubeconfig at the proxy instead of the server behind it.
func viaProxy(kubeconfig []byte, proxy *testenv.FaultProxy) ([]byte, error) {
	kc, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, err
	}
	for _, c := range kc.Clusters {
		c.Server = "https://" + proxy.Addr()
	}
	return clientcmd.Write(*kc)
}

// configure writes the member's settings where the Deployments read them,
// as an admin installing the member would: its name, the ConfigMaps and
// Secrets it is given, and each component's kubeconfig of its own
// identity at the hub.
func (m *Member) configure(ctx context.Context, mo MemberOptions) error {
	c := m.Env.Client
	if err := patchConfigMap(ctx, c, "atrium-cluster", map[string]string{"name": mo.Name}); err != nil {
		return err
	}
	for name, data := range mo.ConfigMaps {
		if err := patchConfigMap(ctx, c, name, data); err != nil {
			return err
		}
	}
	secrets := map[string]map[string][]byte{}
	maps.Copy(secrets, mo.Secrets)
	for _, comp := range components.All {
		if comp.Hub != nil {
			secrets[comp.Hub.Secret] = map[string][]byte{"kubeconfig": m.HubCredentials.Of(comp)}
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
