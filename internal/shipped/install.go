package shipped

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// notApplied are the kinds Install leaves to others: Deployments run as
// processes and APIServices are registered once their Services have
// endpoints (Start), webhook configurations are installed by testenv
// pointing at loopback Services, CRDs by testenv before anything else, and
// cert-manager's kinds are played by IssueCertificates.
var notApplied = map[string]bool{
	"Deployment": true, "APIService": true,
	"MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true,
	"CustomResourceDefinition": true,
	"Certificate":              true, "Issuer": true, "ClusterIssuer": true,
}

// Install creates the manifests' objects on the cluster as an admin's
// `kubectl apply -k` would (namespaces, ServiceAccounts, RBAC, admission
// policies, ConfigMaps), leaving objects that exist alone, and waits until
// the roles they aggregate into admin, edit and view and the admission
// policies are in effect.
func Install(ctx context.Context, env *testenv.Env, m *Manifests) error {
	apiServices := m.Of("APIService")
	return create(ctx, env, m, func(u *unstructured.Unstructured) bool {
		if u.GetKind() == "Service" && namedByAPIService(apiServices, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: u.GetName()}}) {
			return false // Start makes it, standing for its loopback port
		}
		return !notApplied[u.GetKind()]
	})
}

// rbacKinds are what InstallRBAC takes: the identities and permissions of
// the components (with the admission policies that narrow them) and the
// roles users get, not the components themselves.
var rbacKinds = map[string]bool{
	"Namespace": true, "ServiceAccount": true,
	"ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
}

// InstallRBAC installs the manifests' namespaces, ServiceAccounts, RBAC and
// admission policies alone, for a cluster where the components run in the
// test's process with exactly the permissions they ship with.
func InstallRBAC(ctx context.Context, env *testenv.Env, m *Manifests) error {
	return create(ctx, env, m, func(u *unstructured.Unstructured) bool { return rbacKinds[u.GetKind()] })
}

// create creates the manifests' objects that pick selects, in build order,
// leaving objects that exist alone, then waits until the roles they
// aggregate into admin, edit and view and the admission policies are in
// effect.
func create(ctx context.Context, env *testenv.Env, m *Manifests, pick func(*unstructured.Unstructured) bool) error {
	policies := false
	for _, u := range m.objects {
		if !pick(u) {
			continue
		}
		if err := env.Client.Create(ctx, u.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("%s: creating %s %s: %w", m.Path, u.GetKind(), u.GetName(), err)
		}
		policies = policies || u.GetKind() == "ValidatingAdmissionPolicy" || u.GetKind() == "ValidatingAdmissionPolicyBinding"
	}
	if policies {
		if err := env.WaitForAdmissionPolicies(ctx); err != nil {
			return fmt.Errorf("%s: %w", m.Path, err)
		}
	}
	return env.WaitForAggregation(ctx)
}

// IssueCertificates does cert-manager's part: each shipped Certificate's
// Secret is created. A webhook's holds the serving certificate that
// testenv's webhook configurations trust (one for 127.0.0.1, since the
// Services here are loopback ports); any other's, such as an aggregated
// API server's, is issued by the control plane's CA for the Certificate's
// DNS names, which the API server checks it against.
func IssueCertificates(ctx context.Context, env *testenv.Env, m *Manifests) error {
	_, _, certDir := env.WebhookServing()
	webhookCrt, err := os.ReadFile(filepath.Join(certDir, "tls.crt"))
	if err != nil {
		return err
	}
	webhookKey, err := os.ReadFile(filepath.Join(certDir, "tls.key"))
	if err != nil {
		return err
	}
	forWebhooks := map[string]bool{}
	for _, w := range m.Of("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration") {
		forWebhooks[w.GetAnnotations()[injectCAFrom]] = true
	}
	for _, u := range m.Of("Certificate") {
		name, _, _ := unstructured.NestedString(u.Object, "spec", "secretName")
		crt, key := webhookCrt, webhookKey
		if !forWebhooks[u.GetNamespace()+"/"+u.GetName()] {
			dnsNames, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "dnsNames")
			if crt, key, err = env.CA.Serving(dnsNames...); err != nil {
				return err
			}
		}
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: name},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key},
		}
		if err := env.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("Certificate %s: %w", u.GetName(), err)
		}
	}
	return nil
}

// injectCAFrom is cert-manager's annotation naming the Certificate whose CA
// goes into a webhook configuration's or APIService's caBundle.
const injectCAFrom = "cert-manager.io/inject-ca-from"

// Components are a cluster's shipped Deployments running as processes,
// with the Services the cluster's webhook configurations call.
type Components struct {
	Deployments map[string]*Deployment
	Services    map[string]*Service
	order       []string
}

// Start runs every Deployment of the manifests on the cluster, exposes
// the Services that its webhook configurations call, and waits until
// every replica is ready. Secrets and ConfigMaps the pods mount or read
// must exist by then, as in a cluster.
func Start(ctx context.Context, env *testenv.Env, m *Manifests, o RunOptions) (_ *Components, err error) {
	c := &Components{Deployments: map[string]*Deployment{}, Services: map[string]*Service{}}
	if o.Cluster == nil {
		o.Cluster = ClusterOf(env)
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	deps, err := m.Deployments()
	if err != nil {
		return nil, err
	}
	for _, dep := range deps {
		d, err := Run(ctx, dep, o)
		if err != nil {
			return nil, fmt.Errorf("Deployment %s: %w", dep.Name, err)
		}
		c.Deployments[dep.Name] = d
		c.order = append(c.order, dep.Name)
	}
	apiServices := m.Of("APIService")
	for _, u := range m.Of("Service") {
		svc := &corev1.Service{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, svc); err != nil {
			return nil, err
		}
		port := env.ServicePort(svc.Namespace, svc.Name)
		if port == 0 && namedByAPIService(apiServices, svc) {
			if port, err = testenv.FreePort(); err != nil {
				return nil, err
			}
		}
		if port == 0 {
			continue // nothing here calls it
		}
		d := selected(c, svc)
		if d == nil {
			return nil, fmt.Errorf("Service %s selects no shipped Deployment", svc.Name)
		}
		s, err := Expose(svc, d, port)
		if err != nil {
			return nil, err
		}
		c.Services[svc.Name] = s
	}
	for _, name := range c.order {
		if err := c.Deployments[name].WaitReady(ctx, 2*time.Minute); err != nil {
			return nil, fmt.Errorf("Deployment %s: %w", name, err)
		}
	}
	for _, u := range apiServices {
		if err := registerAPIService(ctx, env, c, u); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func namedByAPIService(apiServices []*unstructured.Unstructured, svc *corev1.Service) bool {
	for _, a := range apiServices {
		name, _, _ := unstructured.NestedString(a.Object, "spec", "service", "name")
		ns, _, _ := unstructured.NestedString(a.Object, "spec", "service", "namespace")
		if name == svc.Name && ns == svc.Namespace {
			return true
		}
	}
	return false
}

// registerAPIService points the APIService's Service at the loopback
// Service standing for it, injects the control plane's CA as cert-manager's
// CA injector would, registers the APIService and waits until the
// aggregation layer finds it available.
func registerAPIService(ctx context.Context, env *testenv.Env, c *Components, u *unstructured.Unstructured) error {
	api := u.DeepCopy()
	svcName, _, _ := unstructured.NestedString(api.Object, "spec", "service", "name")
	svcNamespace, _, _ := unstructured.NestedString(api.Object, "spec", "service", "namespace")
	local := c.Services[svcName]
	if local == nil {
		return fmt.Errorf("APIService %s: Service %s is not shipped", api.GetName(), svcName)
	}
	_, portStr, err := net.SplitHostPort(local.Addr())
	if err != nil {
		return err
	}
	port, _ := strconv.Atoi(portStr)
	// There is no Service network here: the Service stands for the
	// loopback one by name (the API server connects to an ExternalName
	// Service's name at the APIService's port; the TLS name it checks is
	// still <service>.<namespace>.svc).
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: svcNamespace, Name: svcName},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if err := env.Client.Create(ctx, svc); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("APIService %s: Service: %w", api.GetName(), err)
	}
	if err := unstructured.SetNestedField(api.Object, int64(port), "spec", "service", "port"); err != nil {
		return err
	}
	if err := unstructured.SetNestedField(api.Object, base64.StdEncoding.EncodeToString(env.CA.PEM), "spec", "caBundle"); err != nil {
		return err
	}
	if err := env.Client.Create(ctx, api); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("APIService %s: %w", api.GetName(), err)
	}
	return testenv.Eventually(ctx, time.Minute, func() error {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(api.GroupVersionKind())
		if err := env.Client.Get(ctx, client.ObjectKey{Name: api.GetName()}, got); err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Available" && m["status"] == "True" {
				return nil
			}
		}
		return fmt.Errorf("APIService %s not available: %v", api.GetName(), conds)
	})
}

// selected is the Deployment whose pods the Service selects.
func selected(c *Components, svc *corev1.Service) *Deployment {
	for _, d := range c.Deployments {
		l := d.Spec.Spec.Template.Labels
		match := len(svc.Spec.Selector) > 0
		for k, v := range svc.Spec.Selector {
			match = match && l[k] == v
		}
		if match {
			return d
		}
	}
	return nil
}

// Roll replaces the replicas of every Deployment, one Deployment after
// the other in the manifests' order, by replicas running the binaries of
// binDir (Deployment.Roll): an upgrade (or a rollback) of the cluster's
// components, as `kubectl apply` of new images rolls them out.
func (c *Components) Roll(ctx context.Context, binDir string, timeout time.Duration) error {
	for _, name := range c.order {
		if err := c.Deployments[name].Roll(ctx, binDir, timeout); err != nil {
			return err
		}
	}
	return nil
}

// Order are the Deployments' names in the manifests' order.
func (c *Components) Order() []string { return append([]string(nil), c.order...) }

// Stop stops the Services, then every replica.
func (c *Components) Stop() {
	for _, s := range c.Services {
		s.Close()
	}
	for i := len(c.order) - 1; i >= 0; i-- {
		c.Deployments[c.order[i]].Stop()
	}
}

// Processes are every replica's process.
func (c *Components) Processes() []*procs.Process {
	var out []*procs.Process
	for _, name := range c.order {
		for _, p := range c.Deployments[name].Pods() {
			out = append(out, p.Process())
		}
	}
	return out
}

// ClusterOf is the Cluster a test control plane stands for: pods read it
// as cluster admin, as the kubelet reads its pods' ConfigMaps and Secrets.
func ClusterOf(env *testenv.Env) Cluster { return envCluster{Reader: env.Client, env: env} }

type envCluster struct {
	client.Reader
	env *testenv.Env
}

func (c envCluster) ServiceAccountKubeConfig(namespace, name string) ([]byte, error) {
	return c.env.ServiceAccountKubeConfig(namespace, name)
}
