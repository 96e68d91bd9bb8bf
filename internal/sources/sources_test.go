package sources

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/atrium-dev/atrium/internal/procs"
)

func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// kindObject is the source of a kind and an object of it named x, from
// YAML.
func kindObject(t *testing.T, gk schema.GroupKind, y string) (Source, *unstructured.Unstructured) {
	t.Helper()
	s, ok := For(gk)
	if !ok {
		t.Fatalf("no source for %s", gk)
	}
	o := obj(t, y)
	o.SetGroupVersionKind(s.Kind().GroupVersionKind)
	o.SetName("x")
	return s, o
}

func TestHostnames(t *testing.T) {
	seen := map[schema.GroupKind]bool{}
	for _, tc := range []struct {
		name string
		gk   schema.GroupKind
		yaml string
		want []string
		err  bool
	}{
		{"ingress rules and tls", schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}, `
spec:
  rules:
  - host: a.example.org
  - http: {}
  - host: b.example.org
  tls:
  - hosts: [a.example.org, c.example.org]
  - secretName: x`, []string{"a.example.org", "b.example.org", "a.example.org", "c.example.org"}, false},
		{"ingress without hosts", schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}, `
spec:
  defaultBackend: {service: {name: x}}`, nil, false},
		{"ingress malformed rules", schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}, `
spec:
  rules: [5]`, nil, true},
		{"httproute", schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}, `
spec:
  hostnames: [a.example.org, "*.b.example.org"]`, []string{"a.example.org", "*.b.example.org"}, false},
		{"route", schema.GroupKind{Group: "route.openshift.io", Kind: "Route"}, `
spec:
  host: www.example.org`, []string{"www.example.org"}, false},
		{"route with subdomain wildcard policy", schema.GroupKind{Group: "route.openshift.io", Kind: "Route"}, `
spec:
  host: www.apps.example.org
  wildcardPolicy: Subdomain`, []string{"*.apps.example.org"}, false},
		{"route without host", schema.GroupKind{Group: "route.openshift.io", Kind: "Route"}, `
spec:
  to: {kind: Service, name: x}`, nil, false},
		{"dnsendpoint", schema.GroupKind{Group: "externaldns.k8s.io", Kind: "DNSEndpoint"}, `
spec:
  endpoints:
  - dnsName: a.example.org
    recordType: A
    targets: [192.0.2.1]
  - dnsName: b.example.org`, []string{"a.example.org", "b.example.org"}, false},
		{"gitlab pages site", schema.GroupKind{Group: "pages.atrium.dev", Kind: "GitLabPagesSite"}, `
spec:
  hostname: docs.example.org
  project: group/docs`, []string{"docs.example.org"}, false},
		{"gateway listeners", schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "Gateway"}, `
spec:
  gatewayClassName: x
  listeners:
  - {name: a, hostname: a.example.org, port: 443, protocol: HTTPS}
  - {name: any, port: 80, protocol: HTTP}`, []string{"a.example.org"}, false},
	} {
		seen[tc.gk] = true
		t.Run(tc.name, func(t *testing.T) {
			s, o := kindObject(t, tc.gk, tc.yaml)
			got, err := s.Hostnames(o)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v", err)
			}
			if !tc.err && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			// What a cache keeps of the object answers alike, errors too.
			slim := Slim(s, o)
			got, err = slimHostnamesOf(s, slim)
			if (err != nil) != tc.err || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
				t.Fatalf("slim %v: got %q, %v; want %q", slim.Object, got, err, tc.want)
			}
			wantNames, wantInvalid, wantErr := Names(s, o)
			gotNames, gotInvalid, gotErr := CachedNames(s, slim)
			if !reflect.DeepEqual(gotNames, wantNames) || !reflect.DeepEqual(gotInvalid, wantInvalid) || (gotErr != nil) != (wantErr != nil) {
				t.Fatalf("Names of the slim object: %v %v %v; of the object: %v %v %v", gotNames, gotInvalid, gotErr, wantNames, wantInvalid, wantErr)
			}
			if _, hasSpec := slim.Object["spec"]; hasSpec {
				t.Fatalf("the slim object keeps a spec: %v", slim.Object)
			}
			// Slim again changes nothing: client-go's caches may pass an
			// object through their transform twice (a watch-list's items).
			if again := Slim(s, slim.DeepCopy()); !reflect.DeepEqual(again.Object, slim.Object) {
				t.Fatalf("slim twice %v, once %v", again.Object, slim.Object)
			}
		})
	}
	for _, s := range All() {
		if !seen[s.Kind().GroupKind()] {
			t.Errorf("no case for %s: each kind's Hostnames and Slim are checked here", s.Kind().GroupKind())
		}
	}
}

func TestRegistry(t *testing.T) {
	var kinds []string
	for _, s := range All() {
		k := s.Kind()
		if k.Resource == "" || k.Version == "" {
			t.Errorf("%s: resource and version are needed for the webhook rules", k.GroupKind())
		}
		kinds = append(kinds, k.GroupVersionKind.Kind)
	}
	want := []string{"DNSEndpoint", "Gateway", "HTTPRoute", "Ingress", "GitLabPagesSite", "Route"}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a kind twice did not panic")
		}
	}()
	Register(ingress{})
}

func TestCatchAll(t *testing.T) {
	ingress := schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}
	httpRoute := schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}
	route := schema.GroupKind{Group: "route.openshift.io", Kind: "Route"}
	endpoint := schema.GroupKind{Group: "externaldns.k8s.io", Kind: "DNSEndpoint"}
	gateway := schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "Gateway"}
	for _, tc := range []struct {
		name string
		gk   schema.GroupKind
		yaml string
		want string // fragment; "" when the object names every hostname it serves
	}{
		{"ingress with hosts", ingress, `
spec:
  rules: [{host: a.example.org}, {host: b.example.org}]`, ""},
		{"ingress rule without host", ingress, `
spec:
  rules: [{host: a.example.org}, {http: {}}]`, "spec.rules[1] has no host"},
		{"ingress rule with an empty host", ingress, `
spec:
  rules: [{host: ""}]`, "spec.rules[0] has no host"},
		{"ingress default backend", ingress, `
spec:
  defaultBackend: {service: {name: x}}`, "spec.defaultBackend"},
		{"ingress default backend and hosts", ingress, `
spec:
  defaultBackend: {service: {name: x}}
  rules: [{host: a.example.org}]`, "spec.defaultBackend"},
		{"empty ingress", ingress, `spec: {}`, ""},
		{"httproute with hostnames", httpRoute, `
spec:
  hostnames: [a.example.org]`, ""},
		{"httproute without hostnames", httpRoute, `
spec:
  parentRefs: [{name: gw}]`, "spec.hostnames is empty"},
		{"httproute with an empty list", httpRoute, `
spec:
  hostnames: []`, "spec.hostnames is empty"},
		{"route with host", route, `
spec:
  host: a.example.org`, ""},
		{"route with subdomain", route, `
spec:
  subdomain: shop`, "spec.subdomain"},
		{"dnsendpoint", endpoint, `
spec:
  endpoints: [{dnsName: a.example.org}]`, ""},
		{"gateway with listener hostnames", gateway, `
spec:
  listeners: [{name: web, protocol: HTTPS, hostname: "*.a.example.org"}]`, ""},
		{"gateway listener without hostname", gateway, `
spec:
  listeners: [{name: web, protocol: HTTPS, hostname: a.example.org}, {name: all, protocol: HTTP}]`, "spec.listeners[1] (all) has no hostname"},
		{"gateway TCP listener without hostname (hostnames do not apply)", gateway, `
spec:
  listeners: [{name: db, protocol: TCP, port: 5432}]`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := For(tc.gk)
			if !ok {
				t.Fatalf("no source for %s", tc.gk)
			}
			got, err := s.CatchAll(obj(t, tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("CatchAll = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGatewayHostnamesAreClaimedNotPublished(t *testing.T) {
	gk := schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "Gateway"}
	s, ok := For(gk)
	if !ok {
		t.Fatal("no Gateway source")
	}
	got, err := s.Hostnames(obj(t, `
spec:
  listeners: [{name: a, hostname: "*.a.example.org"}, {name: b}, {name: c, hostname: c.example.org}]`))
	if err != nil || !reflect.DeepEqual(got, []string{"*.a.example.org", "c.example.org"}) {
		t.Fatalf("Hostnames = %v, %v", got, err)
	}
	if !TenantOnly(s) {
		t.Error("the platform's Gateways would claim their listeners' hostnames")
	}
	if c, ok := s.(claimOnly); !ok || !c.ClaimOnly() {
		t.Error("the DNS operator would publish a Gateway's listener hostnames")
	}
}

func TestDNSEndpointRecordTypesForTenants(t *testing.T) {
	s, _ := For(schema.GroupKind{Group: "externaldns.k8s.io", Kind: "DNSEndpoint"})
	for _, tc := range []struct{ yaml, want string }{
		{`spec: {endpoints: [{dnsName: a.example.org, recordType: A}, {dnsName: b.example.org, recordType: cname}]}`, ""},
		{`spec: {endpoints: [{dnsName: a.example.org}]}`, ""},
		{`spec: {endpoints: [{dnsName: a.example.org, recordType: A}, {dnsName: a.example.org, recordType: NS}]}`, "spec.endpoints[1] asks for a NS record"},
		{`spec: {endpoints: [{dnsName: a.example.org, recordType: SOA}]}`, "a SOA record"},
		{`spec: {endpoints: [{dnsName: a.example.org, recordType: TXT}]}`, "a TXT record"},
	} {
		got, err := TenantRefusal(s, obj(t, tc.yaml))
		if err != nil || (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: TenantRefusal = %q, %v; want %q", tc.yaml, got, err, tc.want)
		}
	}
	ing, _ := For(schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"})
	if got, _ := TenantRefusal(ing, obj(t, `spec: {}`)); got != "" {
		t.Errorf("an Ingress has a tenant refusal: %q", got)
	}
}

// TestEveryKindIsAdmittedAndRead checks the generated manifests against
// the registry: each kind's file carries its webhook rule and the right to
// read it, and `make manifests` put them where the components get them.
func TestEveryKindIsAdmittedAndRead(t *testing.T) {
	read := func(path string) []map[string]any {
		b, err := os.ReadFile(filepath.Join("..", "..", path))
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]any
		for _, doc := range strings.Split(string(b), "\n---\n") {
			m := map[string]any{}
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				t.Fatal(err)
			}
			if len(m) > 0 {
				out = append(out, m)
			}
		}
		return out
	}
	type gvr struct{ group, version, resource string }
	admitted := map[gvr]bool{}
	for _, cfg := range read("webhooks/hostnames/config/webhook/manifests.yaml") {
		hooks, _, _ := unstructured.NestedSlice(cfg, "webhooks")
		for _, h := range hooks {
			rules, _, _ := unstructured.NestedSlice(h.(map[string]any), "rules")
			for _, r := range rules {
				r := r.(map[string]any)
				groups, _, _ := unstructured.NestedStringSlice(r, "apiGroups")
				versions, _, _ := unstructured.NestedStringSlice(r, "apiVersions")
				resources, _, _ := unstructured.NestedStringSlice(r, "resources")
				for _, g := range groups {
					for _, v := range versions {
						for _, res := range resources {
							admitted[gvr{g, v, res}] = true
						}
					}
				}
			}
		}
	}
	readable := func(path string) map[[2]string]bool {
		out := map[[2]string]bool{}
		for _, role := range read(path) {
			rules, _, _ := unstructured.NestedSlice(role, "rules")
			for _, r := range rules {
				r := r.(map[string]any)
				groups, _, _ := unstructured.NestedStringSlice(r, "apiGroups")
				resources, _, _ := unstructured.NestedStringSlice(r, "resources")
				verbs, _, _ := unstructured.NestedStringSlice(r, "verbs")
				if !slices.Contains(verbs, "list") || !slices.Contains(verbs, "watch") || !slices.Contains(verbs, "get") {
					continue
				}
				for _, g := range groups {
					for _, res := range resources {
						out[[2]string{g, res}] = true
					}
				}
			}
		}
		return out
	}
	byWebhook := readable("webhooks/hostnames/config/rbac/role.yaml")
	byDNS := readable("operators/dns/config/rbac/role.yaml")
	for _, s := range All() {
		k := s.Kind()
		if !admitted[gvr{k.Group, k.Version, k.Resource}] {
			t.Errorf("%s: no hostnames webhook rule for %s/%s %s", k.GroupKind(), k.Group, k.Version, k.Resource)
		}
		if !byWebhook[[2]string{k.Group, k.Resource}] {
			t.Errorf("%s: the hostnames webhook cannot read %s", k.GroupKind(), k.Resource)
		}
		if !byDNS[[2]string{k.Group, k.Resource}] {
			t.Errorf("%s: the DNS operator cannot read %s", k.GroupKind(), k.Resource)
		}
	}
}

// Admission never reads an object as slim, and a cache does not take an
// object with a spec for one: an object that carries the slim fields (no
// source kind has them; a CRD that kept unknown fields might) is read for
// its spec's hostnames, so it cannot hide them.
func TestNamesNeverReadTheSlimFields(t *testing.T) {
	s, _ := For(schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"})
	o := obj(t, `
spec:
  rules: [{host: victim.example.org}]`)
	o.Object[slimHostnames] = []any{"mine.example.org"}
	got, _, err := Names(s, o)
	if err != nil || len(got) != 1 || got[0].String() != "victim.example.org" {
		t.Fatalf("Names = %v, %v; want the spec's victim.example.org", got, err)
	}
	o.Object[slimError] = "no hostnames"
	if got, _, err := Names(s, o); err != nil || len(got) != 1 {
		t.Fatalf("Names = %v, %v; the slim error field hid the spec", got, err)
	}
	// Nor does a cache: an object with a spec is read by its kind.
	if got, _, err := CachedNames(s, Slim(s, o)); err != nil || len(got) != 1 || got[0].String() != "victim.example.org" {
		t.Fatalf("CachedNames of its slim copy = %v, %v; want the spec's victim.example.org", got, err)
	}
}

// BenchmarkSlim reports the memory a cache keeps for one Ingress, whole
// and slim (retained-B/object), the figure behind the hostnames webhook's
// memory at 100,000 Ingresses.
func BenchmarkSlim(b *testing.B) {
	s, _ := For(schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"})
	whole := func(i int) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
			"metadata": map[string]any{
				"name": fmt.Sprintf("site-%07d", i), "namespace": fmt.Sprintf("project-%03d", i%100),
				"uid": fmt.Sprintf("%08d-1c5e-4a4b-9d52-7f1e0b2a9c3d", i), "resourceVersion": fmt.Sprint(1000000 + i),
				"generation": int64(1), "creationTimestamp": "2026-12-02T10:00:00Z",
			},
			"spec": map[string]any{"rules": []any{map[string]any{
				"host": fmt.Sprintf("site-%07d.apps.example.org", i),
				"http": map[string]any{"paths": []any{map[string]any{"path": "/", "pathType": "Prefix",
					"backend": map[string]any{"service": map[string]any{"name": "web", "port": map[string]any{"number": int64(80)}}}}}},
			}}},
			"status": map[string]any{"loadBalancer": map[string]any{}},
		}}
		return u
	}
	for _, tc := range []struct {
		name string
		keep func(*unstructured.Unstructured) *unstructured.Unstructured
	}{
		{"whole", func(u *unstructured.Unstructured) *unstructured.Unstructured { return u }},
		{"slim", func(u *unstructured.Unstructured) *unstructured.Unstructured { return Slim(s, u) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			kept := make([]*unstructured.Unstructured, b.N)
			before := procs.LiveHeap()
			for i := range kept {
				kept[i] = tc.keep(whole(i))
			}
			b.ReportMetric(float64(procs.LiveHeap()-before)/float64(b.N), "retained-B/object")
			runtime.KeepAlive(kept)
		})
	}
}
