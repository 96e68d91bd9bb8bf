package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// skippedDirs are the folders the walk for kustomizations does not enter,
// each for a reason: none of them is Atrium's.
var skippedDirs = map[string]string{
	".git":      "git's own",
	".devfleet": "make run's state (kubeconfigs, logs)",
	"bin":       "built tools (a symlink in worktrees, which the walk does not follow anyway)",
}

// componentBase is what a kustomize Component is built on to test it
// alone (a Component cannot be built by itself): the member overlay, but
// for a Component the overlay already includes.
var componentBase = map[string]string{
	"config/components/gatekeeper-crd": "config/default",
	"config/components/cluster-values": "config/default",
}

// kustomizations are the folders of every kustomization.yaml of the
// repository, relative to its root, with whether each is a Component.
func kustomizations(t *testing.T) map[string]bool {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if _, skip := skippedDirs[rel]; skip {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "kustomization.yaml" && d.Name() != "kustomization.yml" && d.Name() != "Kustomization" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var k struct{ Kind string }
		if err := yaml.Unmarshal(b, &k); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		out[filepath.ToSlash(filepath.Dir(rel))] = k.Kind == "Component"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryKustomizationBuilds builds every kustomization of the
// repository as `kubectl apply -k` would, and every Component on the base
// it is meant for: a broken manifest anywhere fails here.
func TestEveryKustomizationBuilds(t *testing.T) {
	all := kustomizations(t)
	if len(all) < 20 {
		t.Fatalf("found only %d kustomizations: is the walk wrong?", len(all))
	}
	for dir, component := range all {
		t.Run(dir, func(t *testing.T) {
			if component {
				base := componentBase[dir]
				if base == "" {
					base = "config/overlays/member"
				}
				buildVariant(t, base, dir)
				return
			}
			root, _ := testenv.RepoRoot()
			if _, err := shipped.Build(root, dir); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// variant is one way a cluster installs Atrium: a kustomization with
// Components added on top.
type variant struct {
	base       string
	components []string
}

func (v variant) String() string {
	if len(v.components) == 0 {
		return v.base
	}
	return v.base + "+" + strings.Join(v.components, "+")
}

// variants are the installs the checks below hold for: each overlay, the
// example fleet, and the optional Components on the member overlay in the
// order docs/install.md gives.
var variants = []variant{
	{base: "config/overlays/member"},
	{base: "config/overlays/hub"},
	{base: "config/overlays/hub-and-member"},
	{base: "docs/examples/fleet/hub"},
	{base: "docs/examples/fleet/member-1"},
	{base: "docs/examples/fleet/member-2"},
	{base: "config/overlays/member", components: []string{"config/components/monitoring", "config/components/cluster-values"}},
	{base: "config/overlays/member", components: []string{"config/components/monitoring", "config/components/openshift-service-ca", "config/components/cluster-values"}},
	{base: "config/overlays/hub-and-member", components: []string{"config/components/with-gatekeeper", "config/components/openshift-service-ca"}},
}

// buildVariant builds base with the Components added, through a
// kustomization of its own as an admin's cluster folder would.
func buildVariant(t *testing.T, base string, components ...string) *shipped.Manifests {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if len(components) == 0 {
		m, err := shipped.Build(root, base)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	dir := t.TempDir()
	rel := func(p string) string {
		r, err := filepath.Rel(dir, filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	k := "resources:\n- " + rel(base) + "\ncomponents:\n"
	for _, c := range components {
		k += "- " + rel(c) + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := shipped.Build(dir, ".")
	if err != nil {
		t.Fatal(err)
	}
	m.Path = variant{base, components}.String()
	return m
}

// objects indexes a build by "Kind/namespace/name".
type objects map[string]*unstructured.Unstructured

func indexed(m *shipped.Manifests, kinds ...string) objects {
	out := objects{}
	for _, u := range m.Of(kinds...) {
		out[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = u
	}
	return out
}

func typed[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return out
}

// allKinds are the kinds the checks read.
var allKinds = []string{
	"Namespace", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor",
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "APIService",
	"Certificate", "Issuer", "ClusterIssuer", "ConfigMap", "CustomResourceDefinition",
}

// TestWhatACarefulAdminExpects holds for every variant: every Pod passes
// Pod Security "restricted" in a namespace that enforces it, has probes
// and a metrics Service; everything the API server calls (webhooks, the
// aggregated API) runs at least two replicas spread over nodes and zones
// with a PodDisruptionBudget, behind a NetworkPolicy that opens its port,
// with a serving certificate from cert-manager or OKD's service CA; the
// hostnames webhook stays out of the platform's namespaces.
func TestWhatACarefulAdminExpects(t *testing.T) {
	for _, v := range variants {
		t.Run(v.String(), func(t *testing.T) {
			m := buildVariant(t, v.base, v.components...)
			objs := indexed(m, allKinds...)
			deps := map[string]*appsv1.Deployment{}
			for key, u := range objs {
				if strings.HasPrefix(key, "Deployment/") {
					deps[key] = typed[appsv1.Deployment](t, u)
				}
			}
			for key, d := range deps {
				checkRestricted(t, key, d, objs)
				checkProbes(t, key, d)
				checkMemoryLimit(t, key, d)
				checkMetricsService(t, key, d, objs, slices.Contains(v.components, "config/components/monitoring") || v.base == "docs/examples/fleet/member-2")
			}
			okd := slices.Contains(v.components, "config/components/openshift-service-ca")
			for _, svc := range calledServices(t, objs) {
				d := selectedDeployment(t, svc, objs, deps)
				if d == nil {
					continue
				}
				checkServed(t, svc, d, objs)
				checkServingCertificate(t, svc, d, objs, okd)
			}
			for key, u := range objs {
				if strings.HasPrefix(key, "ValidatingWebhookConfiguration/") && u.GetName() == "atrium-hostnames" {
					checkStaysOutOfPlatform(t, typed[admissionregistrationv1.ValidatingWebhookConfiguration](t, u))
				}
				if okd && (strings.HasPrefix(key, "Certificate/") || strings.HasPrefix(key, "Issuer/")) {
					t.Errorf("%s: OKD's service CA issues the certificates; no cert-manager object is shipped", key)
				}
			}
			if memberComponents(deps) && objs["CustomResourceDefinition//constrainttemplates.templates.gatekeeper.sh"] == nil &&
				!slices.Contains(v.components, "config/components/with-gatekeeper") && v.base != "docs/examples/fleet/member-2" {
				t.Errorf("no ConstraintTemplate CRD: only config/components/with-gatekeeper leaves it out")
			}
		})
	}
}

// checkMemoryLimit checks that every container has a memory limit and
// passes it to the process (manager.MemoryLimitEnv), whose Go runtime
// then keeps its memory under it rather than being killed at it.
func checkMemoryLimit(t *testing.T, key string, d *appsv1.Deployment) {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
			t.Errorf("%s: container %s has no memory limit", key, c.Name)
		}
		i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == manager.MemoryLimitEnv })
		if i < 0 {
			t.Errorf("%s: container %s does not set %s", key, c.Name, manager.MemoryLimitEnv)
			continue
		}
		if src := c.Env[i].ValueFrom; src == nil || src.ResourceFieldRef == nil || src.ResourceFieldRef.Resource != "limits.memory" ||
			(src.ResourceFieldRef.ContainerName != "" && src.ResourceFieldRef.ContainerName != c.Name) || !src.ResourceFieldRef.Divisor.IsZero() {
			t.Errorf("%s: container %s: %s is not its own limits.memory in bytes", key, c.Name, manager.MemoryLimitEnv)
		}
	}
}

// checkRestricted checks what Pod Security "restricted" checks of a Pod
// (k8s.io/pod-security-admission's policy, level restricted, written out:
// the package is not in this module's graph), and that the namespace
// enforces it. The API server's own evaluation runs in
// TestOverlaysApplyToAnAPIServer. Read-only root filesystems are Atrium's
// rule on top.
func checkRestricted(t *testing.T, key string, d *appsv1.Deployment, objs objects) {
	t.Helper()
	ns := objs["Namespace//"+d.Namespace]
	if ns == nil {
		t.Errorf("%s: its namespace is not in the build", key)
	} else {
		for _, mode := range []string{"enforce", "audit", "warn"} {
			if got := ns.GetLabels()["pod-security.kubernetes.io/"+mode]; got != "restricted" {
				t.Errorf("%s: namespace %s: pod-security.kubernetes.io/%s=%q, want restricted", key, d.Namespace, mode, got)
			}
		}
	}
	pod := d.Spec.Template.Spec
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Errorf("%s: host namespaces", key)
	}
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	allowedVolume := func(v corev1.Volume) bool {
		s := v.VolumeSource
		return s.ConfigMap != nil || s.Secret != nil || s.EmptyDir != nil || s.Projected != nil ||
			s.DownwardAPI != nil || s.CSI != nil || s.Ephemeral != nil || s.PersistentVolumeClaim != nil
	}
	for _, v := range pod.Volumes {
		if !allowedVolume(v) {
			t.Errorf("%s: volume %s is of a type restricted forbids", key, v.Name)
		}
	}
	if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		t.Errorf("%s: runs as root", key)
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: container %s has no securityContext", key, c.Name)
			continue
		}
		who := key + " container " + c.Name
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: privileged", who)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation must be false", who)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: must drop ALL capabilities", who)
		} else if slices.ContainsFunc(sc.Capabilities.Add, func(c corev1.Capability) bool { return c != "NET_BIND_SERVICE" }) {
			t.Errorf("%s: adds capabilities %v", who, sc.Capabilities.Add)
		}
		nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (sc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
		if !nonRoot {
			t.Errorf("%s: runAsNonRoot must be true", who)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Errorf("%s: runs as root", who)
		}
		seccomp := psc.SeccompProfile
		if sc.SeccompProfile != nil {
			seccomp = sc.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
			t.Errorf("%s: seccompProfile must be RuntimeDefault or Localhost", who)
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				t.Errorf("%s: hostPort %d", who, p.HostPort)
			}
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: the root filesystem must be read-only", who)
		}
	}
}

// checkProbes: liveness and readiness probes, on ports the container
// declares or numbers.
func checkProbes(t *testing.T, key string, d *appsv1.Deployment) {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Errorf("%s container %s: liveness and readiness probes wanted", key, c.Name)
		}
	}
}

// checkMetricsService: a Service labelled app.kubernetes.io/component:
// metrics selects the Deployment's pods on a port the container has; with
// the Prometheus operator's Component, a ServiceMonitor selects it.
func checkMetricsService(t *testing.T, key string, d *appsv1.Deployment, objs objects, monitored bool) {
	t.Helper()
	for skey, u := range objs {
		if !strings.HasPrefix(skey, "Service/") || u.GetLabels()["app.kubernetes.io/component"] != "metrics" {
			continue
		}
		svc := typed[corev1.Service](t, u)
		if svc.Namespace != d.Namespace || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			continue
		}
		if len(svc.Spec.Ports) != 1 || containerPort(d, svc.Spec.Ports[0].TargetPort) == 0 {
			t.Errorf("%s: metrics %s targets no port of the container", key, skey)
		}
		if !monitored {
			return
		}
		for mkey, sm := range objs {
			if !strings.HasPrefix(mkey, "ServiceMonitor/"+svc.Namespace+"/") {
				continue
			}
			sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
			if len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(svc.Labels)) {
				return
			}
		}
		t.Errorf("%s: no ServiceMonitor selects %s", key, skey)
		return
	}
	t.Errorf("%s: no metrics Service (label app.kubernetes.io/component=metrics) selects its pods", key)
}

func containerPort(d *appsv1.Deployment, p intstr.IntOrString) int32 {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, cp := range c.Ports {
			if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
				return cp.ContainerPort
			}
		}
	}
	return 0
}

// calledService is a Service the API server calls, with who calls it.
type calledService struct {
	svc    *corev1.Service
	caller *unstructured.Unstructured
}

// calledServices are the Services the webhook configurations and the
// APIServices name.
func calledServices(t *testing.T, objs objects) []calledService {
	t.Helper()
	var out []calledService
	seen := map[string]bool{}
	add := func(caller *unstructured.Unstructured, ns, name string) {
		u := objs["Service/"+ns+"/"+name]
		if u == nil {
			t.Errorf("%s %s calls Service %s/%s, which is not in the build", caller.GetKind(), caller.GetName(), ns, name)
			return
		}
		if !seen[caller.GetKind()+caller.GetName()+ns+name] {
			seen[caller.GetKind()+caller.GetName()+ns+name] = true
			out = append(out, calledService{typed[corev1.Service](t, u), caller})
		}
	}
	for key, u := range objs {
		switch strings.SplitN(key, "/", 2)[0] {
		case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
			ws, _, _ := unstructured.NestedSlice(u.Object, "webhooks")
			for _, w := range ws {
				ns, _, _ := unstructured.NestedString(w.(map[string]any), "clientConfig", "service", "namespace")
				name, _, _ := unstructured.NestedString(w.(map[string]any), "clientConfig", "service", "name")
				add(u, ns, name)
			}
		case "APIService":
			ns, _, _ := unstructured.NestedString(u.Object, "spec", "service", "namespace")
			name, _, _ := unstructured.NestedString(u.Object, "spec", "service", "name")
			add(u, ns, name)
		}
	}
	return out
}

func selectedDeployment(t *testing.T, c calledService, objs objects, deps map[string]*appsv1.Deployment) *appsv1.Deployment {
	t.Helper()
	for _, d := range deps {
		if d.Namespace == c.svc.Namespace && len(c.svc.Spec.Selector) > 0 &&
			labels.SelectorFromSet(c.svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			return d
		}
	}
	t.Errorf("%s %s: Service %s selects no Deployment of the build", c.caller.GetKind(), c.caller.GetName(), c.svc.Name)
	return nil
}

// checkServed: what the API server calls runs two replicas or more, spread
// over nodes (required) and zones (preferred), with a PodDisruptionBudget
// keeping one, behind a NetworkPolicy that opens the Service's port.
func checkServed(t *testing.T, c calledService, d *appsv1.Deployment, objs objects) {
	t.Helper()
	who := fmt.Sprintf("Deployment %s (called by %s %s)", d.Name, c.caller.GetKind(), c.caller.GetName())
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("%s: fewer than 2 replicas", who)
	}
	spread := map[string]corev1.UnsatisfiableConstraintAction{}
	for _, tsc := range d.Spec.Template.Spec.TopologySpreadConstraints {
		if tsc.LabelSelector != nil && labels.SelectorFromSet(tsc.LabelSelector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)) {
			spread[tsc.TopologyKey] = tsc.WhenUnsatisfiable
		}
	}
	if spread["kubernetes.io/hostname"] != corev1.DoNotSchedule || spread["topology.kubernetes.io/zone"] != corev1.ScheduleAnyway {
		t.Errorf("%s: topology spread %v, want hostname DoNotSchedule and zone ScheduleAnyway", who, spread)
	}
	pdb := false
	for key, u := range objs {
		if !strings.HasPrefix(key, "PodDisruptionBudget/"+d.Namespace+"/") {
			continue
		}
		p := typed[policyv1.PodDisruptionBudget](t, u)
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err == nil && sel.Matches(labels.Set(d.Spec.Template.Labels)) && p.Spec.MinAvailable != nil && p.Spec.MinAvailable.IntValue() >= 1 {
			pdb = true
		}
	}
	if !pdb {
		t.Errorf("%s: no PodDisruptionBudget with minAvailable ≥ 1 selects its pods", who)
	}
	port := containerPort(d, c.svc.Spec.Ports[0].TargetPort)
	denied, opened := false, false
	for key, u := range objs {
		if !strings.HasPrefix(key, "NetworkPolicy/"+d.Namespace+"/") {
			continue
		}
		np := typed[networkingv1.NetworkPolicy](t, u)
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			continue
		}
		if slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.Ingress) == 0 {
			denied = true
		}
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				if p.Port != nil && containerPort(d, *p.Port) == port && len(rule.From) == 0 {
					opened = true
				}
			}
		}
	}
	if !denied {
		t.Errorf("%s: no default-deny NetworkPolicy in %s", who, d.Namespace)
	}
	if !opened {
		t.Errorf("%s: no NetworkPolicy lets the API server reach port %d", who, port)
	}
}

// checkServingCertificate: the caller trusts the certificate the pods
// serve: cert-manager's, from a Certificate for the Service's name whose
// Secret the pods mount and whose CA is injected into the caller; or OKD's
// service CA, issuing into that Secret and injecting its CA.
func checkServingCertificate(t *testing.T, c calledService, d *appsv1.Deployment, objs objects, okd bool) {
	t.Helper()
	who := fmt.Sprintf("%s %s", c.caller.GetKind(), c.caller.GetName())
	mounted := func(secret string) bool {
		return slices.ContainsFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == secret })
	}
	ann := c.caller.GetAnnotations()
	if okd {
		if ann["service.beta.openshift.io/inject-cabundle"] != "true" || ann["cert-manager.io/inject-ca-from"] != "" {
			t.Errorf("%s: annotations %v, want OKD's inject-cabundle alone", who, ann)
		}
		if s := c.svc.Annotations["service.beta.openshift.io/serving-cert-secret-name"]; s == "" || !mounted(s) {
			t.Errorf("%s: Service %s has OKD issue its certificate into %q, which Deployment %s does not mount", who, c.svc.Name, s, d.Name)
		}
		return
	}
	from := ann["cert-manager.io/inject-ca-from"]
	u := objs["Certificate/"+from]
	if u == nil {
		t.Errorf("%s: inject-ca-from %q names no Certificate of the build", who, from)
		return
	}
	secret, _, _ := unstructured.NestedString(u.Object, "spec", "secretName")
	names, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "dnsNames")
	if !slices.Contains(names, c.svc.Name+"."+c.svc.Namespace+".svc") || !mounted(secret) {
		t.Errorf("%s: Certificate %s (names %v, Secret %s) is not the one Deployment %s serves for Service %s", who, from, names, secret, d.Name, c.svc.Name)
	}
	issuer, _, _ := unstructured.NestedString(u.Object, "spec", "issuerRef", "name")
	iss := objs["Issuer/"+u.GetNamespace()+"/"+issuer]
	if iss == nil {
		t.Errorf("%s: Certificate %s: Issuer %s is not in the build", who, from, issuer)
		return
	}
	// A CA Issuer: renewing the serving certificate leaves the injected
	// CA as it was, so no caller sees a certificate it does not trust yet.
	if ca, _, _ := unstructured.NestedString(iss.Object, "spec", "ca", "secretName"); ca == "" {
		t.Errorf("%s: Certificate %s is issued by %s, not by a CA Issuer", who, from, issuer)
	}
}

// checkStaysOutOfPlatform: the hostnames webhook, which fails closed,
// never sees the platform's own namespaces.
func checkStaysOutOfPlatform(t *testing.T, vwc *admissionregistrationv1.ValidatingWebhookConfiguration) {
	t.Helper()
	for _, w := range vwc.Webhooks {
		sel, err := metav1.LabelSelectorAsSelector(w.NamespaceSelector)
		if err != nil || w.NamespaceSelector == nil {
			t.Errorf("webhook %s: no namespaceSelector (%v)", w.Name, err)
			continue
		}
		for _, ns := range []string{"kube-system", "atrium-system", "atrium-fleet"} {
			if sel.Matches(labels.Set{"kubernetes.io/metadata.name": ns}) {
				t.Errorf("webhook %s: namespace %s is not left out", w.Name, ns)
			}
		}
		if sel.Matches(labels.Set{"kubernetes.io/metadata.name": "openshift-ingress", "atrium.dev/platform": "true"}) {
			t.Errorf("webhook %s: a namespace labelled atrium.dev/platform=true is not left out", w.Name)
		}
		if !sel.Matches(labels.Set{"kubernetes.io/metadata.name": "shop", "tenancy.atrium.dev/tenant": "true"}) {
			t.Errorf("webhook %s: a tenant's namespace is left out", w.Name)
		}
	}
}

// TestClusterValuesReachTheComponents: a cluster's cluster.env is what its
// components read (the example members' ConfigMaps and Secret names), and
// the defaults of config/default/cluster.yaml are the components' own, so
// config/default alone and the overlays agree.
func TestClusterValuesReachTheComponents(t *testing.T) {
	copies := map[string][2]string{
		"dns-provider": {"atrium-dns", "provider"}, "dns-zone": {"atrium-dns", "zone"}, "dns-server": {"atrium-dns", "server"},
		"dns-tsig-key-name": {"atrium-dns", "tsig-key-name"}, "dns-tsig-algorithm": {"atrium-dns", "tsig-algorithm"},
		"dns-default-targets": {"atrium-dns", "default-targets"},
		"pages-gitlab-url":    {"atrium-pages", "gitlab-url"}, "pages-front": {"atrium-pages", "pages-front"},
		"pages-front-port": {"atrium-pages", "pages-front-port"}, "pages-ingress-class": {"atrium-pages", "ingress-class"},
		"volumes-cloud": {"atrium-volumes", "cloud"}, "volumes-default-availability-zone": {"atrium-volumes", "default-availability-zone"},
	}
	secrets := map[string][2]string{
		"hostnames-hub-kubeconfig-secret": {"atrium-hostnames", "hub"},
		"dns-hub-kubeconfig-secret":       {"atrium-dns", "hub"},
	}
	check := func(t *testing.T, build string, want map[string]string) {
		m := buildVariant(t, build)
		objs := indexed(m, "ConfigMap", "Deployment")
		cluster := objs["ConfigMap/atrium-system/atrium-cluster"]
		data, _, _ := unstructured.NestedStringMap(cluster.Object, "data")
		for k, v := range want {
			if data[k] != v {
				t.Errorf("%s: atrium-cluster %s=%q, want %q", build, k, data[k], v)
			}
		}
		for key := range data {
			_, c := copies[key]
			_, s := secrets[key]
			if !c && !s && key != "name" && key != "monitoring-namespace" {
				t.Errorf("%s: atrium-cluster key %s is copied nowhere", build, key)
			}
		}
		for key, to := range copies {
			got, _, _ := unstructured.NestedString(objs["ConfigMap/atrium-system/"+to[0]].Object, "data", to[1])
			if got != data[key] {
				t.Errorf("%s: ConfigMap %s %s=%q, but the cluster's %s=%q", build, to[0], to[1], got, key, data[key])
			}
		}
		for key, to := range secrets {
			d := typed[appsv1.Deployment](t, objs["Deployment/atrium-system/"+to[0]])
			i := slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == to[1] })
			if i < 0 || d.Spec.Template.Spec.Volumes[i].Secret.SecretName != data[key] {
				t.Errorf("%s: Deployment %s does not mount Secret %q (%s)", build, to[0], data[key], key)
			}
		}
	}
	check(t, "config/default", nil)
	for _, member := range []string{"member-1", "member-2"} {
		root, _ := testenv.RepoRoot()
		env, err := os.ReadFile(filepath.Join(root, "docs/examples/fleet", member, "cluster.env"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, line := range strings.Split(string(env), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
				want[k] = v
			}
		}
		if want["name"] != member {
			t.Errorf("%s/cluster.env names cluster %q", member, want["name"])
		}
		check(t, "docs/examples/fleet/"+member, want)
	}
}

// memberComponents says whether deps (by key) hold a member's components,
// which need Gatekeeper's ConstraintTemplate API: anything but the hub's
// fleet operator.
func memberComponents(deps map[string]*appsv1.Deployment) bool {
	for _, d := range deps {
		if d.Name != "atrium-fleet" {
			return true
		}
	}
	return false
}
