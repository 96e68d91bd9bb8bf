package wiring

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/sources"
)

// The cache keeps of a source object what the claims releaser decides
// from: the same hostnames before and after, its identity
// (a replaced object under the same name must not pass for the admitted
// one), and none of the bulk.
func TestCacheTransformKeepsWhatTheReleaserReads(t *testing.T) {
	for _, doc := range []string{`
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: site
  namespace: web
  uid: u-1
  resourceVersion: "42"
  labels: {app: site}
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{...}"}
  managedFields: [{manager: kubectl, operation: Apply}]
  deletionTimestamp: "2026-12-02T10:00:00Z"
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
  rules:
  - host: www.example.org
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
  tls: [{hosts: [tls.example.org], secretName: cert}]
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}
`, `
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: shop, namespace: web, uid: u-2, resourceVersion: "7", annotations: {a: b}}
spec: {host: www.shop.example.org, wildcardPolicy: Subdomain, to: {kind: Service, name: shop}}
status: {ingress: [{routerCanonicalHostname: router.example.org}]}
`, `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: web, uid: u-3, resourceVersion: "9"}
spec: {parentRefs: [{name: gw}]}
status: {parents: [{parentRef: {name: gw}, controllerName: example.org/gw}]}
`} {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		src, ok := sources.For(u.GroupVersionKind().GroupKind())
		if !ok {
			t.Fatalf("%s is not a source kind", u.GetKind())
		}
		out, err := CacheTransform(u.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*unstructured.Unstructured)
		// client-go may pass what the transform made through it again (a
		// watch-list's items, as the Deployment's --watch-list-client=true
		// fills the cache): nothing changes, or a new leader would find
		// every object without its hostnames and release their claims.
		if again, err := CacheTransform(got.DeepCopy()); err != nil || !reflect.DeepEqual(again.(*unstructured.Unstructured).Object, got.Object) {
			t.Fatalf("%s: transformed twice %v (%v), once %v", u.GetKind(), again, err, got.Object)
		}
		wantNames, _, _ := sources.Names(src, u)
		gotNames, _, _ := sources.CachedNames(src, got)
		if len(wantNames) == 0 && u.GetKind() != "HTTPRoute" {
			t.Fatalf("%s: the sample has no hostnames", u.GetKind())
		}
		if len(gotNames) != len(wantNames) {
			t.Fatalf("%s: hostnames %v after the transform, want %v", u.GetKind(), gotNames, wantNames)
		}
		for i := range wantNames {
			if gotNames[i] != wantNames[i] {
				t.Fatalf("%s: hostnames %v after the transform, want %v", u.GetKind(), gotNames, wantNames)
			}
		}
		if got.GetName() != u.GetName() || got.GetNamespace() != u.GetNamespace() || got.GetUID() != u.GetUID() ||
			got.GetResourceVersion() != u.GetResourceVersion() || !got.GetDeletionTimestamp().Equal(u.GetDeletionTimestamp()) {
			t.Fatalf("%s: identity changed: %v", u.GetKind(), got.Object["metadata"])
		}
		if got.GroupVersionKind() != u.GroupVersionKind() {
			t.Fatalf("kind %v after the transform, want %v", got.GroupVersionKind(), u.GroupVersionKind())
		}
		if _, ok := got.Object["status"]; ok {
			t.Fatalf("%s: status kept", u.GetKind())
		}
		if spec, ok := got.Object["spec"]; ok {
			t.Fatalf("%s: spec kept: %v", u.GetKind(), spec)
		}
		if got.GetAnnotations() != nil || got.GetLabels() != nil || got.GetManagedFields() != nil {
			t.Fatalf("%s: metadata kept: %v", u.GetKind(), got.Object["metadata"])
		}
	}
}

// Other objects (Namespaces, Projects, claims...) keep everything but
// their managedFields: the checks read their labels and specs.
func TestCacheTransformStripsOnlyManagedFieldsElsewhere(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{tenancyv1.ProjectLabel: "web"},
		Annotations:   map[string]string{"a": "b"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	out, err := CacheTransform(ns)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Namespace)
	if got.ManagedFields != nil || got.Labels[tenancyv1.ProjectLabel] != "web" || got.Annotations["a"] != "b" {
		t.Fatalf("namespace after the transform: %+v", got.ObjectMeta)
	}
}
