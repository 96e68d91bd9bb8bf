package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	"github.com/atrium-dev/atrium/operators/pages/controllers"
)

// The sites of a namespace route through one Service, owned by one of
// them or two: sites made at once make one Service, a site's Service of
// its own from before is deleted once its Ingress routes to the shared
// one, the Service is handed over when its owners go and so outlives
// every site but the last, and goes with that one.
func TestSitesOfANamespaceShareItsService(t *testing.T) {
	ctx := context.Background()
	ns := project(t, "shared", "alice")
	key := client.ObjectKey{Namespace: ns, Name: controllers.ServiceName}

	// A site as an earlier operator left it: a Service of its own,
	// controlled by the site, which its Ingress routed to.
	old := site(t, ns, "old", "alice/homepage", "old.shared.web.example.test")
	own := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "old-gitlab-pages",
			Labels:          map[string]string{controllers.SiteLabel: "old", "app.kubernetes.io/managed-by": "atrium-pages"},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(old, pagesv1.GroupVersion.WithKind("GitLabPagesSite"))}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: front, Ports: []corev1.ServicePort{{Name: "pages", Port: 443}}},
	}
	if err := env.Client.Create(ctx, own); err != nil {
		t.Fatal(err)
	}
	old = waitReady(t, old)

	// Made at once (t.Fatal belongs to the test's goroutine: the errors
	// come back to it).
	var made errgroup.Group
	sites := make([]*pagesv1.GitLabPagesSite, 6)
	for i := range sites {
		sites[i] = &pagesv1.GitLabPagesSite{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("s%d", i)},
			Spec: pagesv1.GitLabPagesSiteSpec{Project: "alice/blog", Hostname: fmt.Sprintf("s%d.shared.web.example.test", i)}}
		made.Go(func() error { return env.Client.Create(ctx, sites[i]) })
	}
	if err := made.Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range sites {
		sites[i] = waitReady(t, sites[i])
	}
	gone(t, own)
	ing := &networkingv1.Ingress{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "old"}, ing); err != nil {
		t.Fatal(err)
	}
	if b := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service; b == nil || b.Name != controllers.ServiceName {
		t.Fatalf("the earlier site's Ingress routes to %+v, want %s", b, controllers.ServiceName)
	}

	svc := &corev1.Service{}
	if err := env.Client.Get(ctx, key, svc); err != nil {
		t.Fatal(err)
	}
	all := append([]*pagesv1.GitLabPagesSite{old}, sites...)
	owner := map[string]bool{}
	for _, ref := range svc.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			t.Errorf("site %s controls the shared Service", ref.Name)
		}
		owner[string(ref.UID)] = true
	}
	if len(owner) == 0 || len(owner) > 2 {
		t.Errorf("the shared Service has owners %+v, want one site or two", svc.OwnerReferences)
	}
	list := &corev1.ServiceList{}
	if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Errorf("%d Services in the namespace, want the shared one alone", len(list.Items))
	}

	// Every site but one that does not own it goes, its owners first:
	// the Service is handed over, never deleted and made again.
	var last *pagesv1.GitLabPagesSite
	for _, s := range all {
		if !owner[string(s.UID)] && last == nil {
			last = s
		}
	}
	for _, s := range all {
		if s != last {
			deleteSite(t, s)
		}
	}
	waitGitLab(t, "the Service left to the last site", func() bool {
		_ = env.Client.Get(ctx, key, svc)
		return len(svc.OwnerReferences) == 1 && svc.OwnerReferences[0].UID == last.UID
	})
	after := &corev1.Service{}
	if err := env.Client.Get(ctx, key, after); err != nil || after.UID != list.Items[0].UID {
		t.Fatalf("the Service went, or was made again, before the namespace's last site: %v", err)
	}
	waitReady(t, last)
	deleteSite(t, last)
	gone(t, svc)
}

// A Service of the shared name that no site owns is the tenant's own: the
// site says so and leaves it as it is, and routes once it is gone. Drift
// in the shared Service, once made, is put back.
func TestAServiceNoSiteOwnsIsLeftAlone(t *testing.T) {
	ctx := context.Background()
	ns := project(t, "taken", "alice")
	theirs := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: controllers.ServiceName, Labels: map[string]string{"app.kubernetes.io/managed-by": "atrium-pages"}},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 8080}}},
	}
	if err := env.Client.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	s := site(t, ns, "web", "alice/homepage", "web.taken.web.example.test")
	waitCondition(t, s, pagesv1.ConditionReady, "ServiceConflict")
	after := &corev1.Service{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(theirs), after); err != nil {
		t.Fatal(err)
	}
	if after.Spec.Type != corev1.ServiceTypeClusterIP || after.Spec.Selector["app"] != "web" || len(after.OwnerReferences) != 0 {
		t.Fatalf("the tenant's Service was changed: %+v, owners %+v", after.Spec, after.OwnerReferences)
	}

	if err := env.Client.Delete(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	got := waitReady(t, s)
	svc := &corev1.Service{}
	key := client.ObjectKeyFromObject(theirs)
	if err := env.Client.Get(ctx, key, svc); err != nil {
		t.Fatal(err)
	}
	svc.Spec.ExternalName = "elsewhere.example.test"
	if err := env.Client.Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	waitGitLab(t, "the shared Service repaired", func() bool {
		_ = env.Client.Get(ctx, key, svc)
		return svc.Spec.ExternalName == front
	})
	deleteSite(t, got)
	gone(t, svc)
}

// A settled site writes neither its Ingress nor its namespace's Service
// again, however often it is reconciled: what the API server stores is
// what the operator wants (a port's target as the server defaults it).
func TestASettledSiteWritesNothing(t *testing.T) {
	ns := project(t, "settled", "alice")
	s := waitReady(t, site(t, ns, "quiet", "alice/homepage", "quiet.settled.web.example.test"))
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: controllers.ServiceName}}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "quiet"}}
	before := [2]int{writesOf(svc), writesOf(ing)}
	time.Sleep(3*resync + time.Second)
	if after := [2]int{writesOf(svc), writesOf(ing)}; after != before {
		t.Errorf("writes of the Service and the Ingress went from %v to %v over three resyncs", before, after)
	}
	deleteSite(t, s)
}
