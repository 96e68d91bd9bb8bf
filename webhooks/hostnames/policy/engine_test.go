package policy

import (
	"context"
	"reflect"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const ingressesOnly = `
kinds:
- apiGroups: [networking.k8s.io]
  kinds: [Ingress]`

func TestRequiredLabels(t *testing.T) {
	e := newEngine(t, fromYAML(t, requiredLabelsTemplate), requiredLabelsConstraint(t, "ingress-owner", ingressesOnly, ""))
	service := &unstructured.Unstructured{}
	service.SetAPIVersion("v1")
	service.SetKind("Service")
	service.SetNamespace("team-a")
	service.SetName("web")

	for _, tc := range []struct {
		name string
		req  Request
		want []string
	}{
		{"ingress without the label is denied",
			create(ingress("team-a", "web", nil, "shop.example.com")),
			[]string{"deny K8sRequiredLabels/ingress-owner: Ingress must carry label owner"}},
		{"ingress with the label is allowed",
			create(ingress("team-a", "web", map[string]string{"owner": "shop"})), nil},
		{"label value must match allowedRegex",
			create(ingress("team-a", "web", map[string]string{"owner": "Shop!"})),
			[]string{"deny K8sRequiredLabels/ingress-owner: label owner=Shop! does not match ^[a-z]+$"}},
		{"other kinds are not matched",
			create(service), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.Review(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(summary(got), tc.want) {
				t.Errorf("got %q, want %q", summary(got), tc.want)
			}
		})
	}
}

// TestMatch checks each part of spec.match against an unlabelled Ingress in
// namespace team-a (unless the case says otherwise), which violates the
// constraint whenever the constraint matches it.
func TestMatch(t *testing.T) {
	prod := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"tier": "prod"}}}
	dev := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"tier": "dev"}}}
	namespaceKind := schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}

	for _, tc := range []struct {
		name   string
		match  string
		mutate func(*Request) // adjusts the default request
		want   bool           // whether the constraint matches
	}{
		{"no match matches everything", "", nil, true},
		{"kinds: group and kind", ingressesOnly, nil, true},
		{"kinds: other group", ingressesOnly, func(r *Request) { r.GVK.Group = "extensions" }, false},
		{"kinds: wildcard", "kinds: [{apiGroups: ['*'], kinds: ['*']}]", nil, true},
		{"kinds: other kind", "kinds: [{apiGroups: ['*'], kinds: [Service]}]", nil, false},
		{"namespaces: listed", "namespaces: [team-a]", nil, true},
		{"namespaces: not listed", "namespaces: [team-b]", nil, false},
		{"namespaces: prefix glob", "namespaces: [team-*]", nil, true},
		{"excludedNamespaces: listed", "excludedNamespaces: [team-a]", nil, false},
		{"excludedNamespaces: prefix glob", "excludedNamespaces: [team-*]", nil, false},
		{"excludedNamespaces: suffix glob", "excludedNamespaces: ['*-a']", nil, false},
		{"excludedNamespaces: other", "excludedNamespaces: [kube-*]", nil, true},
		{"labelSelector: matchLabels", "labelSelector: {matchLabels: {app: web}}",
			func(r *Request) { r.Object.SetLabels(map[string]string{"app": "web"}) }, true},
		{"labelSelector: matchLabels, other value", "labelSelector: {matchLabels: {app: web}}",
			func(r *Request) { r.Object.SetLabels(map[string]string{"app": "api"}) }, false},
		{"labelSelector: matchExpressions", "labelSelector: {matchExpressions: [{key: env, operator: In, values: [prod]}]}",
			func(r *Request) { r.Object.SetLabels(map[string]string{"env": "prod"}) }, true},
		{"labelSelector: no labels", "labelSelector: {matchExpressions: [{key: env, operator: Exists}]}", nil, false},
		{"labelSelector: old object matches on UPDATE", "labelSelector: {matchLabels: {app: web}}",
			func(r *Request) {
				r.Operation = admissionv1.Update
				r.OldObject = r.Object.DeepCopy()
				r.OldObject.SetLabels(map[string]string{"app": "web"})
			}, true},
		{"namespaceSelector: selected", "namespaceSelector: {matchLabels: {tier: prod}}",
			func(r *Request) { r.NamespaceObject = prod }, true},
		{"namespaceSelector: not selected", "namespaceSelector: {matchLabels: {tier: prod}}",
			func(r *Request) { r.NamespaceObject = dev }, false},
		{"namespaceSelector: a Namespace selects itself", "namespaceSelector: {matchLabels: {tier: prod}}",
			func(r *Request) {
				r.Object = namespaceObject("team-a", map[string]string{"tier": "prod"})
				r.GVK, r.Namespace, r.Name = namespaceKind, "", "team-a"
			}, true},
		{"scope: Namespaced", "scope: Namespaced", nil, true},
		{"scope: Cluster", "scope: Cluster", nil, false},
		{"scope: Cluster, Namespace object", "scope: Cluster",
			func(r *Request) {
				r.Object = namespaceObject("team-a", nil)
				r.GVK, r.Namespace, r.Name = namespaceKind, "", "team-a"
			}, true},
		{"scope: *", "scope: '*'", nil, true},
		{"name: exact", "name: web", nil, true},
		{"name: glob", "name: we*", nil, true},
		{"name: other", "name: api", nil, false},
		{"name: with dots", "name: www.example.com",
			func(r *Request) { r.Name = "www.example.com"; r.Object.SetName(r.Name) }, true},
		{"name: suffix glob", "name: '*.example.com'",
			func(r *Request) { r.Name = "www.example.com"; r.Object.SetName(r.Name) }, true},
		{"name: generateName", "name: web-*",
			func(r *Request) { r.Name = ""; r.Object.SetName(""); r.Object.SetGenerateName("web-") }, true},
		{"source: Original", "source: Original", nil, true},
		{"source: Generated", "source: Generated", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, fromYAML(t, requiredLabelsTemplate), requiredLabelsConstraint(t, "c", tc.match, ""))
			req := create(ingress("team-a", "web", nil))
			if tc.mutate != nil {
				tc.mutate(&req)
			}
			got, err := e.Review(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if matched := len(got) > 0; matched != tc.want {
				t.Errorf("matched = %v, want %v; violations: %q", matched, tc.want, summary(got))
			}
		})
	}
}

func namespaceObject(name string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Namespace")
	u.SetName(name)
	u.SetLabels(labels)
	return u
}

// TestNamespaceSelectorNeedsNamespace: without the Namespace the constraint
// cannot tell whether it applies, so the request is refused with a reason,
// until the Namespace is fed through AddData.
func TestNamespaceSelectorNeedsNamespace(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, fromYAML(t, requiredLabelsTemplate),
		requiredLabelsConstraint(t, "c", "namespaceSelector: {matchLabels: {tier: prod}}", ""))
	req := create(ingress("team-a", "web", nil))

	got, err := e.Review(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].EnforcementAction != Deny || !strings.Contains(got[0].Message, `needs Namespace "team-a"`) {
		t.Fatalf("without the Namespace: got %q, want one deny naming the Namespace", summary(got))
	}

	for _, tc := range []struct {
		tier string
		want int
	}{{"prod", 1}, {"dev", 0}} {
		if err := e.AddData(ctx, namespaceObject("team-a", map[string]string{"tier": tc.tier})); err != nil {
			t.Fatal(err)
		}
		got, err = e.Review(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want {
			t.Errorf("Namespace tier=%s fed through AddData: got %q, want %d violations", tc.tier, summary(got), tc.want)
		}
	}

	if err := e.RemoveData(ctx, namespaceObject("team-a", nil)); err != nil {
		t.Fatal(err)
	}
	if got, _ = e.Review(ctx, req); len(got) != 1 || !strings.Contains(got[0].Message, "needs Namespace") {
		t.Errorf("after RemoveData: got %q, want the Namespace to be needed again", summary(got))
	}
}

func TestEnforcementAction(t *testing.T) {
	scoped := func(point string, actions ...string) func(*unstructured.Unstructured) {
		return func(u *unstructured.Unstructured) {
			var scoped []interface{}
			for _, a := range actions {
				scoped = append(scoped, map[string]interface{}{
					"action":            a,
					"enforcementPoints": []interface{}{map[string]interface{}{"name": point}},
				})
			}
			_ = unstructured.SetNestedField(u.Object, "scoped", "spec", "enforcementAction")
			_ = unstructured.SetNestedSlice(u.Object, scoped, "spec", "scopedEnforcementActions")
		}
	}
	for _, tc := range []struct {
		name   string
		action string
		scoped func(*unstructured.Unstructured)
		want   []EnforcementAction // nil: not reported at all
	}{
		{"default is deny", "", nil, []EnforcementAction{Deny}},
		{"deny", "deny", nil, []EnforcementAction{Deny}},
		{"warn", "warn", nil, []EnforcementAction{Warn}},
		{"dryrun", "dryrun", nil, []EnforcementAction{DryRun}},
		{"scoped to the webhook", "", scoped("validation.gatekeeper.sh", "warn"), []EnforcementAction{Warn}},
		{"scoped to all points", "", scoped("*", "dryrun"), []EnforcementAction{DryRun}},
		{"scoped: the most severe action wins", "", scoped("*", "warn", "deny", "dryrun"), []EnforcementAction{Deny}},
		{"scoped to audit only", "", scoped("audit.gatekeeper.sh", "deny"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := requiredLabelsConstraint(t, "c", "", tc.action)
			if tc.scoped != nil {
				tc.scoped(c)
			}
			e := newEngine(t, fromYAML(t, requiredLabelsTemplate), c)
			got, err := e.Review(context.Background(), create(ingress("team-a", "web", nil)))
			if err != nil {
				t.Fatal(err)
			}
			var actions []EnforcementAction
			for _, v := range got {
				actions = append(actions, v.EnforcementAction)
			}
			if !reflect.DeepEqual(actions, tc.want) {
				t.Errorf("actions = %v, want %v", actions, tc.want)
			}
		})
	}
}

func TestBadConstraints(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(*unstructured.Unstructured)
		wantErr string
	}{
		{"unknown enforcement action", func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "block", "spec", "enforcementAction")
		}, `unsupported spec.enforcementAction "block"`},
		{"scoped without actions", func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "scoped", "spec", "enforcementAction")
		}, "needs spec.scopedEnforcementActions"},
		{"unknown match field", func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedStringSlice(u.Object, []string{"x"}, "spec", "match", "excludedNamespace")
		}, "excludedNamespace"},
		{"scoped with an unknown action", func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "scoped", "spec", "enforcementAction")
			_ = unstructured.SetNestedSlice(u.Object, []interface{}{map[string]interface{}{"action": "block"}}, "spec", "scopedEnforcementActions")
		}, `unsupported action "block"`},
		{"bad namespace pattern", func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedStringSlice(u.Object, []string{"Team_A"}, "spec", "match", "namespaces")
		}, "spec.match.namespaces"},
		{"bad scope", func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "cluster", "spec", "match", "scope")
		}, "scope"},
		{"bad selector operator", func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedSlice(u.Object, []interface{}{map[string]interface{}{"key": "a", "operator": "Equals"}},
				"spec", "match", "labelSelector", "matchExpressions")
		}, "operator"},
		{"parameters not in the template's schema", func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "x", "spec", "parameters", "labelz")
		}, "labelz"},
		{"unknown template", func(u *unstructured.Unstructured) { u.SetKind("K8sNoSuchThing") }, "k8snosuchthing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, fromYAML(t, requiredLabelsTemplate))
			c := requiredLabelsConstraint(t, "bad", "", "")
			tc.mutate(c)
			err := e.AddConstraint(context.Background(), c)
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestBadTemplates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(string) string
		wantErr string
	}{
		{"rego syntax error", func(y string) string {
			return strings.Replace(y, "regex.match(required.allowedRegex, value)", "regex.match(required.allowedRegex, value", 1)
		}, "rego_parse_error"},
		{"rego that does not compile", func(y string) string {
			return strings.Replace(y, "regex.match(", "no_such_function(", 1)
		}, "no_such_function"},
		{"http.send is disabled", func(y string) string {
			return strings.Replace(y, "regex.match(required.allowedRegex, value)", `http.send({"method": "get", "url": value})`, 1)
		}, "http.send"},
		{"not v1", func(y string) string {
			return strings.Replace(y, "templates.gatekeeper.sh/v1", "templates.gatekeeper.sh/v1beta1", 1)
		}, "want templates.gatekeeper.sh/v1"},
		{"no violation rule", func(y string) string {
			return strings.ReplaceAll(y, "violation[", "deny[")
		}, "violation"},
		{"other target", func(y string) string {
			return strings.Replace(y, "admission.k8s.gatekeeper.sh", "admission.example.com", 1)
		}, "admission.example.com"},
		{"kind does not match name", func(y string) string {
			return strings.Replace(y, "kind: K8sRequiredLabels", "kind: K8sRequiredLabelz", 1)
		}, "k8srequiredlabelz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t)
			err := e.AddTemplate(context.Background(), fromYAML(t, tc.mutate(requiredLabelsTemplate)))
			if err == nil {
				t.Fatal("AddTemplate succeeded, want an error")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), `ConstraintTemplate "k8srequiredlabels"`) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to name the template and mention %q", err, tc.wantErr)
			}
		})
	}
}

// echoTemplate reports what a template sees of the request, to pin down the
// shape of input.review, input.parameters and data.inventory.
const echoTemplate = `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8secho
spec:
  crd:
    spec:
      names:
        kind: K8sEcho
      validation:
        openAPIV3Schema:
          type: object
          properties:
            greeting: {type: string}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8secho

      violation[{"msg": msg}] {
        r := input.review
        old := object.get(r, ["oldObject", "metadata", "name"], "-")
        tier := object.get(r, ["namespaceObject", "metadata", "labels", "tier"], "-")
        synced := object.get(data.inventory, ["cluster", "v1", "Namespace", r.namespace, "metadata", "name"], "-")
        msg := sprintf("%v %v %v %v/%v/%v %v/%v object=%v old=%v dryRun=%v tier=%v synced=%v %v", [
          r.operation, r.userInfo.username, r.userInfo.groups,
          r.kind.group, r.kind.version, r.kind.kind, r.namespace, r.name,
          r.object.metadata.name, old, r.dryRun, tier, synced, input.parameters.greeting])
      }
`

func TestReviewInput(t *testing.T) {
	echo := fromYAML(t, `
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sEcho
metadata: {name: echo}
spec:
  parameters: {greeting: hello}
`)
	user := authenticationv1.UserInfo{Username: "alice", Groups: []string{"devs"}}
	web := ingress("team-a", "web", nil)
	renamed := ingress("team-a", "web", nil)
	renamed.SetName("web-old") // lets the old object be told apart
	prod := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"tier": "prod"}}}

	for _, tc := range []struct {
		name   string
		synced bool // whether Namespace team-a (tier=dev) was fed through AddData
		req    Request
		want   string
	}{
		{"create", false,
			Request{Operation: admissionv1.Create, Object: web, GVK: ingressGVK, Namespace: "team-a", Name: "web", UserInfo: user, DryRun: true},
			"CREATE alice [\"devs\"] networking.k8s.io/v1/Ingress team-a/web object=web old=- dryRun=true tier=- synced=- hello"},
		{"update", false,
			Request{Operation: admissionv1.Update, Object: web, OldObject: renamed, GVK: ingressGVK, Namespace: "team-a", Name: "web", UserInfo: user},
			"UPDATE alice [\"devs\"] networking.k8s.io/v1/Ingress team-a/web object=web old=web-old dryRun=false tier=- synced=- hello"},
		{"delete shows the old object as object", false,
			Request{Operation: admissionv1.Delete, OldObject: renamed, GVK: ingressGVK, Namespace: "team-a", Name: "web-old", UserInfo: user},
			"DELETE alice [\"devs\"] networking.k8s.io/v1/Ingress team-a/web-old object=web-old old=web-old dryRun=false tier=- synced=- hello"},
		{"kind and namespace default to the object's", false,
			Request{Operation: admissionv1.Create, Object: web, Name: "web", UserInfo: user},
			"CREATE alice [\"devs\"] networking.k8s.io/v1/Ingress team-a/web object=web old=- dryRun=false tier=- synced=- hello"},
		{"namespace object from the request", false,
			Request{Operation: admissionv1.Create, Object: web, Name: "web", UserInfo: user, NamespaceObject: prod},
			"CREATE alice [\"devs\"] networking.k8s.io/v1/Ingress team-a/web object=web old=- dryRun=false tier=prod synced=- hello"},
		{"namespace object from the inventory", true,
			Request{Operation: admissionv1.Create, Object: web, Name: "web", UserInfo: user},
			"CREATE alice [\"devs\"] networking.k8s.io/v1/Ingress team-a/web object=web old=- dryRun=false tier=dev synced=team-a hello"},
		{"the request's namespace object wins", true,
			Request{Operation: admissionv1.Create, Object: web, Name: "web", UserInfo: user, NamespaceObject: prod},
			"CREATE alice [\"devs\"] networking.k8s.io/v1/Ingress team-a/web object=web old=- dryRun=false tier=prod synced=team-a hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objects := []*unstructured.Unstructured{fromYAML(t, echoTemplate), echo}
			if tc.synced {
				objects = append(objects, namespaceObject("team-a", map[string]string{"tier": "dev"}))
			}
			e := newEngine(t, objects...)
			got, err := e.Review(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"deny K8sEcho/echo: " + tc.want}
			if !reflect.DeepEqual(summary(got), want) {
				t.Errorf("got  %q\nwant %q", summary(got), want)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	e := newEngine(t, fromYAML(t, requiredLabelsTemplate), requiredLabelsConstraint(t, "c", "", ""))
	for _, tc := range []struct {
		name string
		req  Request
	}{
		{"create without object", Request{Operation: admissionv1.Create, GVK: ingressGVK}},
		{"delete without old object", Request{Operation: admissionv1.Delete, Object: ingress("a", "b", nil), GVK: ingressGVK}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.Review(context.Background(), tc.req); err == nil {
				t.Error("Review succeeded, want an error")
			}
		})
	}
}

// TestTemplateOperations: a template limited to some operations is skipped
// for the others, as at Gatekeeper's webhook.
func TestTemplateOperations(t *testing.T) {
	templ := fromYAML(t, requiredLabelsTemplate)
	targets, _, _ := unstructured.NestedSlice(templ.Object, "spec", "targets")
	targets[0].(map[string]interface{})["operations"] = []interface{}{"CREATE"}
	_ = unstructured.SetNestedSlice(templ.Object, targets, "spec", "targets")
	e := newEngine(t, templ, requiredLabelsConstraint(t, "c", "", ""))

	for _, tc := range []struct {
		op   admissionv1.Operation
		want int
	}{{admissionv1.Create, 1}, {admissionv1.Update, 0}} {
		req := create(ingress("team-a", "web", nil))
		req.Operation = tc.op
		req.OldObject = req.Object
		got, err := e.Review(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want {
			t.Errorf("%s: got %q, want %d violations", tc.op, summary(got), tc.want)
		}
	}
}

// TestRemove: removing a constraint or its template stops it applying, and
// a removed template takes its constraints with it.
func TestRemove(t *testing.T) {
	ctx := context.Background()
	req := create(ingress("team-a", "web", nil))
	count := func(e *Engine) int {
		t.Helper()
		got, err := e.Review(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	e := newEngine(t, fromYAML(t, requiredLabelsTemplate), requiredLabelsConstraint(t, "a", "", ""), requiredLabelsConstraint(t, "b", "", ""))
	if n := count(e); n != 2 {
		t.Fatalf("two constraints: %d violations, want 2", n)
	}
	if err := e.RemoveConstraint(ctx, "K8sRequiredLabels", "a"); err != nil {
		t.Fatal(err)
	}
	if n := count(e); n != 1 {
		t.Errorf("after RemoveConstraint: %d violations, want 1", n)
	}
	if err := e.RemoveTemplate(ctx, "k8srequiredlabels"); err != nil {
		t.Fatal(err)
	}
	if n := count(e); n != 0 {
		t.Errorf("after RemoveTemplate: %d violations, want 0", n)
	}
	if err := e.AddTemplate(ctx, fromYAML(t, requiredLabelsTemplate)); err != nil {
		t.Fatal(err)
	}
	if n := count(e); n != 0 {
		t.Errorf("template re-added: %d violations, want 0 (its constraints went with it)", n)
	}
	for _, err := range []error{
		e.RemoveConstraint(ctx, "K8sRequiredLabels", "never-added"),
		e.RemoveTemplate(ctx, "never-added"),
		e.RemoveData(ctx, ingress("team-a", "never-added", nil)),
	} {
		if err != nil {
			t.Errorf("removing something absent: %v", err)
		}
	}
}

// TestAddConstraintLeavesArgumentAlone: the framework defaults parameters in
// the object it is given; callers may pass objects they share.
func TestAddConstraintLeavesArgumentAlone(t *testing.T) {
	e := newEngine(t, fromYAML(t, requiredLabelsTemplate))
	c := requiredLabelsConstraint(t, "c", "", "")
	before := c.DeepCopy()
	if err := e.AddConstraint(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, before) {
		t.Errorf("AddConstraint modified its argument:\n%v\nwas\n%v", c.Object, before.Object)
	}
}

func TestBadData(t *testing.T) {
	e := newEngine(t)
	noKind := ingress("team-a", "web", nil)
	noKind.SetAPIVersion("")
	noKind.SetKind("")
	for _, tc := range []struct {
		name string
		obj  *unstructured.Unstructured
	}{
		{"no apiVersion or kind", noKind},
		{"no name", ingress("team-a", "", nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.AddData(context.Background(), tc.obj)
			if err == nil || !strings.Contains(err.Error(), "needs apiVersion, kind and metadata.name") {
				t.Errorf("err = %v, want it to say what the object lacks", err)
			}
		})
	}
}
