package sources

import (
	"encoding/json"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// What the DNS operator's cache keeps of an object (SlimRecords) asks for
// the same records as the object (CachedRecords against Records), for
// every kind; Ingresses and Routes are kept without their spec and status,
// every other kind whole; and slimming again changes nothing.
func TestSlimRecords(t *testing.T) {
	fronts := Fronts{
		Defaults: []string{"192.0.2.99"},
		Parents: map[schema.GroupKind]map[string][]string{
			{Group: "gateway.networking.k8s.io", Kind: "Gateway"}: {"site/gw": {"192.0.2.7"}},
		},
	}
	ingress := schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}
	route := schema.GroupKind{Group: "route.openshift.io", Kind: "Route"}
	for _, tc := range []struct {
		name string
		gk   schema.GroupKind
		yaml string
		slim bool
	}{
		{"ingress with a load balancer", ingress, `
metadata: {namespace: site, uid: u1, resourceVersion: "7", labels: {app: www}, annotations: {note: x}}
spec:
  rules:
  - host: www.example.org
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
  tls: [{hosts: [www.example.org, Other.Example.org]}]
status:
  loadBalancer: {ingress: [{ip: 192.0.2.1}, {hostname: lb.example.net}, {ip: 192.0.2.1}]}`, true},
		{"ingress without status: the cluster's defaults", ingress, `
metadata: {namespace: site, uid: u2, resourceVersion: "8"}
spec: {rules: [{host: www.example.org}]}`, true},
		{"ingress with an invalid hostname", ingress, `
metadata: {namespace: site, uid: u3, resourceVersion: "9"}
spec: {rules: [{host: "bad_name.example.org"}, {host: good.example.org}]}`, true},
		{"ingress being deleted", ingress, `
metadata: {namespace: site, uid: u4, resourceVersion: "10", deletionTimestamp: "2026-12-04T10:00:00Z", finalizers: [x]}
spec: {rules: [{host: www.example.org}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}`, true},
		{"ingress with a malformed spec", ingress, `
metadata: {namespace: site, uid: u5, resourceVersion: "11"}
spec: {rules: {host: www.example.org}}`, true},
		{"route admitted by two routers", route, `
metadata: {namespace: site, uid: u6, resourceVersion: "12"}
spec: {host: app.example.org, to: {kind: Service, name: x}}
status: {ingress: [{routerCanonicalHostname: router-a.example.net}, {routerCanonicalHostname: router-b.example.net}]}`, true},
		{"httproute: its Gateway's addresses", schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}, `
metadata: {namespace: site, uid: u7, resourceVersion: "13"}
spec: {hostnames: [api.example.org], parentRefs: [{name: gw}]}`, false},
		{"dnsendpoint", schema.GroupKind{Group: "externaldns.k8s.io", Kind: "DNSEndpoint"}, `
metadata: {namespace: site, uid: u8, resourceVersion: "14"}
spec: {endpoints: [{dnsName: a.example.org, recordType: A, targets: [192.0.2.1]}]}`, false},
		{"gitlab pages site", schema.GroupKind{Group: "pages.atrium.dev", Kind: "GitLabPagesSite"}, `
metadata: {namespace: site, uid: u9, resourceVersion: "15"}
spec: {hostname: docs.example.org, project: group/docs}
status: {verificationCode: abc}`, false},
		{"gateway", schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "Gateway"}, `
metadata: {namespace: site, uid: u10, resourceVersion: "16"}
spec: {gatewayClassName: x, listeners: [{name: a, hostname: a.example.org, port: 443, protocol: HTTPS}]}
status: {addresses: [{value: 192.0.2.7}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, o := kindObject(t, tc.gk, tc.yaml)
			want, wantInvalid, wantErr := Records(s, o.DeepCopy(), fronts)
			slim := SlimRecords(s, o.DeepCopy())
			got, gotInvalid, gotErr := CachedRecords(s, slim, fronts)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotInvalid, wantInvalid) || (gotErr != nil) != (wantErr != nil) {
				t.Fatalf("records of the cached copy %v %v %v; of the object %v %v %v", got, gotInvalid, gotErr, want, wantInvalid, wantErr)
			}
			_, hasSpec := slim.Object["spec"]
			_, hasStatus := slim.Object["status"]
			if tc.slim && (hasSpec || hasStatus || slim.GetLabels() != nil || slim.GetAnnotations() != nil) {
				t.Fatalf("the cached copy keeps more than its identity, hostnames and targets: %v", slim.Object)
			}
			if !tc.slim && !reflect.DeepEqual(slim.Object, o.Object) {
				t.Fatalf("a %s is cached whole, but its copy is %v", tc.gk.Kind, slim.Object)
			}
			if slim.GetUID() != o.GetUID() || slim.GetResourceVersion() != o.GetResourceVersion() || slim.GetNamespace() != o.GetNamespace() ||
				slim.GetName() != o.GetName() || slim.GroupVersionKind() != o.GroupVersionKind() {
				t.Fatalf("the cached copy lost the object's identity: %v", slim.Object)
			}
			// The cache copies what it hands out, and may pass an object
			// through its transform twice: both keep the same answers.
			copied := slim.DeepCopy()
			again := SlimRecords(s, copied)
			if !reflect.DeepEqual(again.Object, slim.Object) {
				t.Fatalf("slim twice %v, once %v", again.Object, slim.Object)
			}
		})
	}
}

// A tenant whose kind keeps unknown fields (a CRD that preserves them, as
// a stand-in Route might) cannot make a cache take its object for a slim
// copy: one without a spec that carries the slim fields, mark and all, as
// an API server's answer decodes them, names no hostname and no target.
func TestAForgedSlimCopyNamesNothing(t *testing.T) {
	s, _ := For(schema.GroupKind{Group: "route.openshift.io", Kind: "Route"})
	forged := map[string]any{
		"apiVersion": "route.openshift.io/v1", "kind": "Route",
		"metadata":    map[string]any{"name": "x", "namespace": "mallory", "uid": "u1", "resourceVersion": "1"},
		slimMark:      1,
		slimHostnames: []any{"victim.example.org"},
		slimTargets:   []any{"evil.example.net"},
	}
	raw, err := json.Marshal(forged)
	if err != nil {
		t.Fatal(err)
	}
	// Decoded as the cache decodes an API server's answer.
	decoded, _, err := unstructured.UnstructuredJSONScheme.Decode(raw, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := decoded.(*unstructured.Unstructured)
	for name, o := range map[string]*unstructured.Unstructured{"as decoded": u, "after the cache's transform": SlimRecords(s, u.DeepCopy())} {
		if names, _, err := CachedNames(s, o); err != nil || len(names) != 0 {
			t.Errorf("%s: CachedNames = %v, %v; want none", name, names, err)
		}
		if recs, _, err := CachedRecords(s, o, Fronts{Defaults: []string{"192.0.2.99"}}); err != nil || len(recs) != 0 {
			t.Errorf("%s: CachedRecords = %v, %v; want none", name, recs, err)
		}
	}
	// And the mark survives the cache's copies of a real slim copy.
	real := SlimRecords(s, obj(t, `
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: y, namespace: site, uid: u2, resourceVersion: "2"}
spec: {host: app.example.org}
status: {ingress: [{routerCanonicalHostname: router.example.net}]}`))
	copied := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(real.Object)}
	recs, _, err := CachedRecords(s, copied, Fronts{})
	if err != nil || len(recs) != 1 || recs[0].Host.Name != "app.example.org" || !reflect.DeepEqual(recs[0].Targets, []string{"router.example.net"}) {
		t.Fatalf("records of a copied slim copy = %v, %v", recs, err)
	}
}
