package controllers

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// What a tenant or another writer can put on an object the operator owns.
func bloated(obj client.Object) client.Object {
	big := strings.Repeat("x", 200_000)
	obj.SetName("atrium-admins")
	obj.SetNamespace("web")
	obj.SetUID("uid-1")
	obj.SetResourceVersion("42")
	obj.SetGeneration(3)
	obj.SetLabels(map[string]string{tenancyv1.ProjectLabel: "web", "team": big[:63]})
	obj.SetAnnotations(map[string]string{"note": big, "kubectl.kubernetes.io/last-applied-configuration": big})
	obj.SetFinalizers([]string{"example.com/hold"})
	obj.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "tenancy.atrium.dev/v1alpha1", Kind: "Project", Name: "web", UID: "p-1", Controller: ptr.To(true)}})
	obj.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate}})
	return obj
}

// The cache keeps of an owned object only what the operator reads, a
// fixed size whatever was written on it, and the digest of the whole.
func TestOwnedViewKeepsWhatTheOperatorReads(t *testing.T) {
	subjects := make([]rbacv1.Subject, 2000)
	for i := range subjects {
		subjects[i] = rbacv1.Subject{Kind: "User", Name: strings.Repeat("u", 200)}
	}
	now := metav1.Now()
	for _, obj := range []client.Object{
		&rbacv1.RoleBinding{Subjects: subjects, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "admin"}},
		&rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, ResourceNames: []string{strings.Repeat("n", 100_000)}}}},
		&rbacv1.ClusterRoleBinding{Subjects: subjects},
		&corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{"BestEffort"}}},
		&corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: "Container"}}}},
		&networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress"}}},
		&corev1.Namespace{Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}, ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}},
	} {
		whole := bloated(obj)
		t.Run(typeName(whole), func(t *testing.T) {
			want, ok := contentOf(whole.DeepCopyObject().(client.Object))
			if !ok {
				t.Fatal("no content")
			}
			deletion := whole.GetDeletionTimestamp()
			out, err := ownedView(whole.DeepCopyObject())
			if err != nil {
				t.Fatal(err)
			}
			view := out.(client.Object)
			if typeName(view) != typeName(whole) {
				t.Fatalf("view is a %s", typeName(view))
			}
			if got, ok := cachedContent(view); !ok || got != want {
				t.Fatal("the view's content digest is not the object's")
			}
			if view.GetName() != "atrium-admins" || view.GetNamespace() != "web" || view.GetUID() != "uid-1" || view.GetResourceVersion() != "42" {
				t.Fatalf("identity lost: %+v", view)
			}
			if l := view.GetLabels(); len(l) != 2 || l[tenancyv1.ProjectLabel] != "web" {
				t.Fatalf("labels %v, want the project label and the digest alone", l)
			}
			if len(view.GetAnnotations()) > 0 {
				t.Fatalf("annotations kept: %v", view.GetAnnotations())
			}
			if !metav1.IsControlledBy(view, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{UID: "p-1"}}) {
				t.Fatal("owner reference lost")
			}
			if !deletion.Equal(view.GetDeletionTimestamp()) {
				t.Fatal("deletion timestamp lost")
			}
			if len(view.GetManagedFields()) > 0 || len(view.GetFinalizers()) > 0 {
				t.Fatal("managedFields or finalizers kept")
			}
			b, err := json.Marshal(view)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > 1024 {
				t.Fatalf("view of %d bytes: %s", len(b), b)
			}
			again, err := ownedView(view.DeepCopyObject())
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := cachedContent(again.(client.Object)); got != want {
				t.Fatal("a view passed through again changed its digest")
			}
		})
	}
}

func typeName(obj client.Object) string { return fmt.Sprintf("%T", obj) }

// The key that carries a view's digest is one the API server refuses on
// any object, so no object read from it, a tenant's included, can pass
// for a view.
func TestContentAnnotationCannotBeStored(t *testing.T) {
	if errs := validation.IsQualifiedName(contentKey); len(errs) == 0 {
		t.Fatalf("%q is a valid label and annotation key: a tenant could forge a digest", contentKey)
	}
}

// A Project is kept whole but for the labels and annotations of other
// domains, which its owner may write at will.
func TestProjectView(t *testing.T) {
	big := strings.Repeat("x", 200_000)
	p := &tenancyv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: "web",
			Labels:        map[string]string{"team": "a", tenancyv1.OwnerLabel: "alice"},
			Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": big, tenancyv1.AdoptNamespaceAnnotation: "ns-uid"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
			Finalizers:    []string{tenancyv1.ProjectFinalizer}},
		Spec:   tenancyv1.ProjectSpec{Owner: "alice", Tier: "standard"},
		Status: tenancyv1.ProjectStatus{Namespace: "web"},
	}
	out, err := projectView(p.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	v := out.(*tenancyv1.Project)
	if len(v.Annotations) != 1 || v.Annotations[tenancyv1.AdoptNamespaceAnnotation] != "ns-uid" {
		t.Fatalf("annotations %v", v.Annotations)
	}
	if len(v.Labels) != 1 || v.Labels[tenancyv1.OwnerLabel] != "alice" {
		t.Fatalf("labels %v", v.Labels)
	}
	if v.ManagedFields != nil || !reflect.DeepEqual(v.Spec, p.Spec) || v.Status.Namespace != "web" || len(v.Finalizers) != 1 {
		t.Fatalf("view lost what the operator reads: %+v", v)
	}
}

// Every kind the operator owns, namespaces included, and Projects are
// cached through a transform: one without would keep whatever a tenant
// writes on it.
func TestEveryCachedKindHasItsView(t *testing.T) {
	opts := CacheOptions("atrium-system")
	for obj, by := range opts.ByObject {
		if _, lease := obj.(*coordinationv1.Lease); lease {
			continue // written by Atrium alone, in its own namespace
		}
		if by.Transform == nil {
			t.Errorf("%T is cached without a view", obj)
		}
	}
	for _, obj := range []client.Object{&corev1.Namespace{}, &tenancyv1.Project{}, &rbacv1.RoleBinding{}, &rbacv1.ClusterRole{},
		&rbacv1.ClusterRoleBinding{}, &corev1.ResourceQuota{}, &corev1.LimitRange{}, &networkingv1.NetworkPolicy{}} {
		found := false
		for o := range opts.ByObject {
			found = found || typeName(o) == typeName(obj)
		}
		if !found {
			t.Errorf("%T has no cache options", obj)
		}
	}
}
