package testenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"

	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/procs"
)

// StandInCRDs are minimal stand-ins for the APIs Atrium reads but does not
// own (OpenShift Route, Gateway API HTTPRoute and Gateway, external-dns
// DNSEndpoint), for tests and `make run`: components read these objects as
// unstructured, so only names and kinds matter. Pass it in ExtraCRDs.
const StandInCRDs = "internal/testenv/testdata/crds"

// Options says what to install besides Atrium's own CRDs: those every
// member serves (config/crd/bases) and the hub's (config/crd/fleet), so
// that any test control plane can play a member, the hub or both.
type Options struct {
	// Webhooks are component folders (such as "webhooks/projects") whose
	// config/webhook/manifests.yaml is installed, pointed at the test's
	// local webhook server.
	Webhooks []string
	// ExtraCRDs are more CRD files or folders, relative to the repo root.
	ExtraCRDs []string
	// CRDs are more CRDs, as objects (those a kustomization ships).
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// ServiceWebhooks are webhook configurations as config/ ships them,
	// pointing at Services (shipped.Manifests.WebhookConfigurations). Each
	// Service they name gets a loopback port of its own (ServicePort),
	// where the configurations are pointed instead, with the test's
	// serving certificate as their CA bundle.
	ServiceWebhooks []client.Object
	// NoControllerManager leaves kube-controller-manager out, for a
	// control plane that only stores objects (a hub in a benchmark).
	NoControllerManager bool
	// ControllerManagerArgs are more flags for kube-controller-manager,
	// such as a benchmark's --kube-api-qps.
	ControllerManagerArgs []string
}

// Env is a running test control plane.
type Env struct {
	env    *envtest.Environment
	Config *rest.Config
	// Client acts as a cluster admin (system:masters).
	Client client.Client
	Scheme *runtime.Scheme
	// Root is the repository root.
	Root string

	// ports are the local serving ports of each component's webhooks.
	ports map[string]int
	// CA signs the front proxy's client certificate and the serving
	// certificates of aggregated API servers (IssueCertificates).
	CA *CA
	// aggDir holds the aggregation layer's certificates.
	aggDir string
	// kcm is kube-controller-manager, with its files in kcmDir.
	kcm    *procs.Process
	kcmDir string
}

// Start starts etcd and kube-apiserver and installs what opts names.
func Start(opts Options) (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin")
	}
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			return nil, fmt.Errorf("%s not found in %s: run `make tools` first", b, assets)
		}
	}
	scheme := manager.Scheme()
	crds := []string{filepath.Join(root, "config", "crd", "bases"), filepath.Join(root, "config", "crd", "fleet")}
	for _, c := range opts.ExtraCRDs {
		crds = append(crds, filepath.Join(root, c))
	}
	mutating, validating, ports, err := loadWebhooks(root, opts.Webhooks)
	if err != nil {
		return nil, err
	}
	svcMutating, svcValidating, err := serviceWebhooks(opts.ServiceWebhooks, ports)
	if err != nil {
		return nil, err
	}
	mutating, validating = append(mutating, svcMutating...), append(validating, svcValidating...)
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		CRDDirectoryPaths:        crds,
		CRDs:                     opts.CRDs,
		ErrorIfCRDPathMissing:    true,
		Scheme:                   scheme,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			LocalServingHost:   "127.0.0.1",
			MutatingWebhooks:   mutating,
			ValidatingWebhooks: validating,
		},
	}
	ca, aggDir, err := configureAggregation(env)
	if err != nil {
		return nil, err
	}
	cfg, err := env.Start()
	if err != nil {
		_ = os.RemoveAll(aggDir)
		return nil, fmt.Errorf("starting test control plane: %w", err)
	}
	// Many controllers and users share one API server in a test.
	cfg.QPS, cfg.Burst = 500, 1000
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	e := &Env{env: env, Config: cfg, Client: c, Scheme: scheme, Root: root, ports: ports, CA: ca, aggDir: aggDir}
	if len(opts.Webhooks) > 0 {
		e.ports[opts.Webhooks[0]] = env.WebhookInstallOptions.LocalServingPort
	}
	if !opts.NoControllerManager {
		if err := e.startControllerManager(context.Background(), assets, opts.ControllerManagerArgs); err != nil {
			_ = e.Stop()
			return nil, err
		}
	}
	return e, nil
}

// Stop stops the control plane, kube-controller-manager first.
func (e *Env) Stop() error {
	e.stopControllerManager()
	err := e.env.Stop()
	_ = os.RemoveAll(e.aggDir)
	return err
}

// configureAggregation sets the API server up for aggregated API servers
// as a cluster is: a front proxy client certificate it presents to them
// with the caller's identity in X-Remote-* headers, the CA they check it
// with (published in kube-system/extension-apiserver-authentication).
func configureAggregation(env *envtest.Environment) (*CA, string, error) {
	ca, err := NewCA("atrium-test-ca")
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "atrium-aggregation-")
	if err != nil {
		return nil, "", err
	}
	crt, key, err := ca.Client("front-proxy-client")
	if err != nil {
		return nil, "", err
	}
	files := map[string][]byte{"front-proxy-ca.crt": ca.PEM, "front-proxy-client.crt": crt, "front-proxy-client.key": key}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, "", err
		}
	}
	args := env.ControlPlane.GetAPIServer().Configure()
	args.Set("requestheader-client-ca-file", filepath.Join(dir, "front-proxy-ca.crt"))
	args.Set("requestheader-allowed-names", "front-proxy-client")
	args.Set("requestheader-username-headers", "X-Remote-User")
	args.Set("requestheader-group-headers", "X-Remote-Group")
	args.Set("requestheader-extra-headers-prefix", "X-Remote-Extra-")
	args.Set("proxy-client-cert-file", filepath.Join(dir, "front-proxy-client.crt"))
	args.Set("proxy-client-key-file", filepath.Join(dir, "front-proxy-client.key"))
	return ca, dir, nil
}

// WebhookServer is a webhook server listening where the installed webhook
// configurations point, with the serving certificate they trust.
func (e *Env) WebhookServer() webhook.Server {
	o := e.env.WebhookInstallOptions
	return webhook.NewServer(webhook.Options{Host: o.LocalServingHost, Port: o.LocalServingPort, CertDir: o.LocalServingCertDir})
}

// WebhookServing says where the installed webhook configurations send
// requests (host and port) and the directory holding the serving certificate
// and key they trust, for running a webhook binary out of process. The
// first component of Options.Webhooks is served there.
func (e *Env) WebhookServing() (host string, port int, certDir string) {
	o := e.env.WebhookInstallOptions
	return o.LocalServingHost, o.LocalServingPort, o.LocalServingCertDir
}

// WebhookPort is the port the webhooks of one component (as named in
// Options.Webhooks) are sent to; each component has its own, with the
// certificate of WebhookServing.
func (e *Env) WebhookPort(component string) int { return e.ports[component] }

// ServicePort is the loopback port standing for a Service that a shipped
// webhook configuration (Options.ServiceWebhooks) sends requests to.
func (e *Env) ServicePort(namespace, name string) int { return e.ports["service:"+namespace+"/"+name] }

// ComponentWebhookServer is a webhook server for one component's webhooks.
func (e *Env) ComponentWebhookServer(component string) webhook.Server {
	o := e.env.WebhookInstallOptions
	return webhook.NewServer(webhook.Options{Host: o.LocalServingHost, Port: e.ports[component], CertDir: o.LocalServingCertDir})
}

// EtcdURL is the address of the control plane's etcd, for tests that
// must see what is stored (the apiVersion an object is stored in shows
// nowhere else).
func (e *Env) EtcdURL() string { return e.env.ControlPlane.Etcd.URL.String() }

// KubeConfig is a kubeconfig file's content for the admin user.
func (e *Env) KubeConfig() []byte { return e.env.KubeConfig }

// UserConfig is a rest.Config that impersonates a user who belongs to
// system:authenticated and the given groups, as a real login would.
func (e *Env) UserConfig(user string, groups ...string) *rest.Config {
	cfg := rest.CopyConfig(e.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append([]string{"system:authenticated"}, groups...)}
	return cfg
}

// ClientAs is a client acting as the given user.
func (e *Env) ClientAs(user string, groups ...string) (client.Client, error) {
	return client.New(e.UserConfig(user, groups...), client.Options{Scheme: e.Scheme})
}

// RepoRoot finds the repository root from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/atrium-dev/atrium\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (go.mod of github.com/atrium-dev/atrium) not found above the working directory")
		}
		dir = parent
	}
}

// loadWebhooks reads the generated webhook configurations of the given
// components. controller-gen names every configuration alike, so each is
// renamed after its component to let several be installed side by side.
// The first component's webhooks are served where envtest chooses; every
// other component gets a port of its own, so each can run as its own
// process, as in a cluster.
func loadWebhooks(root string, components []string) ([]*admissionregistrationv1.MutatingWebhookConfiguration, []*admissionregistrationv1.ValidatingWebhookConfiguration, map[string]int, error) {
	var mutating []*admissionregistrationv1.MutatingWebhookConfiguration
	var validating []*admissionregistrationv1.ValidatingWebhookConfiguration
	ports := map[string]int{}
	for i, comp := range components {
		docs, err := ReadYAMLDocuments(filepath.Join(root, comp, "config", "webhook", "manifests.yaml"))
		if err != nil {
			return nil, nil, nil, err
		}
		port := 0
		if i > 0 {
			if port, err = FreePort(); err != nil {
				return nil, nil, nil, err
			}
			ports[comp] = port
		}
		direct := func(cc *admissionregistrationv1.WebhookClientConfig) {
			if port == 0 || cc.Service == nil || cc.Service.Path == nil {
				return
			}
			url := fmt.Sprintf("https://127.0.0.1:%d%s", port, *cc.Service.Path)
			cc.URL, cc.Service = &url, nil
		}
		prefix := "atrium-" + strings.ReplaceAll(comp, "/", "-")
		for _, doc := range docs {
			var meta struct{ Kind string }
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				return nil, nil, nil, err
			}
			switch meta.Kind {
			case "MutatingWebhookConfiguration":
				m := &admissionregistrationv1.MutatingWebhookConfiguration{}
				if err := yaml.Unmarshal(doc, m); err != nil {
					return nil, nil, nil, err
				}
				m.Name = prefix + "-mutating"
				for j := range m.Webhooks {
					direct(&m.Webhooks[j].ClientConfig)
				}
				mutating = append(mutating, m)
			case "ValidatingWebhookConfiguration":
				v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
				if err := yaml.Unmarshal(doc, v); err != nil {
					return nil, nil, nil, err
				}
				v.Name = prefix + "-validating"
				for j := range v.Webhooks {
					direct(&v.Webhooks[j].ClientConfig)
				}
				validating = append(validating, v)
			}
		}
	}
	return mutating, validating, ports, nil
}

// serviceWebhooks points shipped webhook configurations at a loopback port
// per Service, recorded in ports.
func serviceWebhooks(objs []client.Object, ports map[string]int) ([]*admissionregistrationv1.MutatingWebhookConfiguration, []*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	var mutating []*admissionregistrationv1.MutatingWebhookConfiguration
	var validating []*admissionregistrationv1.ValidatingWebhookConfiguration
	var err error
	direct := func(cc *admissionregistrationv1.WebhookClientConfig) {
		if cc.Service == nil || err != nil {
			return
		}
		key := "service:" + cc.Service.Namespace + "/" + cc.Service.Name
		if ports[key] == 0 {
			if ports[key], err = FreePort(); err != nil {
				return
			}
		}
		path := ""
		if cc.Service.Path != nil {
			path = *cc.Service.Path
		}
		url := fmt.Sprintf("https://127.0.0.1:%d%s", ports[key], path)
		cc.URL, cc.Service = &url, nil
	}
	for _, o := range objs {
		switch w := o.DeepCopyObject().(type) {
		case *admissionregistrationv1.MutatingWebhookConfiguration:
			for i := range w.Webhooks {
				direct(&w.Webhooks[i].ClientConfig)
			}
			mutating = append(mutating, w)
		case *admissionregistrationv1.ValidatingWebhookConfiguration:
			for i := range w.Webhooks {
				direct(&w.Webhooks[i].ClientConfig)
			}
			validating = append(validating, w)
		default:
			return nil, nil, fmt.Errorf("%T is not a webhook configuration", o)
		}
	}
	return mutating, validating, err
}

// ReadYAMLDocuments splits a multi-document YAML file.
func ReadYAMLDocuments(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var out [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(bytes.TrimSpace(doc)) > 0 && string(bytes.TrimSpace(doc)) != "---" {
			out = append(out, doc)
		}
	}
}

// StoredAPIVersions reads etcd itself and returns, for every key under
// /registry/<group>/<resource>/, the apiVersion its object is stored in
// (keyed by the rest of the key: <namespace>/<name> or <name>). The API
// returns an object in any version it serves; what etcd holds shows only
// here. Custom resources are stored as JSON.
func (e *Env) StoredAPIVersions(ctx context.Context, group, resource string) (map[string]string, error) {
	ec, err := clientv3.New(clientv3.Config{Endpoints: []string{e.EtcdURL()}, DialTimeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	defer ec.Close()
	prefix := "/registry/" + group + "/" + resource + "/"
	resp, err := ec.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, kv := range resp.Kvs {
		var head struct {
			APIVersion string `json:"apiVersion"`
		}
		if err := json.Unmarshal(kv.Value, &head); err != nil {
			return nil, fmt.Errorf("%s: %w", kv.Key, err)
		}
		out[strings.TrimPrefix(string(kv.Key), prefix)] = head.APIVersion
	}
	return out, nil
}

// Main is the TestMain of a package whose tests share a control plane
// that run brings up (and takes down before it returns m.Run()'s code):
// with -short, the tests run without one (each skips what needs it);
// otherwise logging is set up and run's code is the exit code. The
// report, fleet and DNS operator tests bring theirs up this way.
func Main(m *testing.M, run func() int) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	SetupLogging()
	os.Exit(run())
}

// MainWithEnv is Main for a package whose tests share one plain control
// plane started with opts: *env is set before the tests run and stopped
// after them; with -short it stays nil.
func MainWithEnv(m *testing.M, env **Env, opts Options) {
	Main(m, func() int {
		e, err := Start(opts)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer e.Stop()
		*env = e
		return m.Run()
	})
}
