package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	accessv1 "github.com/atrium-dev/atrium/apis/access/v1alpha1"
	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/internal/version"
)

// newVersion is what the upgrade's new build is stamped with.
const newVersion = "v0.0.0-upgrade-new"

// kept is an object as it was before the upgrade, read again after it.
type kept struct {
	c    client.Client
	obj  client.Object
	spec any
}

// keep reads obj (its namespace and name set) through c and remembers its
// UID, generation and spec.
func keep(ctx context.Context, t *testing.T, c client.Client, obj client.Object) kept {
	t.Helper()
	got := fresh(obj)
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
		t.Fatalf("reading %T %s: %v", obj, obj.GetName(), err)
	}
	return kept{c: c, obj: got, spec: specOf(t, got)}
}

// fresh is an empty object of obj's type (and kind, for unstructured), to
// read into without keeping anything of obj.
func fresh(obj client.Object) client.Object {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		n := &unstructured.Unstructured{}
		n.SetGroupVersionKind(u.GroupVersionKind())
		return n
	}
	return reflect.New(reflect.TypeOf(obj).Elem()).Interface().(client.Object)
}

func specOf(t *testing.T, obj client.Object) any {
	t.Helper()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return u["spec"]
}

// unchanged says how the object differs now from when it was kept.
func (k kept) unchanged(ctx context.Context, t *testing.T) error {
	got := fresh(k.obj)
	if err := k.c.Get(ctx, client.ObjectKeyFromObject(k.obj), got); err != nil {
		return fmt.Errorf("%T %s: %w", k.obj, k.obj.GetName(), err)
	}
	switch {
	case got.GetUID() != k.obj.GetUID():
		return fmt.Errorf("%T %s: UID %s, was %s (deleted and made again)", k.obj, k.obj.GetName(), got.GetUID(), k.obj.GetUID())
	case got.GetGeneration() != k.obj.GetGeneration():
		return fmt.Errorf("%T %s: generation %d, was %d", k.obj, k.obj.GetName(), got.GetGeneration(), k.obj.GetGeneration())
	case !equality.Semantic.DeepEqual(specOf(t, got), k.spec):
		return fmt.Errorf("%T %s: spec %v, was %v", k.obj, k.obj.GetName(), specOf(t, got), k.spec)
	}
	return nil
}

// componentVersions waits until every component of each member reports
// version on its MemberCluster, ready, and the member is Ready.
func componentVersions(ctx context.Context, version string, timeout time.Duration) error {
	return testenv.Eventually(ctx, timeout, func() error {
		for _, member := range []string{memberName, pdnsMemberName} {
			mc, err := memberReports(ctx, member, version, "")
			if err != nil {
				return err
			}
			if !meta.IsStatusConditionTrue(mc.Status.Conditions, fleetv1.MemberReady) {
				return fmt.Errorf("%s not Ready: %+v", member, mc.Status.Conditions)
			}
		}
		return nil
	})
}

// churn is a tenant sending admission requests (and reading the
// aggregated myprojects API) in a loop until stopped, counting failures.
type churn struct {
	requests, failures atomic.Int64
	mu                 sync.Mutex
	errs               []string
	stop               context.CancelFunc
	done               chan struct{}
}

func (c *churn) fail(what string, err error) {
	c.failures.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) < 20 {
		c.errs = append(c.errs, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), what, err))
	}
}

// churnHosts is how many hostnames the churn uses in turn.
const churnHosts = 4

// startChurn: as user, in namespace ns, create and delete an Ingress with
// a hostname of its own (the hostnames webhook, a claim at the hub), ask
// for a Project in a dry run (the projects webhook) and list MyProjects
// (the myprojects API server), over and over.
func startChurn(ctx context.Context, user client.Client, ns string) *churn {
	ctx, cancel := context.WithCancel(ctx)
	c := &churn{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for i := 0; ctx.Err() == nil; i++ {
			ing := &networkingv1.Ingress{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("churn-%d", i)},
				// A few hostnames, used in turn: a deleted Ingress's claim
				// stays for the releaser's grace period, and new names
				// would soon pass the tier's hostnames per Project.
				Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: fmt.Sprintf("churn-%d.%s.%s", i%churnHosts, ns, dnsZone)}}},
			}
			c.requests.Add(1)
			if err := user.Create(ctx, ing); err != nil {
				if ctx.Err() == nil {
					c.fail("create Ingress "+ing.Name, err)
				}
			} else {
				c.requests.Add(1)
				if err := user.Delete(ctx, ing); err != nil && ctx.Err() == nil {
					c.fail("delete Ingress "+ing.Name, err)
				}
			}
			c.requests.Add(1)
			p := &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-dry-%d", ns, i)}}
			if err := user.Create(ctx, p, client.DryRunAll); err != nil && ctx.Err() == nil {
				c.fail("dry-run create Project "+p.Name, err)
			}
			c.requests.Add(1)
			if err := user.List(ctx, &accessv1.MyProjectList{}); err != nil && ctx.Err() == nil {
				c.fail("list MyProjects", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return c
}

func (c *churn) finish() {
	c.stop()
	<-c.done
}

// TestUpgradeKeepsEveryObject: the fleet runs the suite's build with
// tenants' objects of every kind; every component of the hub and of both
// members is replaced, one Deployment after the other and one replica at
// a time (shipped.Deployment.Roll: maxSurge 1, maxUnavailable 0), by a
// build of the same tree stamped newVersion. Meanwhile a tenant keeps
// sending admission requests and reading myprojects: none fails. After
// it every object is there with its UID, generation and spec, status is
// Ready again, and every component reports the new version on its
// MemberCluster. Then the fleet is rolled back to the suite's build (the
// same roll, a downgrade), for the tests after this one.
//
// Before the roll the member's CRDs gain an optional field (a newer
// release's schema) that objects made with the old build use: both builds
// keep it. After it the Project CRD's storage version moves to a v1alpha2
// and back (the projects operator migrates the stored objects; etcd is
// read to check). Then the rollback, and everything is checked again.
func TestUpgradeKeepsEveryObject(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx := context.Background()
	const oldVersion = suiteVersion
	newBin := filepath.Join(t.TempDir(), "bin")
	if err := components.BuildWithLDFlags(f.env.Root, newBin, version.LDFlags(newVersion, version.Unknown, version.Unknown), append(components.All[:len(components.All):len(components.All)], components.AtHub...)...); err != nil {
		t.Fatal(err)
	}
	// Each binary of the new build says so.
	for _, c := range append(components.All[:len(components.All):len(components.All)], components.AtHub...) {
		out, err := exec.CommandContext(ctx, filepath.Join(newBin, c.Binary()), "--version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), " "+newVersion+" ") {
			t.Fatalf("%s --version: %s (%v), want %s", c.Binary(), out, err, newVersion)
		}
	}
	clusters := []struct {
		name string
		c    *shipped.Components
	}{{"hub", f.HubComponents}, {memberName, f.member.Components}, {pdnsMemberName, f.pdnsMember.Components}}
	rolledBack := false
	rollBack := func() {
		// Back to the suite's build, rolled the same way.
		rolledBack = true
		for _, cl := range clusters {
			if err := cl.c.Roll(ctx, f.BinDir, 2*time.Minute); err != nil {
				t.Errorf("rolling %s back: %v", cl.name, err)
			}
		}
		if err := componentVersions(ctx, oldVersion, 3*time.Minute); err != nil {
			t.Errorf("after the rollback: %v", err)
		}
	}
	t.Cleanup(func() {
		if !rolledBack {
			rollBack()
		}
	})

	// The old build runs everywhere.
	if err := componentVersions(ctx, oldVersion, 3*time.Minute); err != nil {
		t.Fatalf("before the upgrade: %v", err)
	}

	// The newer release's CRDs come first, as docs/admin-guide.md says: a
	// new optional field (and schema version) in the member's Project,
	// GitLabPagesSite and OpenStackVolume CRDs, while the old build runs.
	for _, name := range upgradedCRDs {
		orig := addOptionalField(ctx, t, f.env, name)
		t.Cleanup(func() { restoreCRD(ctx, t, f.env, orig) })
	}

	// Tenants' objects of every kind.
	const tenant, project = "paula", "paula-upgrade"
	user, err := f.env.ClientAs(tenant)
	if err != nil {
		t.Fatal(err)
	}
	if err := user.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: project}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteProjectAs(ctx, t, f.env, tenant, project) })
	waitReady(ctx, t, project, 2*time.Minute)
	host := "blog." + project + "." + dnsZone
	site := pagesSite(project, "blog", "paula/blog", host)
	createAs(ctx, t, user, site.DeepCopy())
	waitSite(ctx, t, user, site, pagesv1.ConditionReady, "Published", 2*time.Minute)
	vol := osVolume(project, "data", 3)
	createAs(ctx, t, user, vol.DeepCopy())
	waitVolume(ctx, t, user, vol, "Bound", 2*time.Minute)
	ingHost := "www." + project + "." + dnsZone
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: "www"},
		Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: ingHost}}},
	}
	createAs(ctx, t, user, ing.DeepCopy())
	ep := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint",
		"metadata": map[string]any{"name": "alias", "namespace": project},
		"spec": map[string]any{"endpoints": []any{map[string]any{
			"dnsName": "alias." + project + "." + dnsZone, "recordType": "CNAME", "targets": []any{"www.example.net"},
		}}},
	}}
	createAs(ctx, t, user, ep.DeepCopy())

	// Objects that use the new field, made while the old build runs: its
	// operators add their finalizers and write status, and must keep a
	// field their types do not have.
	const note = "kept through the upgrade"
	notes := []struct {
		gvk schema.GroupVersionKind
		key client.ObjectKey
	}{
		{tenancyv1.GroupVersion.WithKind("Project"), client.ObjectKey{Name: project}},
		{pagesv1.GroupVersion.WithKind("GitLabPagesSite"), client.ObjectKey{Namespace: project, Name: "notes"}},
		{storagev1.GroupVersion.WithKind("OpenStackVolume"), client.ObjectKey{Namespace: project, Name: "notes"}},
	}
	if err := user.Patch(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: project}},
		client.RawPatch(types.MergePatchType, []byte(`{"spec":{"`+upgradeField+`":"`+note+`"}}`))); err != nil {
		t.Fatalf("the tenant setting the new field on its Project: %v", err)
	}
	notesSite := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": pagesv1.GroupVersion.String(), "kind": "GitLabPagesSite",
		"metadata": map[string]any{"namespace": project, "name": "notes"},
		"spec":     map[string]any{"project": "paula/blog", "hostname": "notes." + project + "." + dnsZone, upgradeField: note},
	}}
	notesVol := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": storagev1.GroupVersion.String(), "kind": "OpenStackVolume",
		"metadata": map[string]any{"namespace": project, "name": "notes"},
		"spec":     map[string]any{"sizeGiB": int64(1), upgradeField: note},
	}}
	createAs(ctx, t, user, notesSite)
	createAs(ctx, t, user, notesVol)
	waitSite(ctx, t, user, pagesSite(project, "notes", "", ""), pagesv1.ConditionReady, "Published", 2*time.Minute)
	waitVolume(ctx, t, user, osVolume(project, "notes", 1), "Bound", 2*time.Minute)
	checkNotes := func(when string) {
		t.Helper()
		for _, n := range notes {
			got, err := noteOf(ctx, f.env.Client, n.gvk, n.key)
			if err != nil || got != note {
				t.Errorf("%s: %s %s: %s = %q (%v), want %q", when, n.gvk.Kind, n.key, upgradeField, got, err, note)
			}
		}
	}
	checkNotes("with the old build")

	var objects []kept
	objects = append(objects,
		keep(ctx, t, f.env.Client, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: project}}),
		keep(ctx, t, f.env.Client, site), keep(ctx, t, f.env.Client, vol),
		keep(ctx, t, f.env.Client, ing), keep(ctx, t, f.env.Client, ep),
		keep(ctx, t, f.hub.Client, &fleetv1.HostnameClaim{ObjectMeta: metav1.ObjectMeta{Name: ingHost}}),
		keep(ctx, t, f.hub.Client, &fleetv1.HostnameClaim{ObjectMeta: metav1.ObjectMeta{Name: host}}),
	)
	tiers := &tenancyv1.ProjectTierList{}
	if err := f.env.Client.List(ctx, tiers); err != nil {
		t.Fatal(err)
	}
	for i := range tiers.Items {
		objects = append(objects, keep(ctx, t, f.env.Client, &tiers.Items[i]))
	}
	policies := &fleetv1.DomainPolicyList{}
	if err := f.hub.Client.List(ctx, policies); err != nil {
		t.Fatal(err)
	}
	for i := range policies.Items {
		objects = append(objects, keep(ctx, t, f.hub.Client, &policies.Items[i]))
	}
	for _, m := range []string{memberName, pdnsMemberName} {
		objects = append(objects, keep(ctx, t, f.hub.Client, &fleetv1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Name: m}}))
	}

	// The tenant works through the upgrade, and the webhooks keep two
	// ready replicas each.
	ch := startChurn(ctx, user, project)
	webhooks := map[string]*shipped.Deployment{}
	for _, m := range f.Members {
		for _, c := range []components.Component{components.Hostnames, components.ProjectsWebhook} {
			webhooks[m.Name+"/"+c.Deployment] = m.Deployment(c)
		}
	}
	fewest := sampleReady(ctx, webhooks)
	started := time.Now()
	for _, cl := range clusters {
		for _, name := range cl.c.Order() {
			if n := len(cl.c.Deployments[name].Pods()); name == components.Hostnames.Deployment || name == components.ProjectsWebhook.Deployment {
				if n < 2 {
					t.Errorf("%s: %s runs %d replicas, want two webhook replicas through the roll", cl.name, name, n)
				}
			}
			if err := cl.c.Deployments[name].Roll(ctx, newBin, 2*time.Minute); err != nil {
				ch.finish()
				t.Fatalf("%s: %v", cl.name, err)
			}
		}
	}
	// A little more traffic against the new build only.
	time.Sleep(2 * time.Second)
	ch.finish()
	for name, n := range fewest() {
		if n < 2 {
			t.Errorf("%s had %d ready replicas at some point of the roll, want 2 throughout", name, n)
		}
	}
	t.Logf("upgrade rolled in %s; the tenant sent %d requests", time.Since(started).Round(time.Second), ch.requests.Load())
	if n := ch.failures.Load(); n != 0 {
		t.Errorf("%d of %d requests failed during the upgrade; the first:\n%s", n, ch.requests.Load(), joinLines(ch.errs))
	}

	// Every component reports the new build, every object is as it was,
	// status converges.
	if err := componentVersions(ctx, newVersion, 3*time.Minute); err != nil {
		t.Errorf("after the upgrade: %v", err)
	}
	for _, k := range objects {
		if err := k.unchanged(ctx, t); err != nil {
			t.Error(err)
		}
	}
	waitReady(ctx, t, project, 2*time.Minute)
	waitSite(ctx, t, user, site, pagesv1.ConditionReady, "Published", 2*time.Minute)
	waitVolume(ctx, t, user, vol, "Bound", 2*time.Minute)
	checkNotes("after the upgrade")

	// The storage-version migration, as for an API that moves from
	// v1alpha1 to v1alpha2: the Project CRD serves v1alpha2 (the same
	// schema, conversion None) and stores it. The projects operator, with
	// its shipped RBAC, rewrites every Project and records storedVersions;
	// etcd then holds every Project as v1alpha2. Then back, as a rollback
	// of the storage version, after which v1alpha2 can be removed. The
	// tenant keeps working meanwhile.
	ch = startChurn(ctx, user, project)
	serveNextVersion(ctx, t, f.env, projectsCRD, "v1alpha1", "v1alpha2")
	storeAs(ctx, t, f.env, projectsCRD, "v1alpha2")
	if err := waitStored(ctx, f.env, projectsCRD, "v1alpha2", 2*time.Minute); err != nil {
		t.Errorf("migrating to v1alpha2: %v", err)
	}
	v2 := &unstructured.Unstructured{}
	v2.SetGroupVersionKind(schema.GroupVersionKind{Group: tenancyv1.GroupVersion.Group, Version: "v1alpha2", Kind: "Project"})
	if err := f.env.Client.Get(ctx, client.ObjectKey{Name: project}, v2); err != nil {
		t.Errorf("reading the Project as v1alpha2: %v", err)
	} else if got, _, _ := unstructured.NestedString(v2.Object, "spec", upgradeField); got != note || v2.GetUID() != objects[0].obj.GetUID() {
		t.Errorf("the Project as v1alpha2: UID %s, %s %q", v2.GetUID(), upgradeField, got)
	}
	storeAs(ctx, t, f.env, projectsCRD, "v1alpha1")
	if err := waitStored(ctx, f.env, projectsCRD, "v1alpha1", 2*time.Minute); err != nil {
		t.Errorf("migrating back to v1alpha1: %v", err)
	}
	if err := dropVersion(f.env, ctx, projectsCRD, "v1alpha2"); err != nil {
		t.Errorf("removing v1alpha2 once nothing is stored in it: %v", err)
	}
	ch.finish()
	if n := ch.failures.Load(); n != 0 {
		t.Errorf("%d of %d requests failed during the storage migration; the first:\n%s", n, ch.requests.Load(), joinLines(ch.errs))
	}

	// The rollback: the old build against the newer CRDs, which it
	// accepts (a newer schema version) and whose new field it keeps.
	rollBack()
	for _, k := range objects {
		if err := k.unchanged(ctx, t); err != nil {
			t.Errorf("after the rollback: %v", err)
		}
	}
	waitReady(ctx, t, project, 2*time.Minute)
	waitSite(ctx, t, user, site, pagesv1.ConditionReady, "Published", 2*time.Minute)
	waitVolume(ctx, t, user, vol, "Bound", 2*time.Minute)
	checkNotes("after the rollback")
}

// projectsCRD is the CRD the storage-version migration is played on.
const projectsCRD = "projects.tenancy.atrium.dev"

// upgradedCRDs gain the new optional field before the upgrade.
var upgradedCRDs = []string{projectsCRD, "gitlabpagessites.pages.atrium.dev", "openstackvolumes.storage.atrium.dev"}

func joinLines(s []string) string {
	out := ""
	for _, l := range s {
		out += "  " + l + "\n"
	}
	return out
}

// sampleReady probes the Deployments' replicas every 100ms until the
// returned function is called, which says the fewest ready replicas each
// had.
func sampleReady(ctx context.Context, deps map[string]*shipped.Deployment) func() map[string]int {
	ctx, cancel := context.WithCancel(ctx)
	fewest := map[string]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for name, d := range deps {
				n := 0
				for _, p := range d.Pods() {
					if p.Ready() {
						n++
					}
				}
				if old, ok := fewest[name]; !ok || n < old {
					fewest[name] = n
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() map[string]int {
		cancel()
		<-done
		return fewest
	}
}
