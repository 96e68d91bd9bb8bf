package config

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	lua "github.com/yuin/gopher-lua"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// argoCDModule is the Argo CD release config/argocd is written for; its
// CRDs are read from the module's zip (manifests/crds), never copied into
// the repository. Its Go packages are not used (they do not build here,
// and this release asks for a newer Go than the module's: `go mod
// download` fetches the zip all the same).
const argoCDModule = "github.com/argoproj/argo-cd/v3@v3.6.1"

const (
	waveKey    = "argocd.argoproj.io/sync-wave"
	optionsKey = "argocd.argoproj.io/sync-options"
)

// argoCDVariants are the installs config/components/argocd is for: each
// overlay with it, with the optional Components around it, and the
// example fleet's clusters, which include it.
var argoCDVariants = []variant{
	{base: "config/overlays/member", components: []string{"config/components/argocd"}},
	{base: "config/overlays/hub", components: []string{"config/components/argocd"}},
	{base: "config/overlays/hub-and-member", components: []string{"config/components/argocd"}},
	{base: "config/overlays/member", components: []string{"config/components/monitoring", "config/components/openshift-service-ca", "config/components/argocd", "config/components/cluster-values"}},
	{base: "config/overlays/hub-and-member", components: []string{"config/components/with-gatekeeper", "config/components/monitoring", "config/components/argocd"}},
	{base: "docs/examples/fleet/hub"},
	{base: "docs/examples/fleet/member-1"},
	{base: "docs/examples/fleet/member-2"},
}

// The waves of config/components/argocd, by name.
const (
	waveAPIs          = -3
	wavePolicy        = -2
	waveServers       = -1
	waveRegistrations = 0
	waveOperators     = 1
)

// wantWave is the wave each object should be in, derived from what the
// object is rather than from its name: the servers are the Deployments
// behind the Services the webhook configurations and APIServices call.
// A PodDisruptionBudget is in the wave of the pods it keeps (checked
// apart).
func wantWave(u *unstructured.Unstructured, servers map[string]bool) int {
	switch u.GetKind() {
	case "PodDisruptionBudget":
		return waveOf(nil, u)
	case "CustomResourceDefinition", "Namespace":
		return waveAPIs
	case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService":
		return waveRegistrations
	case "ServiceMonitor":
		return waveOperators
	case "Deployment":
		if servers[u.GetName()] {
			return waveServers
		}
		return waveOperators
	}
	return wavePolicy
}

func waveOf(t *testing.T, u *unstructured.Unstructured) int {
	s, ok := u.GetAnnotations()[waveKey]
	if t == nil {
		w, _ := strconv.Atoi(s)
		return w
	}
	t.Helper()
	if !ok {
		t.Errorf("%s %s: no %s", u.GetKind(), u.GetName(), waveKey)
		return 0
	}
	w, err := strconv.Atoi(s)
	if err != nil {
		t.Errorf("%s %s: %s=%q: %v", u.GetKind(), u.GetName(), waveKey, s, err)
	}
	return w
}

// TestArgoCDSyncWaves: with config/components/argocd, every object of every
// overlay and example cluster is in its wave (CRDs and Namespaces, then
// policy and configuration, then the servers the API server calls, then
// their registrations, then the operators), so that each thing Argo CD
// applies finds what it needs healthy: a Deployment its ServiceAccount,
// roles and certificates; a webhook configuration or APIService its
// server's ready replicas; a PodDisruptionBudget the wave of its pods.
// Without the Component, no object carries an Argo CD annotation.
func TestArgoCDSyncWaves(t *testing.T) {
	for _, v := range argoCDVariants {
		t.Run(v.String(), func(t *testing.T) {
			m := buildVariant(t, v.base, v.components...)
			objs := indexed(m, allKinds...)
			servers := map[string]bool{}
			deps := map[string]*appsv1.Deployment{}
			for key, u := range objs {
				if strings.HasPrefix(key, "Deployment/") {
					deps[key] = typed[appsv1.Deployment](t, u)
				}
			}
			for _, c := range calledServices(t, objs) {
				if d := selectedDeployment(t, c, objs, deps); d != nil {
					servers[d.Name] = true
					// A registration comes after its server and its Service.
					if waveOf(t, c.caller) <= waveOf(t, objs["Deployment/"+d.Namespace+"/"+d.Name]) {
						t.Errorf("%s %s is registered before its server %s is ready", c.caller.GetKind(), c.caller.GetName(), d.Name)
					}
				}
			}
			lowest := map[string]bool{"CustomResourceDefinition": true, "Namespace": true}
			for _, u := range m.All() {
				got := waveOf(t, u)
				if want := wantWave(u, servers); got != want {
					t.Errorf("%s %s/%s: wave %d, want %d", u.GetKind(), u.GetNamespace(), u.GetName(), got, want)
				}
				if !lowest[u.GetKind()] && got <= waveAPIs {
					t.Errorf("%s %s: wave %d is not after the CRDs and Namespaces", u.GetKind(), u.GetName(), got)
				}
			}
			for key, d := range deps {
				dw := waveOf(t, objs[key])
				needs := []string{"ServiceAccount/" + d.Namespace + "/" + d.Spec.Template.Spec.ServiceAccountName}
				for _, vol := range d.Spec.Template.Spec.Volumes {
					if vol.ConfigMap != nil {
						needs = append(needs, "ConfigMap/"+d.Namespace+"/"+vol.ConfigMap.Name)
					}
				}
				for ckey, c := range objs {
					if strings.HasPrefix(ckey, "Certificate/"+d.Namespace+"/") {
						secret, _, _ := unstructured.NestedString(c.Object, "spec", "secretName")
						if slices.ContainsFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == secret }) {
							needs = append(needs, ckey)
						}
					}
				}
				for _, need := range needs {
					if u := objs[need]; u != nil && waveOf(t, u) >= dw {
						t.Errorf("%s (wave %d) does not find %s (wave %d) in place", key, dw, need, waveOf(t, u))
					}
				}
				for pkey, u := range objs {
					if !strings.HasPrefix(pkey, "PodDisruptionBudget/"+d.Namespace+"/") {
						continue
					}
					p := typed[policyv1.PodDisruptionBudget](t, u)
					if sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector); err == nil && sel.Matches(labels.Set(d.Spec.Template.Labels)) && waveOf(t, u) != dw {
						t.Errorf("%s: wave %d, but the pods it keeps are in wave %d", pkey, waveOf(t, u), dw)
					}
				}
			}
		})
	}
	for _, base := range []string{"config/overlays/member", "config/overlays/hub", "config/overlays/hub-and-member"} {
		for _, u := range buildVariant(t, base).All() {
			for k := range u.GetAnnotations() {
				if strings.HasPrefix(k, "argocd.argoproj.io/") {
					t.Errorf("%s without config/components/argocd: %s %s carries %s", base, u.GetKind(), u.GetName(), k)
				}
			}
		}
	}
}

// TestArgoCDNeverPrunesAPIs: with config/components/argocd, Argo CD neither
// prunes nor deletes (with its Application) a CRD, whose deletion would
// delete every Project, OpenStackVolume, GitLabPagesSite or HostnameClaim,
// or a Namespace, whose deletion would delete the credentials in
// atrium-system and the members' identities in atrium-fleet; everything
// else it prunes, so that no role or policy outlives the release that
// shipped it. The ApplicationSet leaves every Application without the
// resources finalizer, so deleting one deletes nothing in its cluster.
func TestArgoCDNeverPrunesAPIs(t *testing.T) {
	for _, v := range argoCDVariants {
		t.Run(v.String(), func(t *testing.T) {
			protected := 0
			for _, u := range buildVariant(t, v.base, v.components...).All() {
				opts := strings.Split(u.GetAnnotations()[optionsKey], ",")
				switch u.GetKind() {
				case "CustomResourceDefinition", "Namespace":
					protected++
					if !slices.Contains(opts, "Prune=false") || !slices.Contains(opts, "Delete=false") {
						t.Errorf("%s %s: %s=%q, want Prune=false and Delete=false", u.GetKind(), u.GetName(), optionsKey, u.GetAnnotations()[optionsKey])
					}
				default:
					if slices.Contains(opts, "Prune=false") || slices.Contains(opts, "Delete=false") {
						t.Errorf("%s %s is kept from pruning too: only the APIs and Namespaces are", u.GetKind(), u.GetName())
					}
				}
			}
			if protected < 3 {
				t.Errorf("only %d CRDs and Namespaces", protected)
			}
		})
	}
	appset := argoCDObject(t, "ApplicationSet")
	if keep, _, _ := unstructured.NestedBool(appset.Object, "spec", "syncPolicy", "preserveResourcesOnDeletion"); !keep {
		t.Errorf("ApplicationSet: spec.syncPolicy.preserveResourcesOnDeletion is not true: deleting an Application would delete Atrium from its cluster")
	}
	for _, app := range renderedApplications(t) {
		if f := app.GetFinalizers(); len(f) > 0 {
			t.Errorf("Application %s: finalizers %v: deleting it would delete its resources", app.GetName(), f)
		}
		if prune, _, _ := unstructured.NestedBool(app.Object, "spec", "syncPolicy", "automated", "prune"); !prune {
			t.Errorf("Application %s: automated prune is off: objects a release drops would stay", app.GetName())
		}
	}
}

// argoCDBuild is config/argocd as kustomize builds it.
func argoCDBuild(t *testing.T) *shipped.Manifests {
	t.Helper()
	return buildVariant(t, "config/argocd")
}

func argoCDObject(t *testing.T, kind string) *unstructured.Unstructured {
	t.Helper()
	objs := argoCDBuild(t).Of(kind)
	if len(objs) != 1 {
		t.Fatalf("config/argocd: %d objects of kind %s, want 1", len(objs), kind)
	}
	return objs[0]
}

// healthScripts are the Lua scripts of config/argocd/argocd-cm.yaml, by
// Argo CD's key (resource.customizations.health.<group>_<kind>).
func healthScripts(t *testing.T) map[string]string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := testenv.ReadObjects(filepath.Join(root, "config/argocd/argocd-cm.yaml"))
	if err != nil || len(objs) != 1 {
		t.Fatalf("config/argocd/argocd-cm.yaml: %d objects, %v", len(objs), err)
	}
	data, _, err := unstructured.NestedStringMap(objs[0].Object, "data")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// runHealth runs a health script as Argo CD 3 does (util/lua): a Lua state
// with only the package, base and table libraries (Argo CD adds a safe
// subset of os, which no Atrium script needs), the object as the global
// obj, one second at most; the returned table's status must be one of
// Argo CD's.
func runHealth(t *testing.T, script string, obj map[string]any) (status, message string) {
	t.Helper()
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		t.Fatalf("the script fails: %v", err)
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("the script returns %s, not a table", l.Get(-1).Type())
	}
	status, message = lua.LVAsString(ret.RawGetString("status")), lua.LVAsString(ret.RawGetString("message"))
	if !slices.Contains([]string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}, status) {
		t.Errorf("status %q is not one of Argo CD's", status)
	}
	return status, message
}

// toLua converts an object as Argo CD's decodeValue does: maps and slices
// to tables (slices from index 1), numbers to Lua numbers.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		tbl := l.NewTable()
		for k, e := range v {
			tbl.RawSetString(k, toLua(l, e))
		}
		return tbl
	case []any:
		tbl := l.NewTable()
		for _, e := range v {
			tbl.Append(toLua(l, e))
		}
		return tbl
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case nil:
		return lua.LNil
	}
	panic(fmt.Sprintf("toLua: %T", v))
}

// healthCases are, for each Atrium kind with a Ready condition, the
// reasons its controllers give a Ready=False and what Argo CD should make
// of each: Degraded when a person must act, Progressing while the
// controller is at work or waits for something that comes by itself.
var healthCases = map[string]struct {
	degraded, progressing []string
}{
	"tenancy.atrium.dev_Project": {
		degraded:    []string{"TierNotFound", "NamespaceConflict", "Error"},
		progressing: []string{"Pending", "NamespaceCreating", "NamespaceTerminating", "Deleting"},
	},
	"tenancy.atrium.dev_ProjectTier": {
		progressing: []string{"RollingOut"},
	},
	"pages.atrium.dev_GitLabPagesSite": {
		degraded: []string{"NotMaintainer", "NotInProject", "NoGitLabUser", "GitLabProjectNotFound", "ProjectUnknown", "DomainTaken", "DomainRefused",
			"CertificateInvalid", "CertificateRefused", "SecretUnreadable", "GitLabError", "ReadFailed", "WriteFailed", "InternalError"},
		progressing: []string{"VerificationPending", "GitLabUnavailable", "GitLabRateLimited", "StatusUnwritten", "DeletingInGitLab"},
	},
	"storage.atrium.dev_OpenStackVolume": {
		degraded: []string{"QuotaExceeded", "CinderError", "CinderForbidden", "CinderRefused", "VolumeMissing", "VolumeUnusable", "VolumeTaken",
			"AdoptionRefused", "SnapshotRefused", "ClaimConflict", "ClaimFailed", "PersistentVolumeConflict", "PersistentVolumeFailed", "ExtendFailed", "NamespaceUnknown"},
		progressing: []string{"Creating", "Extending", "CinderBusy", "Binding", "AdoptionPending", "WaitingForDetach", "DetachToExtend",
			"CinderRateLimited", "CinderUnavailable", "ClaimDeleting", "Deleting"},
	},
	"fleet.atrium.dev_HostnameClaim": {
		progressing: []string{"AwaitingObject"},
	},
	// Ready=False of a MemberCluster means its components do not report
	// (or report a failure): Degraded whatever the reason.
	"fleet.atrium.dev_MemberCluster": {
		degraded: []string{"NotReporting", "Stale", "ComponentFailing"},
	},
}

// TestArgoCDHealthChecks runs each health script of config/argocd/argocd-cm.yaml
// against objects of its kind: no status, no conditions, Ready True at the
// current generation (Healthy), Ready True or False for an older
// generation (Progressing, by the condition's observedGeneration or the
// status's), Ready Unknown, and Ready False with every reason its
// controller gives (Degraded or Progressing, as healthCases says). Every
// Atrium CRD with status conditions has a script, and every script a CRD.
func TestArgoCDHealthChecks(t *testing.T) {
	scripts := healthScripts(t)
	root, _ := testenv.RepoRoot()
	want := map[string]bool{}
	for _, dir := range []string{"config/crd", "config/crd/fleet"} {
		crds, err := shipped.Build(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := crds.CRDs()
		if err != nil {
			t.Fatal(err)
		}
		for _, crd := range cs {
			status := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["status"]
			if _, ok := status.Properties["conditions"]; ok {
				want["resource.customizations.health."+crd.Spec.Group+"_"+crd.Spec.Names.Kind] = true
			}
		}
	}
	for key := range want {
		if scripts[key] == "" {
			t.Errorf("no health check %s", key)
		}
	}
	for key := range scripts {
		if !want[key] {
			t.Errorf("health check %s is for no Atrium CRD with conditions", key)
		}
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs/argocd.md"))
	if err != nil {
		t.Fatal(err)
	}
	for key, script := range scripts {
		gk := strings.TrimPrefix(key, "resource.customizations.health.")
		c, ok := healthCases[gk]
		if !ok {
			t.Errorf("%s: no cases", gk)
			continue
		}
		// The script's table of Degraded reasons is the one tested here,
		// and docs/argocd.md names every reason.
		var listed []string
		if _, table, ok := strings.Cut(script, "local degraded = {"); ok {
			table, _, _ = strings.Cut(table, "}")
			for _, item := range strings.Split(table, ",") {
				if name, _, ok := strings.Cut(strings.TrimSpace(item), " = true"); ok {
					listed = append(listed, name)
				}
			}
		}
		if gk != "fleet.atrium.dev_MemberCluster" && !slices.Equal(listed, c.degraded) {
			t.Errorf("%s: the script's Degraded reasons %v, the tested ones %v", gk, listed, c.degraded)
		}
		for _, r := range append(slices.Clone(c.degraded), c.progressing...) {
			if gk != "fleet.atrium.dev_MemberCluster" && !bytes.Contains(doc, []byte(r)) {
				t.Errorf("%s: docs/argocd.md does not name reason %s", gk, r)
			}
		}
		group, kind, _ := strings.Cut(gk, "_")
		object := func(generation int64, status map[string]any) map[string]any {
			o := map[string]any{
				"apiVersion": group + "/v1alpha1", "kind": kind,
				"metadata": map[string]any{"name": "sample", "generation": generation},
			}
			if status != nil {
				o["status"] = status
			}
			return o
		}
		ready := func(status, reason string, observed int64) map[string]any {
			cond := map[string]any{"type": "Ready", "status": status, "reason": reason, "message": "the controller says " + reason, "lastTransitionTime": "2026-01-01T00:00:00Z"}
			if observed > 0 {
				cond["observedGeneration"] = observed
			}
			return map[string]any{"observedGeneration": observed, "conditions": []any{
				map[string]any{"type": "Other", "status": "True", "reason": "Fine", "message": "not Ready"}, cond,
			}}
		}
		type tc struct {
			name   string
			obj    map[string]any
			status string
		}
		cases := []tc{
			{"no status", object(1, nil), "Progressing"},
			{"no conditions", object(1, map[string]any{"observedGeneration": int64(1)}), "Progressing"},
			{"no Ready condition", object(1, map[string]any{"conditions": []any{map[string]any{"type": "Other", "status": "False", "reason": "Error"}}}), "Progressing"},
			{"Ready", object(3, ready("True", "Fine", 3)), "Healthy"},
			{"Ready for an older generation", object(4, ready("True", "Fine", 3)), "Progressing"},
			{"Ready Unknown", object(1, ready("Unknown", "Checking", 1)), "Progressing"},
		}
		noCondGeneration := ready("True", "Fine", 0)
		noCondGeneration["observedGeneration"] = int64(2)
		cases = append(cases, tc{"Ready, older generation by status.observedGeneration", object(3, noCondGeneration), "Progressing"})
		for _, r := range c.degraded {
			cases = append(cases, tc{"Ready False " + r, object(2, ready("False", r, 2)), "Degraded"},
				tc{"Ready False " + r + " for an older generation", object(3, ready("False", r, 2)), "Progressing"})
		}
		for _, r := range c.progressing {
			cases = append(cases, tc{"Ready False " + r, object(2, ready("False", r, 2)), "Progressing"})
		}
		for _, tc := range cases {
			t.Run(gk+"/"+tc.name, func(t *testing.T) {
				got, msg := runHealth(t, script, tc.obj)
				if got != tc.status {
					t.Errorf("%s (%q), want %s", got, msg, tc.status)
				}
				if msg == "" {
					t.Errorf("%s with no message", got)
				}
			})
		}
	}
}

// renderedApplications are the Applications config/argocd's ApplicationSet
// makes for the example fleet's clusters (docs/examples/fleet/argocd-clusters.yaml).
func renderedApplications(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	root, _ := testenv.RepoRoot()
	secrets, err := testenv.ReadObjects(filepath.Join(root, "docs/examples/fleet/argocd-clusters.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	apps, err := renderApplicationSet(argoCDObject(t, "ApplicationSet"), secrets)
	if err != nil {
		t.Fatal(err)
	}
	return apps
}

// renderApplicationSet evaluates an ApplicationSet's cluster generator over
// cluster Secrets as Argo CD's ApplicationSet controller does
// (applicationset/generators/cluster.go, applicationset/utils): the
// Secrets of type cluster its selector matches (and Argo CD's in-cluster
// entry when the selector is empty), each giving the parameters name,
// nameNormalized, server, project, metadata.labels and (when the Secret
// has any) metadata.annotations, and the generator's values templated with
// them; then every string of the template, keys included, through Go's
// text/template with the ApplicationSet's options. Sprig's functions are
// not given: a template using one fails here, so config/argocd uses none.
func renderApplicationSet(appset *unstructured.Unstructured, secrets []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	spec, _, _ := unstructured.NestedMap(appset.Object, "spec")
	if goTemplate, _, _ := unstructured.NestedBool(spec, "goTemplate"); !goTemplate {
		return nil, fmt.Errorf("goTemplate is not true")
	}
	options, _, _ := unstructured.NestedStringSlice(spec, "goTemplateOptions")
	gens, _, _ := unstructured.NestedSlice(spec, "generators")
	if len(gens) != 1 {
		return nil, fmt.Errorf("%d generators, want 1", len(gens))
	}
	clusters, ok, _ := unstructured.NestedMap(gens[0].(map[string]any), "clusters")
	if !ok {
		return nil, fmt.Errorf("the generator is no cluster generator")
	}
	ls := &metav1.LabelSelector{}
	if raw, ok := clusters["selector"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, ls); err != nil {
			return nil, err
		}
	}
	emptySelector := len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0
	sel, err := metav1.LabelSelectorAsSelector(metav1.AddLabelToSelector(ls.DeepCopy(), "argocd.argoproj.io/secret-type", "cluster"))
	if err != nil {
		return nil, err
	}
	values, _, _ := unstructured.NestedStringMap(clusters, "values")
	render := func(s string, params map[string]any) (string, error) {
		tmpl, err := template.New("").Option(options...).Parse(s)
		if err != nil {
			return "", err
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, params); err != nil {
			return "", err
		}
		return b.String(), nil
	}
	var paramSets []map[string]any
	for _, s := range secrets {
		if s.GetKind() != "Secret" || !sel.Matches(labels.Set(s.GetLabels())) {
			continue
		}
		data := map[string]string{}
		if sd, _, _ := unstructured.NestedStringMap(s.Object, "stringData"); sd != nil {
			data = sd
		}
		params := map[string]any{
			"name": data["name"], "nameNormalized": strings.ToLower(data["name"]), "server": data["server"], "project": data["project"],
		}
		md := map[string]any{}
		if len(s.GetLabels()) > 0 {
			md["labels"] = s.GetLabels()
		}
		if len(s.GetAnnotations()) > 0 {
			md["annotations"] = s.GetAnnotations()
		}
		params["metadata"] = md
		paramSets = append(paramSets, params)
	}
	if emptySelector {
		paramSets = append(paramSets, map[string]any{"name": "in-cluster", "nameNormalized": "in-cluster", "server": "https://kubernetes.default.svc", "project": ""})
	}
	tmpl, _, _ := unstructured.NestedMap(spec, "template")
	preserve, _, _ := unstructured.NestedBool(spec, "syncPolicy", "preserveResourcesOnDeletion")
	var out []*unstructured.Unstructured
	for _, params := range paramSets {
		if len(values) > 0 {
			vs := map[string]string{}
			for k, v := range values {
				r, err := render(v, params)
				if err != nil {
					return nil, fmt.Errorf("values.%s: %w", k, err)
				}
				vs[k] = r
			}
			params["values"] = vs
		}
		var walk func(v any) (any, error)
		walk = func(v any) (any, error) {
			switch v := v.(type) {
			case string:
				return render(v, params)
			case map[string]any:
				m := map[string]any{}
				for k, e := range v {
					rk, err := render(k, params)
					if err != nil {
						return nil, err
					}
					if m[rk], err = walk(e); err != nil {
						return nil, err
					}
				}
				return m, nil
			case []any:
				l := make([]any, len(v))
				for i, e := range v {
					var err error
					if l[i], err = walk(e); err != nil {
						return nil, err
					}
				}
				return l, nil
			}
			return v, nil
		}
		rendered, err := walk(runtime.DeepCopyJSONValue(tmpl))
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", params["name"], err)
		}
		app := &unstructured.Unstructured{Object: rendered.(map[string]any)}
		app.SetAPIVersion("argoproj.io/v1alpha1")
		app.SetKind("Application")
		app.SetNamespace(appset.GetNamespace())
		if !preserve && len(app.GetFinalizers()) == 0 {
			app.SetFinalizers([]string{"resources-finalizer.argocd.argoproj.io"})
		}
		out = append(out, app)
	}
	return out, nil
}

// TestArgoCDApplicationSetRenders: for the example fleet's cluster Secrets
// the ApplicationSet makes one Application per cluster, named after it,
// from its folder (docs/examples/fleet/<cluster>) at the fleet's revision
// or the one the cluster is pinned to, to its API server, with the labels
// the rollout steps select on; each folder builds, holds what its role
// says, and carries the waves. Each Application is in exactly one rollout
// step: the hub, then the canary members, then the rest (a member with no
// group or an unknown one too). Clusters without the labels get none, and
// a template naming a parameter the generator does not give fails.
func TestArgoCDApplicationSetRenders(t *testing.T) {
	apps := renderedApplications(t)
	want := map[string]struct{ path, revision, server, namespace, role, group string }{
		"atrium-hub":      {"docs/examples/fleet/hub", "main", "https://kubernetes.default.svc", "atrium-fleet", "hub", "main"},
		"atrium-member-1": {"docs/examples/fleet/member-1", "main", "https://member-1.lab.example.org:6443", "atrium-system", "member", "canary"},
		"atrium-member-2": {"docs/examples/fleet/member-2", "v0.3.0", "https://member-2.lab.example.org:6443", "atrium-system", "member", "main"},
	}
	if len(apps) != len(want) {
		t.Fatalf("%d Applications, want %d", len(apps), len(want))
	}
	root, _ := testenv.RepoRoot()
	appset := argoCDObject(t, "ApplicationSet")
	for _, app := range apps {
		w, ok := want[app.GetName()]
		if !ok {
			t.Errorf("Application %s, not for a cluster of the example fleet", app.GetName())
			continue
		}
		str := func(path ...string) string {
			s, _, _ := unstructured.NestedString(app.Object, path...)
			return s
		}
		got := [...]string{str("spec", "source", "path"), str("spec", "source", "targetRevision"), str("spec", "destination", "server"),
			str("spec", "destination", "namespace"), app.GetLabels()["atrium.dev/role"], app.GetLabels()["atrium.dev/rollout-group"]}
		if got != [...]string{w.path, w.revision, w.server, w.namespace, w.role, w.group} {
			t.Errorf("Application %s: path, revision, server, namespace, role, group = %q, want %q", app.GetName(), got, w)
		}
		if repo := str("spec", "source", "repoURL"); repo != "https://github.com/atrium-dev/atrium.git" {
			t.Errorf("Application %s: repoURL %q", app.GetName(), repo)
		}
		opts, _, _ := unstructured.NestedStringSlice(app.Object, "spec", "syncPolicy", "syncOptions")
		if !slices.Contains(opts, "ServerSideApply=true") {
			t.Errorf("Application %s: syncOptions %v: the CRDs need ServerSideApply=true", app.GetName(), opts)
		}
		if steps := rolloutSteps(t, appset, app.GetLabels()); len(steps) != 1 {
			t.Errorf("Application %s is in rollout steps %v, want exactly one", app.GetName(), steps)
		} else if wantStep := map[string]int{"hub": 0, "canary": 1, "main": 2}[map[bool]string{true: "hub", false: w.group}[w.role == "hub"]]; steps[0] != wantStep {
			t.Errorf("Application %s is in rollout step %d, want %d", app.GetName(), steps[0], wantStep)
		}
		m, err := shipped.Build(root, w.path)
		if err != nil {
			t.Errorf("Application %s: its path does not build: %v", app.GetName(), err)
			continue
		}
		// The hub runs one component, the fleet operator; a member runs
		// the others.
		fleetCRDs, deployments := 0, 0
		for _, u := range m.Of("Deployment") {
			if u.GetName() != "atrium-fleet" {
				deployments++
			}
		}
		for _, u := range m.Of("CustomResourceDefinition") {
			if strings.HasSuffix(u.GetName(), ".fleet.atrium.dev") {
				fleetCRDs++
			}
		}
		if (w.role == "hub") != (fleetCRDs > 0 && deployments == 0) || (w.role == "member") != (fleetCRDs == 0 && deployments > 0) {
			t.Errorf("Application %s (role %s): %d fleet CRDs and %d Deployments in %s", app.GetName(), w.role, fleetCRDs, deployments, w.path)
		}
		for _, u := range m.All() {
			if _, ok := u.GetAnnotations()[waveKey]; !ok {
				t.Errorf("Application %s: %s %s has no wave: does %s include config/components/argocd?", app.GetName(), u.GetKind(), u.GetName(), w.path)
				break
			}
		}
	}

	// Clusters as an admin may label them, right or wrong.
	secret := func(name string, lbls map[string]string) *unstructured.Unstructured {
		s := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
			"stringData": map[string]any{"name": name, "server": "https://" + name + ".example.org:6443"}}}
		s.SetName("cluster-" + name)
		s.SetLabels(lbls)
		return s
	}
	cluster := map[string]string{"argocd.argoproj.io/secret-type": "cluster"}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range cluster {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	extra, err := renderApplicationSet(appset, []*unstructured.Unstructured{
		secret("no-group", with(map[string]string{"atrium.dev/cluster": "no-group", "atrium.dev/role": "member"})),
		secret("odd-group", with(map[string]string{"atrium.dev/cluster": "odd-group", "atrium.dev/role": "member", "atrium.dev/rollout-group": "blue"})),
		secret("both", with(map[string]string{"atrium.dev/cluster": "both", "atrium.dev/role": "hub-and-member", "atrium.dev/rollout-group": "canary"})),
		secret("unlabelled", cluster),
		secret("no-folder", with(map[string]string{"atrium.dev/role": "member"})),
		secret("odd-role", with(map[string]string{"atrium.dev/cluster": "odd-role", "atrium.dev/role": "spoke"})),
		secret("not-a-cluster", map[string]string{"atrium.dev/cluster": "x", "atrium.dev/role": "member"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	wantSteps := map[string]int{"atrium-no-group": 2, "atrium-odd-group": 2, "atrium-both": 0}
	for _, app := range extra {
		step, ok := wantSteps[app.GetName()]
		if !ok {
			t.Errorf("Application %s for a cluster that should have none", app.GetName())
			continue
		}
		delete(wantSteps, app.GetName())
		if steps := rolloutSteps(t, appset, app.GetLabels()); !slices.Equal(steps, []int{step}) {
			t.Errorf("Application %s (labels %v) is in rollout steps %v, want [%d]", app.GetName(), app.GetLabels(), steps, step)
		}
		if ns, _, _ := unstructured.NestedString(app.Object, "spec", "destination", "namespace"); ns != "atrium-system" {
			t.Errorf("Application %s: destination namespace %q", app.GetName(), ns)
		}
	}
	for name := range wantSteps {
		t.Errorf("no Application %s", name)
	}

	// The renderer honours missingkey=error, as Argo CD does.
	broken := appset.DeepCopy()
	_ = unstructured.SetNestedField(broken.Object, "{{ .values.nosuch }}", "spec", "template", "spec", "source", "path")
	if _, err := renderApplicationSet(broken, []*unstructured.Unstructured{secret("m", with(map[string]string{"atrium.dev/cluster": "m", "atrium.dev/role": "member"}))}); err == nil {
		t.Errorf("a template naming a missing value renders")
	}
}

// rolloutSteps are the RollingSync steps (from 0) that select an
// Application by its labels, by the ApplicationSet controller's rules
// (applicationset/progressivesync): every matchExpression must hold; In
// holds when the label is there with one of the values, NotIn when it is
// absent or has none of them; no other operator is valid.
func rolloutSteps(t *testing.T, appset *unstructured.Unstructured, lbls map[string]string) []int {
	t.Helper()
	if typ, _, _ := unstructured.NestedString(appset.Object, "spec", "strategy", "type"); typ != "RollingSync" {
		t.Fatalf("ApplicationSet strategy %q, want RollingSync", typ)
	}
	steps, _, _ := unstructured.NestedSlice(appset.Object, "spec", "strategy", "rollingSync", "steps")
	var out []int
	for i, s := range steps {
		exprs, _ := s.(map[string]any)["matchExpressions"].([]any)
		selected := true
		for _, e := range exprs {
			m := e.(map[string]any)
			key, op := m["key"].(string), m["operator"].(string)
			values, _, _ := unstructured.NestedStringSlice(m, "values")
			val, ok := lbls[key]
			switch op {
			case "In":
				selected = selected && ok && slices.Contains(values, val)
			case "NotIn":
				selected = selected && !(ok && slices.Contains(values, val))
			default:
				t.Errorf("rollout step %d: operator %q: RollingSync knows In and NotIn only", i, op)
				selected = false
			}
		}
		if selected {
			out = append(out, i)
		}
	}
	return out
}

// argoCDCRDs are Argo CD's CRDs (Application, ApplicationSet, AppProject),
// read from the release's module zip.
func argoCDCRDs(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	// Its go.mod asks for a newer Go, which fails the command but not the
	// download: the zip is there.
	info, _ := downloadModule(argoCDModule)
	z, err := zip.OpenReader(info.Zip)
	if err != nil {
		t.Fatalf("go mod download %s: %s (%v)", argoCDModule, info.Error, err)
	}
	defer z.Close()
	var crds []*unstructured.Unstructured
	for _, name := range []string{"application-crd.yaml", "applicationset-crd.yaml", "appproject-crd.yaml"} {
		f, err := z.Open(argoCDModule + "/manifests/crds/" + name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &u.Object); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		crds = append(crds, u)
	}
	return crds
}

// argoCDServed installs Argo CD's CRDs on the package's API server once.
var argoCDServed struct {
	once sync.Once
	err  error
}

func argoCDControlPlane(t *testing.T) *testenv.Env {
	t.Helper()
	env := controlPlane(t)
	argoCDServed.once.Do(func() {
		ctx := context.Background()
		for _, crd := range argoCDCRDs(t) {
			if err := env.Client.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
				argoCDServed.err = err
				return
			}
		}
		for _, kind := range []string{"Application", "ApplicationSet", "AppProject"} {
			gk := schema.GroupKind{Group: "argoproj.io", Kind: kind}
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := env.Client.RESTMapper().RESTMapping(gk, "v1alpha1"); err == nil {
					break
				} else if time.Now().After(deadline) {
					argoCDServed.err = fmt.Errorf("%s not served: %w", kind, err)
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "argocd"}}
		if err := env.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			argoCDServed.err = err
		}
	})
	if argoCDServed.err != nil {
		t.Fatal(argoCDServed.err)
	}
	return env
}

// TestArgoCDManifestsApply sends config/argocd (the AppProject and the
// ApplicationSet), the health checks' argocd-cm, the example fleet's
// cluster Secrets and each Application the ApplicationSet renders for
// them to a real API server serving Argo CD's CRDs, by server-side apply,
// dry run: each must be valid against Argo CD's schemas and draw no
// warning. And the AppProject lets each Application manage every object
// of its folder: the kind (cluster-scoped or namespaced, as the API
// server says) is in the project's lists, the namespace in its
// destinations, and the Application's repository in its sources.
func TestArgoCDManifestsApply(t *testing.T) {
	env := argoCDControlPlane(t)
	ctx := context.Background()
	w := &warnings{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := testenv.RepoRoot()
	objs := argoCDBuild(t).All()
	for _, f := range []string{"config/argocd/argocd-cm.yaml", "docs/examples/fleet/argocd-clusters.yaml"} {
		more, err := testenv.ReadObjects(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, more...)
	}
	apps := renderedApplications(t)
	objs = append(objs, apps...)
	for _, u := range objs {
		err := c.Patch(ctx, u.DeepCopy(), client.Apply, client.DryRunAll, client.ForceOwnership, client.FieldOwner("atrium-argocd-test"))
		if err != nil {
			t.Errorf("%s %s/%s does not apply: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		for _, text := range w.take() {
			t.Errorf("%s %s/%s: the API server warns: %s", u.GetKind(), u.GetNamespace(), u.GetName(), text)
		}
	}

	project := argoCDObject(t, "AppProject")
	allowed := func(list string) map[schema.GroupKind]bool {
		out := map[schema.GroupKind]bool{}
		items, _, _ := unstructured.NestedSlice(project.Object, "spec", list)
		for _, i := range items {
			m := i.(map[string]any)
			out[schema.GroupKind{Group: m["group"].(string), Kind: m["kind"].(string)}] = true
		}
		return out
	}
	clusterKinds, namespacedKinds := allowed("clusterResourceWhitelist"), allowed("namespaceResourceWhitelist")
	namespaces := map[string]bool{}
	dests, _, _ := unstructured.NestedSlice(project.Object, "spec", "destinations")
	for _, d := range dests {
		namespaces[d.(map[string]any)["namespace"].(string)] = true
	}
	repos, _, _ := unstructured.NestedStringSlice(project.Object, "spec", "sourceRepos")
	for _, app := range apps {
		repo, _, _ := unstructured.NestedString(app.Object, "spec", "source", "repoURL")
		path, _, _ := unstructured.NestedString(app.Object, "spec", "source", "path")
		dest, _, _ := unstructured.NestedString(app.Object, "spec", "destination", "namespace")
		if p, _, _ := unstructured.NestedString(app.Object, "spec", "project"); p != project.GetName() {
			t.Errorf("Application %s: project %q, want %s", app.GetName(), p, project.GetName())
		}
		if !slices.Contains(repos, repo) {
			t.Errorf("Application %s: repository %s is not among the AppProject's %v", app.GetName(), repo, repos)
		}
		if !namespaces[dest] {
			t.Errorf("Application %s: destination namespace %s is not the AppProject's", app.GetName(), dest)
		}
		m, err := shipped.Build(root, path)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range m.All() {
			gvk := u.GroupVersionKind()
			mapping, err := c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Errorf("Application %s: %s: %v", app.GetName(), gvk, err)
				continue
			}
			if mapping.Scope.Name() == meta.RESTScopeNameRoot {
				if !clusterKinds[gvk.GroupKind()] {
					t.Errorf("Application %s: the AppProject does not let it manage %s %s (cluster-scoped)", app.GetName(), gvk.GroupKind(), u.GetName())
				}
				continue
			}
			if !namespacedKinds[gvk.GroupKind()] || !namespaces[u.GetNamespace()] {
				t.Errorf("Application %s: the AppProject does not let it manage %s %s/%s", app.GetName(), gvk.GroupKind(), u.GetNamespace(), u.GetName())
			}
		}
	}
}
