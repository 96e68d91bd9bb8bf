package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	accessv1 "github.com/atrium-dev/atrium/apis/access/v1alpha1"
	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	atriumfleet "github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/slots"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// ProjectLifecycleInput describes a casual user's Project from its
// creation to its deletion.
type ProjectLifecycleInput struct {
	User, Project string
	// Hostname is published with an Ingress in the Project.
	Hostname string
	// Target is what the member's DNS operator publishes for it (its
	// ingress front, since the Ingress's status names none).
	Target  string
	Timeout time.Duration
	// Midway, when set, runs once the site resolves, before the Project is
	// deleted (a component replica killed, say).
	Midway func(ctx context.Context, t *testing.T)
}

// ProjectLifecycle: a casual user creates a Project, works in it (a
// ConfigMap, an Ingress whose hostname is claimed at the hub and resolves
// in BIND9), then deletes it the way `kubectl delete` does, which returns
// once the Project is gone; by then or soon after, the namespace is gone,
// the hostname is free at the hub, the record is out of DNS and no
// cluster-wide role of the Project is left.
func ProjectLifecycle(ctx context.Context, t *testing.T, in ProjectLifecycleInput) {
	t.Helper()
	user, err := f.env.ClientAs(in.User)
	if err != nil {
		t.Fatal(err)
	}
	// `kubectl get myprojects -w`, opened before the Project exists.
	mineWatch, err := watchMyProjects(ctx, in.User)
	if err != nil {
		t.Fatalf("%s watching their Projects: %v", in.User, err)
	}
	defer mineWatch.stop()
	if err := user.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: in.Project}}); err != nil {
		t.Fatalf("%s creating Project %s: %v", in.User, in.Project, err)
	}
	if err := mineWatch.waitFor(ctx, watch.Added, in.Project, in.Timeout); err != nil {
		t.Fatal(err)
	}
	// The user follows their Project by name, as `kubectl get proj NAME`.
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		p := &tenancyv1.Project{}
		if err := user.Get(ctx, client.ObjectKey{Name: in.Project}, p); err != nil {
			return err
		}
		return readyErr(p)
	})
	if err != nil {
		t.Fatalf("%s's Project never became Ready: %v", in.User, err)
	}
	// `kubectl get myprojects`: the user's own Projects, with their role.
	mine := &accessv1.MyProjectList{}
	if err := user.List(ctx, mine); err != nil {
		t.Fatalf("%s listing their Projects: %v", in.User, err)
	}
	if len(mine.Items) != 1 || mine.Items[0].Name != in.Project || mine.Items[0].Role != accessv1.RoleOwner {
		t.Fatalf("%s's Projects: %+v, want only %s as Owner", in.User, mine.Items, in.Project)
	}
	if err := user.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: in.Project}}); err != nil {
		t.Fatalf("%s cannot work in their namespace: %v", in.User, err)
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: in.Project, Name: "site"},
		Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: in.Hostname}}},
	}
	if err := user.Create(ctx, ing); err != nil {
		t.Fatalf("%s publishing %s: %v", in.User, in.Hostname, err)
	}
	if err := testenv.Eventually(ctx, in.Timeout, func() error { return records(in.Hostname, mdns.TypeA, in.Target) }); err != nil {
		t.Fatal(err)
	}
	if in.Midway != nil {
		in.Midway(ctx, t)
	}

	deleteCtx, cancel := context.WithTimeout(ctx, in.Timeout)
	defer cancel()
	gvr := tenancyv1.GroupVersion.WithResource("projects")
	if err := testenv.KubectlDelete(deleteCtx, f.env.UserConfig(in.User), gvr, "", in.Project); err != nil {
		t.Fatalf("%s: kubectl delete proj %s: %v", in.User, in.Project, err)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		if err := f.env.Client.Get(ctx, client.ObjectKey{Name: in.Project}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace %s still there (%v)", in.Project, err)
		}
		if err := f.hub.Client.Get(ctx, client.ObjectKey{Name: in.Hostname}, &fleetv1.HostnameClaim{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("hostname %s still claimed at the hub (%v)", in.Hostname, err)
		}
		if err := records(in.Hostname, mdns.TypeA); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := mineWatch.waitFor(ctx, watch.Deleted, in.Project, in.Timeout); err != nil {
		t.Fatal(err)
	}
	if err := user.List(ctx, mine); err != nil || len(mine.Items) != 0 {
		t.Fatalf("%s's Projects after the deletion: %+v, %v", in.User, mine.Items, err)
	}
	left := projectLeftovers(ctx, t, in.Project)
	if len(left) > 0 {
		t.Fatalf("left behind by Project %s: %v", in.Project, left)
	}
}

// myProjectsWatch follows a user's myprojects the way a client-go
// reflector does: list, watch from the list, and when the watch ends (a
// replica of the server went away) list and watch again.
type myProjectsWatch struct {
	c client.WithWatch
	w watch.Interface
	// listed are the names of the last list.
	listed map[string]bool
}

func watchMyProjects(ctx context.Context, user string) (*myProjectsWatch, error) {
	c, err := client.NewWithWatch(f.env.UserConfig(user), client.Options{Scheme: f.env.Scheme})
	if err != nil {
		return nil, err
	}
	m := &myProjectsWatch{c: c}
	return m, m.relist(ctx)
}

func (m *myProjectsWatch) relist(ctx context.Context) error {
	list := &accessv1.MyProjectList{}
	if err := m.c.List(ctx, list); err != nil {
		return err
	}
	m.listed = map[string]bool{}
	for _, p := range list.Items {
		m.listed[p.Name] = true
	}
	m.stop()
	w, err := m.c.Watch(ctx, &accessv1.MyProjectList{}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	m.w = w
	return err
}

func (m *myProjectsWatch) stop() {
	if m.w != nil {
		m.w.Stop()
	}
}

// waitFor waits for an event of the type about the named MyProject (or,
// across a relist, for the list to show the same).
func (m *myProjectsWatch) waitFor(ctx context.Context, typ watch.EventType, name string, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-m.w.ResultChan():
			if !ok || e.Type == watch.Error {
				if err := m.relist(ctx); err != nil {
					return fmt.Errorf("listing myprojects again after the watch ended: %w", err)
				}
				if m.listed[name] == (typ == watch.Added) {
					return nil
				}
				continue
			}
			if p, isMine := e.Object.(*accessv1.MyProject); isMine && e.Type == typ && p.Name == name {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("no %s event for %s in the myprojects watch within %s", typ, name, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// projectLeftovers are the cluster-wide objects still labelled with the
// Project, and the slots that still count it against an owner's limit.
func projectLeftovers(ctx context.Context, t *testing.T, project string) []string {
	t.Helper()
	sel := client.MatchingLabels{tenancyv1.ProjectLabel: project}
	var roles rbacv1.ClusterRoleList
	var bindings rbacv1.ClusterRoleBindingList
	var leases coordinationv1.LeaseList
	if err := f.env.Client.List(ctx, &roles, sel); err != nil {
		t.Fatal(err)
	}
	if err := f.env.Client.List(ctx, &bindings, sel); err != nil {
		t.Fatal(err)
	}
	if err := f.env.Client.List(ctx, &leases, client.InNamespace(atriumfleet.Namespace), client.HasLabels{slots.KeyLabel}); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range leases.Items {
		if l.Annotations[slots.ProjectAnnotation] == project {
			out = append(out, "slot Lease "+l.Name)
		}
	}
	for _, r := range roles.Items {
		out = append(out, "ClusterRole "+r.Name)
	}
	for _, b := range bindings.Items {
		out = append(out, "ClusterRoleBinding "+b.Name)
	}
	return out
}

func readyErr(p *tenancyv1.Project) error {
	for _, c := range p.Status.Conditions {
		if c.Type == tenancyv1.ReadyCondition && c.Status == metav1.ConditionTrue && p.Status.ObservedGeneration == p.Generation {
			return nil
		}
	}
	return fmt.Errorf("Project %s not ready: %v", p.Name, p.Status.Conditions)
}

func TestProjectLifecycleAsCasualUser(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ProjectLifecycle(context.Background(), t, ProjectLifecycleInput{
		User: "lena", Project: "lenas-site", Hostname: "www.lenas-site." + dnsZone, Target: "192.0.2.80", Timeout: time.Minute,
	})
}

// TestProjectLifecycleWithReplicasKilled: the same story ends the same when
// a replica of every component is killed without notice midway (and
// replaced, as its ReplicaSet would): nothing is duplicated, nothing left.
func TestProjectLifecycleWithReplicasKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ProjectLifecycle(context.Background(), t, ProjectLifecycleInput{
		User: "mira", Project: "miras-site", Hostname: "www.miras-site." + dnsZone, Target: "192.0.2.80", Timeout: 2 * time.Minute,
		Midway: func(ctx context.Context, t *testing.T) {
			for name, d := range f.member.Components.Deployments {
				if _, err := d.Replace(ctx, d.Pods()[0]); err != nil {
					t.Fatalf("replacing a replica of %s: %v", name, err)
				}
			}
		},
	})
	if err := f.member.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
}
