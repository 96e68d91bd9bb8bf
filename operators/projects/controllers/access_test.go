package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// projectsResource is what kubectl resolves `projects.tenancy.atrium.dev`
// (or `proj`) to.
var projectsResource = tenancyv1.GroupVersion.WithResource("projects")

// watchingAs is a client of the user that can also watch.
func watchingAs(t *testing.T, user string) client.WithWatch {
	t.Helper()
	c, err := client.NewWithWatch(env.UserConfig(user), client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// byName is the field selector kubectl sends to list or watch one object.
func byName(name string) client.MatchingFields {
	return client.MatchingFields{"metadata.name": name}
}

// watchOne opens a watch of Projects filtered by name, as `kubectl get
// project NAME -w` does, and returns the first event.
func watchOne(ctx context.Context, c client.WithWatch, name string) (watch.Event, error) {
	w, err := c.Watch(ctx, &tenancyv1.ProjectList{}, byName(name))
	if err != nil {
		return watch.Event{}, err
	}
	defer w.Stop()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			return watch.Event{}, fmt.Errorf("watch closed without an event")
		}
		return ev, nil
	case <-time.After(wait):
		return watch.Event{}, fmt.Errorf("no event within %s", wait)
	}
}

// What kubectl does with one Project works for its people, by name only: the
// owner, a member and a viewer get it, list it and watch it filtered by its
// name; the same list without the filter is forbidden (it would show other
// tenants' Projects), as is a list of another Project's name; a viewer cannot
// delete it; a stranger cannot even read it.
func TestProjectPeopleUseKubectlOnTheirProject(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	cleanup(t, "november", "november-other")
	if err := as(t, "tenant-n").Create(ctx, project("november", func(p *tenancyv1.Project) {
		p.Spec.Members = []tenancyv1.Subject{{Name: "tenant-n-member"}}
		p.Spec.Viewers = []tenancyv1.Subject{{Name: "tenant-n-viewer"}}
	})); err != nil {
		t.Fatal(err)
	}
	if err := as(t, "tenant-o").Create(ctx, project("november-other")); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "november")
	waitReady(t, "november-other")

	for _, user := range []string{"tenant-n", "tenant-n-member", "tenant-n-viewer"} {
		t.Run(user, func(t *testing.T) {
			c := watchingAs(t, user)
			// The API server's RBAC authorizer learns of new bindings
			// through a watch, a moment after they are written.
			if err := testenv.Eventually(ctx, wait, func() error {
				return c.Get(ctx, client.ObjectKey{Name: "november"}, &tenancyv1.Project{})
			}); err != nil {
				t.Fatalf("kubectl get project november: %v", err)
			}
			var list tenancyv1.ProjectList
			if err := c.List(ctx, &list, byName("november")); err != nil {
				t.Fatalf("list by name: %v", err)
			}
			if len(list.Items) != 1 || list.Items[0].Name != "november" {
				t.Fatalf("list by name returned %d Project(s)", len(list.Items))
			}
			ev, err := watchOne(ctx, c, "november")
			if err != nil {
				t.Fatalf("kubectl get project november -w: %v", err)
			}
			if p, ok := ev.Object.(*tenancyv1.Project); ev.Type != watch.Added || !ok || p.Name != "november" {
				t.Fatalf("first watch event %s %T, want Added november", ev.Type, ev.Object)
			}

			if err := c.List(ctx, &tenancyv1.ProjectList{}); !apierrors.IsForbidden(err) {
				t.Fatalf("an unfiltered list of Projects is not forbidden: %v", err)
			}
			if err := c.List(ctx, &tenancyv1.ProjectList{}, byName("november-other")); !apierrors.IsForbidden(err) {
				t.Fatalf("listing another tenant's Project by name is not forbidden: %v", err)
			}
			if _, err := c.Watch(ctx, &tenancyv1.ProjectList{}); !apierrors.IsForbidden(err) {
				t.Fatalf("an unfiltered watch of Projects is not forbidden: %v", err)
			}
		})
	}

	// A viewer reads but neither changes nor deletes.
	viewer := as(t, "tenant-n-viewer")
	if err := update(ctx, viewer, "november", func(p *tenancyv1.Project) { p.Spec.Description = "by a viewer" }); !apierrors.IsForbidden(err) {
		t.Fatalf("a viewer changed the Project: %v", err)
	}
	if err := viewer.Delete(ctx, project("november")); !apierrors.IsForbidden(err) {
		t.Fatalf("a viewer deleted the Project: %v", err)
	}
	if err := testenv.KubectlDelete(ctx, env.UserConfig("tenant-n-viewer"), projectsResource, "", "november"); !apierrors.IsForbidden(err) {
		t.Fatalf("kubectl delete as a viewer: %v, want Forbidden", err)
	}

	// A stranger sees nothing, by name or otherwise.
	stranger := watchingAs(t, "tenant-n-stranger")
	if err := stranger.Get(ctx, client.ObjectKey{Name: "november"}, &tenancyv1.Project{}); !apierrors.IsForbidden(err) {
		t.Fatalf("a stranger read the Project: %v", err)
	}
	if err := stranger.List(ctx, &tenancyv1.ProjectList{}, byName("november")); !apierrors.IsForbidden(err) {
		t.Fatalf("a stranger listed the Project by name: %v", err)
	}
	if _, err := stranger.Watch(ctx, &tenancyv1.ProjectList{}, byName("november")); !apierrors.IsForbidden(err) {
		t.Fatalf("a stranger watched the Project by name: %v", err)
	}
}

// holdFinalizer keeps a ConfigMap, and so its namespace, from going away
// until the test removes it.
const holdFinalizer = "test.atrium.dev/hold"

// The owner deletes their Project the way `kubectl delete project` does: the
// delete waits while the namespace is being deleted (the Project says what
// holds it up, and its people can still read it), and returns once the
// namespace, the per-Project ClusterRoles and ClusterRoleBindings and the
// Project itself are gone, all done by the operator with the RBAC it ships.
func TestOwnerDeletesProject(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	cleanup(t, "lima")
	if err := as(t, "tenant-l").Create(ctx, project("lima", func(p *tenancyv1.Project) {
		p.Spec.Viewers = []tenancyv1.Subject{{Name: "tenant-l-viewer"}}
	})); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "lima")
	owner := as(t, "tenant-l")
	if err := testenv.Eventually(ctx, wait, func() error {
		return owner.Get(ctx, client.ObjectKey{Name: "lima"}, &tenancyv1.Project{})
	}); err != nil {
		t.Fatal(err)
	}
	held := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: "lima", Finalizers: []string{holdFinalizer}}}
	if err := env.Client.Create(ctx, held); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = release(context.Background(), held) })

	wctx, cancel := context.WithTimeout(ctx, 2*wait)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- testenv.KubectlDelete(wctx, env.UserConfig("tenant-l"), projectsResource, "", "lima") }()

	// While the namespace is held, the Project waits and says why.
	err := testenv.Eventually(ctx, wait, func() error {
		select {
		case err := <-done:
			return fmt.Errorf("kubectl delete returned while the namespace is held: %v", err)
		default:
		}
		p := &tenancyv1.Project{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "lima"}, p); err != nil {
			return err
		}
		c := meta.FindStatusCondition(p.Status.Conditions, tenancyv1.ReadyCondition)
		if p.DeletionTimestamp.IsZero() || c == nil || c.Reason != "Deleting" || !strings.Contains(c.Message, holdFinalizer) {
			return fmt.Errorf("Project not reported as waiting for its namespace: %+v", c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "lima"}, ns); err != nil || ns.DeletionTimestamp.IsZero() {
		t.Fatalf("namespace not being deleted: %v %v", err, ns.DeletionTimestamp)
	}
	if err := as(t, "tenant-l-viewer").Get(ctx, client.ObjectKey{Name: "lima"}, &tenancyv1.Project{}); err != nil {
		t.Fatalf("a viewer cannot read the Project while it is being deleted: %v", err)
	}

	if err := release(ctx, held); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("kubectl delete project lima: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "lima"}, &tenancyv1.Project{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Project still there: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "lima"}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace still there: %v", err)
	}
	for _, access := range []string{"edit", "view"} {
		name := "atrium:project:lima:" + access
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &rbacv1.ClusterRoleBinding{}); !apierrors.IsNotFound(err) {
			t.Errorf("ClusterRoleBinding %s left behind: %v", name, err)
		}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &rbacv1.ClusterRole{}); !apierrors.IsNotFound(err) {
			t.Errorf("ClusterRole %s left behind: %v", name, err)
		}
	}
}

// release removes the hold finalizer from a ConfigMap, if it is still there.
func release(ctx context.Context, cm *corev1.ConfigMap) error {
	cur := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cm), cur); err != nil {
		return client.IgnoreNotFound(err)
	}
	orig := cur.DeepCopy()
	cur.Finalizers = nil
	return client.IgnoreNotFound(env.Client.Patch(ctx, cur, client.MergeFrom(orig)))
}
