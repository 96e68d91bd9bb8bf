package report_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/report"
	"github.com/atrium-dev/atrium/internal/skew"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// reporter is comp's reporter on cluster, as its own identity at the hub.
func reporter(t *testing.T, cluster string, comp components.Component, ready func(context.Context) error) *report.Reporter {
	t.Helper()
	r, err := report.New(report.Options{Component: comp, Cluster: cluster, Version: "v1.2.3", Revision: "abc123", Ready: ready},
		restConfig(t, creds[cluster].Of(comp)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func memberCluster(t *testing.T, name string) *fleetv1.MemberCluster {
	t.Helper()
	mc := &fleetv1.MemberCluster{}
	if err := hub.Client.Get(context.Background(), client.ObjectKey{Name: name}, mc); err != nil {
		t.Fatal(err)
	}
	return mc
}

func entry(mc *fleetv1.MemberCluster, name string) *fleetv1.ComponentVersion {
	for i := range mc.Status.Components {
		if mc.Status.Components[i].Name == name {
			return &mc.Status.Components[i]
		}
	}
	return nil
}

// TestEachComponentOwnsItsEntry: two components of one cluster report
// through their own identities; each entry is its own field manager's, so
// a new report of one leaves the other as it was.
func TestEachComponentOwnsItsEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("envtest")
	}
	ctx := context.Background()
	projects := reporter(t, "a", components.Projects, nil)
	pages := reporter(t, "a", components.Pages, func(context.Context) error { return errors.New("caches failing") })
	for _, r := range []*report.Reporter{projects, pages} {
		if err := r.Report(ctx); err != nil {
			t.Fatalf("%s: %v", r.Component.Folder, err)
		}
	}
	mc := memberCluster(t, "a")
	p, g := entry(mc, components.Projects.Folder), entry(mc, components.Pages.Folder)
	if p == nil || g == nil {
		t.Fatalf("entries %+v", mc.Status.Components)
	}
	if !p.Ready || p.Version != "v1.2.3" || p.Revision != "abc123" || p.LastSeen.IsZero() {
		t.Errorf("projects' entry %+v", p)
	}
	if g.Ready || g.Message != "caches failing" {
		t.Errorf("pages' entry %+v: want not ready, with its readiness check's message", g)
	}
	before := *g
	projects.Ready = func(context.Context) error { return errors.New("leader lost") }
	if err := projects.Report(ctx); err != nil {
		t.Fatal(err)
	}
	mc = memberCluster(t, "a")
	if p := entry(mc, components.Projects.Folder); p == nil || p.Ready || p.Message != "leader lost" {
		t.Errorf("projects' entry after its second report: %+v", p)
	}
	if g := entry(mc, components.Pages.Folder); g == nil || *g != before {
		t.Errorf("pages' entry changed by projects' report: %+v, was %+v", g, before)
	}
	managers := map[string]bool{}
	for _, mf := range mc.ManagedFields {
		if mf.Subresource == "status" {
			managers[mf.Manager] = true
		}
	}
	if !managers[components.Projects.Deployment] || !managers[components.Pages.Deployment] {
		t.Errorf("status field managers %v, want %s and %s", managers, components.Projects.Deployment, components.Pages.Deployment)
	}
}

// applyAs applies a status of MemberCluster name as the given identity.
func applyAs(ctx context.Context, cfg *rest.Config, owner, name string, status map[string]any) error {
	c, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(fleetv1.GroupVersion.WithKind("MemberCluster"))
	u.SetName(name)
	u.Object["status"] = status
	return c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(owner), client.ForceOwnership)
}

func entryMap(name string) map[string]any {
	return map[string]any{"name": name, "version": "v0.0.1", "ready": true, "lastSeen": time.Now().UTC().Format(time.RFC3339)}
}

// TestHostileReports: a member's identity writes its own component's entry
// of its own cluster's MemberCluster, and nothing else.
func TestHostileReports(t *testing.T) {
	if testing.Short() {
		t.Skip("envtest")
	}
	ctx := context.Background()
	// Both clusters have reported once, so there are entries to take.
	for _, c := range clusters {
		if err := reporter(t, c, components.Volumes, nil).Report(ctx); err != nil {
			t.Fatal(err)
		}
	}
	aVolumes := restConfig(t, creds["a"].Of(components.Volumes))
	abVolumes := restConfig(t, creds["a-b"].Of(components.Volumes))
	for _, tc := range []struct {
		name   string
		cfg    *rest.Config
		target string
		status map[string]any
		want   string
	}{
		{"cluster a writes a-b's MemberCluster", aVolumes, "a-b",
			map[string]any{"components": []any{entryMap(components.Volumes.Folder)}}, "own cluster's MemberCluster only"},
		{"cluster a-b writes a's MemberCluster", abVolumes, "a",
			map[string]any{"components": []any{entryMap(components.Volumes.Folder)}}, "own cluster's MemberCluster only"},
		{"a component writes another's entry", aVolumes, "a",
			map[string]any{"components": []any{entryMap(components.Projects.Folder)}}, "writes only the entry operators/volumes"},
		{"a component invents an entry", aVolumes, "a",
			map[string]any{"components": []any{entryMap("operators/mining")}}, "writes only the entry operators/volumes"},
		{"a component sets the hub's conditions", aVolumes, "a",
			map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "AllReady", "message": "", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}}}, "summary and hubVersion are the hub's"},
		{"a component sets the hub's summary", aVolumes, "a",
			map[string]any{"summary": "all fine"}, "summary and hubVersion are the hub's"},
		{"a component sets the hub's version", aVolumes, "a",
			map[string]any{"hubVersion": "v1.2.3"}, "summary and hubVersion are the hub's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := applyAs(ctx, tc.cfg, "atrium-volumes", tc.target, tc.status)
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want Forbidden: …%s…", err, tc.want)
			}
		})
	}
	// Nor may it create, change or delete a MemberCluster (RBAC).
	c, err := client.New(aVolumes, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &fleetv1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Name: "a-c"}}); !apierrors.IsForbidden(err) {
		t.Errorf("create MemberCluster: %v, want Forbidden", err)
	}
	if err := c.Patch(ctx, &fleetv1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"displayName":"mine"}}`))); !apierrors.IsForbidden(err) {
		t.Errorf("patch MemberCluster's spec: %v, want Forbidden", err)
	}
	if err := c.Delete(ctx, &fleetv1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Name: "a"}}); !apierrors.IsForbidden(err) {
		t.Errorf("delete MemberCluster: %v, want Forbidden", err)
	}
}

// TestUnregisteredMember: a report to a MemberCluster the admin has not
// created says so.
func TestUnregisteredMember(t *testing.T) {
	if testing.Short() {
		t.Skip("envtest")
	}
	r, err := report.New(report.Options{Component: components.Projects, Cluster: "ghost", Version: "v1"}, hub.Config, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Report(context.Background())
	if !errors.Is(err, report.ErrNotRegistered) || !strings.Contains(err.Error(), "MemberCluster ghost") {
		t.Fatalf("got %v, want a MemberCluster ghost not registered", err)
	}
}

// TestHubDownDoesNotStopTheComponent: with the hub out of reach the
// component starts, serves its readiness probe as ready and keeps going;
// its reports fail and are retried, and go through once the hub is back.
func TestHubDownDoesNotStopTheComponent(t *testing.T) {
	if testing.Short() {
		t.Skip("envtest")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, err := url.Parse(hub.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := testenv.NewFaultProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.SetDown(true)
	hubCfg := restConfig(t, creds["a"].Of(components.ProjectsWebhook))
	hubCfg.Host = "https://" + proxy.Addr()

	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	probe := fmt.Sprintf("127.0.0.1:%d", port)
	// The member is the hub's control plane here: it serves every CRD.
	mgr, err := ctrl.NewManager(hub.Config, ctrl.Options{Scheme: manager.Scheme(), HealthProbeBindAddress: probe, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.AddReadyzCheck("ping", func(*http.Request) error { return nil }); err != nil {
		t.Fatal(err)
	}
	o := report.Options{Component: components.ProjectsWebhook, Cluster: "a", Version: "v9.9.9", Interval: 200 * time.Millisecond}
	if err := report.Wire(ctx, mgr, o, hubCfg, time.Second, probe); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	if err := testenv.Eventually(ctx, 30*time.Second, func() error {
		resp, err := http.Get("http://" + probe + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	}); err != nil {
		t.Fatalf("the component is not ready with the hub down: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("the component stopped with the hub down: %v", err)
	case <-time.After(time.Second):
	}
	if e := entry(memberCluster(t, "a"), components.ProjectsWebhook.Folder); e != nil && e.Version == "v9.9.9" {
		t.Fatalf("a report went through a hub that is down: %+v", e)
	}
	proxy.SetDown(false)
	if err := testenv.Eventually(ctx, 30*time.Second, func() error {
		e := entry(memberCluster(t, "a"), components.ProjectsWebhook.Folder)
		if e == nil || e.Version != "v9.9.9" || !e.Ready {
			return fmt.Errorf("entry %+v", e)
		}
		return nil
	}); err != nil {
		t.Fatalf("no report once the hub is back: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestHubCRDsOlderThanNeeded: the hostnames webhook reads and writes the
// hub's HostnameClaims and DomainPolicies. While the hub serves either at
// a schema version older than the binary needs (here: a binary needing one
// more than the hub's), its entry is not ready and names the CRD; with the
// hub's CRDs as new as needed it is ready again. Its own hub identity can
// read those CRDs (the shipped hub role).
func TestHubCRDsOlderThanNeeded(t *testing.T) {
	if testing.Short() {
		t.Skip("envtest")
	}
	ctx := context.Background()
	ahead := skew.Need{CRD: skew.HostnameClaims.CRD, Version: skew.HostnameClaims.Version + 1}
	for _, tc := range []struct {
		needs     []skew.Need
		ready     bool
		inMessage string
	}{
		{needs: []skew.Need{ahead, skew.DomainPolicies}, ready: false, inMessage: "the hub: version skew: CRD hostnameclaims.fleet.atrium.dev serves schema version"},
		{needs: []skew.Need{skew.HostnameClaims, skew.DomainPolicies}, ready: true},
	} {
		r := reporter(t, "a", components.Hostnames, nil)
		r.HubNeeds = tc.needs
		if err := r.Report(ctx); err != nil {
			t.Fatal(err)
		}
		e := entry(memberCluster(t, "a"), components.Hostnames.Folder)
		if e == nil || e.Ready != tc.ready || !strings.Contains(e.Message, tc.inMessage) {
			t.Fatalf("needs %v: entry %+v, want ready=%v with %q", tc.needs, e, tc.ready, tc.inMessage)
		}
		if tc.ready && strings.Contains(e.Message, "skew") {
			t.Fatalf("entry still says %q", e.Message)
		}
	}
}

// TestReleaseOutsideTheHubsWindow: the hub's fleet operator writes its
// release on the MemberCluster; a member component more than one minor
// release from it reports itself not ready, saying both releases, in the
// very report that learnt the hub's; one within the window is ready. A
// development build on either side is not judged.
func TestReleaseOutsideTheHubsWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("envtest")
	}
	ctx := context.Background()
	for _, tc := range []struct {
		hub, member string
		ready       bool
	}{
		{"v1.0.0", "v1.2.3", false},
		{"v1.4.0", "v1.2.3", false},
		{"v2.2.0", "v1.2.3", false},
		{"v1.3.1", "v1.2.3", true},
		{"v1.1.0-4-gabcdef0", "v1.2.3", true},
		{"v1.0.0", "(devel)", true},
	} {
		// The hub's part, as the fleet operator writes it (the admin
		// here, which the hub's policy does not restrict).
		mc := memberCluster(t, "a")
		patch := []byte(`{"status":{"hubVersion":"` + tc.hub + `"}}`)
		if err := hub.Client.Status().Patch(ctx, mc, client.RawPatch(types.MergePatchType, patch)); err != nil {
			t.Fatal(err)
		}
		r, err := report.New(report.Options{Component: components.Pages, Cluster: "a", Version: tc.member},
			restConfig(t, creds["a"].Of(components.Pages)), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Report(ctx); err != nil {
			t.Fatal(err)
		}
		e := entry(memberCluster(t, "a"), components.Pages.Folder)
		if e == nil || e.Ready != tc.ready {
			t.Fatalf("hub %s, member %s: entry %+v, want ready=%v", tc.hub, tc.member, e, tc.ready)
		}
		if !tc.ready && !strings.Contains(e.Message, "version skew: operators/pages is "+tc.member+", the hub "+tc.hub) {
			t.Fatalf("hub %s, member %s: message %q names not both releases", tc.hub, tc.member, e.Message)
		}
	}
}
