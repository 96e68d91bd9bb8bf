package controllers_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/gitlabfake"
	"github.com/atrium-dev/atrium/operators/pages/controllers"
)

// A tenant's annotations and labels on a site cost the operator's cache a
// digest, whatever their size, and a change of them still shows.
func TestTrimSite(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	site := func(annotations map[string]string) *pagesv1.GitLabPagesSite {
		return &pagesv1.GitLabPagesSite{
			ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: "s", UID: "u", ResourceVersion: "7", Generation: 2,
				Finalizers: []string{pagesv1.Finalizer}, Annotations: annotations,
				Labels:        map[string]string{"bulk": big[:63]},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
			Spec:   pagesv1.GitLabPagesSiteSpec{Project: "physics/site", Hostname: "s.example.org"},
			Status: pagesv1.GitLabPagesSiteStatus{ProjectID: 9, URL: "https://s.example.org"},
		}
	}
	trim := func(s *pagesv1.GitLabPagesSite) *pagesv1.GitLabPagesSite {
		t.Helper()
		out, err := controllers.TrimSite(s)
		if err != nil {
			t.Fatal(err)
		}
		return out.(*pagesv1.GitLabPagesSite)
	}
	a := trim(site(map[string]string{"example.org/bulk": big}))
	if len(a.Annotations) != 1 || len(a.Annotations[controllers.AnnotationsDigest]) != 64 {
		t.Fatalf("annotations in the cache = %d keys, want the digest alone", len(a.Annotations))
	}
	if a.Labels != nil || a.ManagedFields != nil {
		t.Fatalf("labels %v, managedFields %v kept", a.Labels, a.ManagedFields)
	}
	// What the operator reads is all there.
	if a.Spec.Hostname != "s.example.org" || a.Status.ProjectID != 9 || a.Generation != 2 || a.ResourceVersion != "7" ||
		len(a.Finalizers) != 1 || a.UID != "u" {
		t.Fatalf("trimmed away what the operator reads: %+v", a)
	}
	b := trim(site(map[string]string{"example.org/bulk": big + "y"}))
	if a.Annotations[controllers.AnnotationsDigest] == b.Annotations[controllers.AnnotationsDigest] {
		t.Fatal("a changed annotation leaves the digest as it was: the change would start no reconcile")
	}
	if again := trim(a.DeepCopy()); again.Annotations[controllers.AnnotationsDigest] != a.Annotations[controllers.AnnotationsDigest] {
		t.Fatal("trimming a trimmed site changed its digest")
	}
	if none := trim(site(nil)); none.Annotations != nil {
		t.Fatalf("a site without annotations got %v", none.Annotations)
	}
}

// Of a site's Service and Ingress the cache keeps what drift is judged
// by: the spec the site sets, the owner, and the operator's own labels as
// one shared map when they are right. What others write on the objects
// (annotations, labels, status) stays out, and trimming twice changes
// nothing.
func TestTrimRoute(t *testing.T) {
	site := &pagesv1.GitLabPagesSite{ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: "s", UID: "u"},
		Spec: pagesv1.GitLabPagesSiteSpec{Project: "physics/site", Hostname: "s.example.org"}}
	front := controllers.Front{Host: "pages.example.org", Port: 443, IngressClass: "atrium"}
	big := strings.Repeat("x", 100<<10)
	for _, obj := range controllers.DesiredObjects(site, front) {
		obj.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "pages.atrium.dev/v1alpha1", Kind: "GitLabPagesSite",
			Name: "s", UID: "u", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}})
		want := obj.DeepCopyObject().(client.Object)
		if _, ok := obj.(*networkingv1.Ingress); ok {
			want.SetLabels(map[string]string{controllers.LabelsAsWanted: "true"})
		}

		// Another writer's metadata and status.
		obj.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl"}})
		obj.SetAnnotations(map[string]string{"example.org/bulk": big})
		l := obj.GetLabels()
		l["example.org/team"] = "docs"
		obj.SetLabels(l)
		switch o := obj.(type) {
		case *corev1.Service:
			o.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: big}}
			o.Spec.ExternalIPs = []string{"192.0.2.1"}
		case *networkingv1.Ingress:
			o.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: big}}
		}
		out, err := controllers.TrimRoute(obj)
		if err != nil {
			t.Fatal(err)
		}
		if !equality.Semantic.DeepEqual(out, want) {
			t.Fatalf("%T in the cache:\n%+v\nwant\n%+v", obj, out, want)
		}
		again, err := controllers.TrimRoute(out.(client.Object).DeepCopyObject())
		if err != nil || !equality.Semantic.DeepEqual(again, want) {
			t.Fatalf("%T trimmed twice changed: %+v", obj, again)
		}

		// Labels that are not the site's stay, the two of them, for the
		// operator to see and put back; a look-alike of the shared map
		// among them is no pass.
		bad := want.DeepCopyObject().(client.Object)
		bad.SetLabels(map[string]string{controllers.SiteLabel: "other-site", controllers.LabelsAsWanted: "true", "x": "y"})
		out, err = controllers.TrimRoute(bad)
		if err != nil {
			t.Fatal(err)
		}
		if got := out.(client.Object).GetLabels(); len(got) != 1 || got[controllers.SiteLabel] != "other-site" {
			t.Fatalf("%T with another site's label: cached labels %v, want that label alone", obj, got)
		}
		unowned := want.DeepCopyObject().(client.Object)
		unowned.SetOwnerReferences(nil)
		unowned.SetLabels(map[string]string{controllers.SiteLabel: "s"})
		out, err = controllers.TrimRoute(unowned)
		if err != nil {
			t.Fatal(err)
		}
		if got := out.(client.Object).GetLabels(); len(got) != 1 || got[controllers.SiteLabel] != "s" {
			t.Fatalf("%T of no site: cached labels %v, want its site label as it is", obj, got)
		}
	}
}

// Of namespaces and Projects, which anyone who makes them can fill, the
// cache keeps what says whose a namespace is, and nothing else.
func TestTrimNamespaceAndProject(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	out, err := controllers.TrimNamespace(&corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "t", UID: "n", ResourceVersion: "3",
			Labels:      map[string]string{tenancyv1.ProjectLabel: "p", "other": "x"},
			Annotations: map[string]string{"bulk": big}},
		Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ns := out.(*corev1.Namespace)
	if ns.Name != "t" || ns.UID != "n" || ns.ResourceVersion != "3" || len(ns.Labels) != 1 || ns.Labels[tenancyv1.ProjectLabel] != "p" ||
		ns.Annotations != nil || ns.Spec.Finalizers != nil {
		t.Fatalf("namespace in the cache: %+v", ns)
	}
	out, err = controllers.TrimNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain", Labels: map[string]string{"a": "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if l := out.(*corev1.Namespace).Labels; l != nil {
		t.Fatalf("a namespace of no Project kept labels %v", l)
	}

	out, err = controllers.TrimProject(&tenancyv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "q", ResourceVersion: "5", Annotations: map[string]string{"bulk": big}},
		Spec:       tenancyv1.ProjectSpec{Owner: "alice", Tier: "standard", Description: big},
		Status:     tenancyv1.ProjectStatus{Namespace: "t", Conditions: []metav1.Condition{{Type: "Ready", Message: big}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := out.(*tenancyv1.Project)
	if p.Name != "p" || p.Spec.Owner != "alice" || p.Status.Namespace != "t" {
		t.Fatalf("trimmed away what the operator reads: %+v", p)
	}
	if p.Annotations != nil || p.Spec.Description != "" || p.Spec.Tier != "" || p.Status.Conditions != nil {
		t.Fatalf("project in the cache keeps more than the owner and namespace: %+v", p)
	}
}

// A site whose tenant loads it with annotations and labels is published
// like any other from the trimmed cache, its owned objects' drift is still
// put back, and the operator's writes leave the tenant's metadata whole on
// the server: the cache's digest never reaches the API server.
func TestTenantMetadataIsKeptOutOfTheCache(t *testing.T) {
	ctx := context.Background()
	if _, err := gl.AddProject("alice", "notes", gitlabfake.Public); err != nil {
		t.Fatal(err)
	}
	ns := project(t, "notes", "alice")
	host := "notes.web.example.test"
	big := strings.Repeat("n", 100<<10)
	s := site(t, ns, "notes", "alice/notes", host, func(s *pagesv1.GitLabPagesSite) {
		s.Annotations = map[string]string{"example.org/notes": big}
		s.Labels = map[string]string{"example.org/team": "docs"}
	})
	got := waitReady(t, s)
	if got.Annotations["example.org/notes"] != big || got.Labels["example.org/team"] != "docs" {
		t.Fatalf("the operator's writes changed the tenant's metadata: %d annotations, labels %v", len(got.Annotations), got.Labels)
	}
	if _, ok := got.Annotations[controllers.AnnotationsDigest]; ok {
		t.Fatal("the cache's digest reached the API server")
	}
	if len(got.Finalizers) == 0 {
		t.Fatal("no finalizer")
	}

	// Drift in the site's Service is put back from the trimmed cache, and
	// what another writer put on it at the same time stays.
	svc := &corev1.Service{}
	key := client.ObjectKey{Namespace: ns, Name: controllers.ServiceName}
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(ctx, key, svc); err != nil {
			return err
		}
		svc.Spec.ExternalName = "elsewhere.example.test"
		svc.Annotations = map[string]string{"example.org/monitor": big}
		svc.Labels["example.org/team"] = "docs"
		return env.Client.Update(ctx, svc)
	}); err != nil {
		t.Fatal(err)
	}
	waitGitLab(t, "the Service repaired", func() bool {
		_ = env.Client.Get(ctx, key, svc)
		return svc.Spec.ExternalName == front
	})
	if svc.Annotations["example.org/monitor"] != big || svc.Labels["example.org/team"] != "docs" {
		t.Fatalf("the repair lost another writer's metadata: %d annotations, labels %v", len(svc.Annotations), svc.Labels)
	}
	if _, ok := svc.Labels[controllers.LabelsAsWanted]; ok {
		t.Fatal("the cache's label reached the API server")
	}

	// Its labels taken off, the Ingress leaves the cache (which holds the
	// sites' own alone: the watch tells it as a deletion); the operator
	// still finds it its site's and puts them back, with its spec.
	ing := &networkingv1.Ingress{}
	ingKey := client.ObjectKey{Namespace: ns, Name: "notes"}
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(ctx, ingKey, ing); err != nil {
			return err
		}
		ing.Labels = map[string]string{"example.org/team": "docs"}
		ing.Spec.Rules[0].Host = "elsewhere.web.example.test"
		return env.Client.Update(ctx, ing)
	}); err != nil {
		t.Fatal(err)
	}
	waitGitLab(t, "the Ingress's labels put back", func() bool {
		_ = env.Client.Get(ctx, ingKey, ing)
		return ing.Labels[controllers.SiteLabel] == "notes" && ing.Spec.Rules[0].Host == host
	})
	if ing.Labels["example.org/team"] != "docs" {
		t.Fatalf("the repair lost another writer's label: %v", ing.Labels)
	}

	// A changed annotation, then the site's deletion, still leave the
	// tenant's metadata as the tenant wrote it until the site is gone.
	updateSite(t, got, func(s *pagesv1.GitLabPagesSite) { s.Annotations["example.org/notes"] = big + "!" })
	waitReady(t, got)
	after := &pagesv1.GitLabPagesSite{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(got), after); err != nil {
		t.Fatal(err)
	}
	if after.Annotations["example.org/notes"] != big+"!" || after.Labels["example.org/team"] != "docs" {
		t.Fatal("the tenant's metadata changed")
	}
	deleteSite(t, got)
	gone(t, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "notes"}})
	if _, ok := gl.Domain(host); ok {
		t.Error("the domain is still in GitLab after the site was deleted")
	}
}
