package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/hostname"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/webhooks/hostnames/claims"
)

const (
	// shippedKustomization is the benchmark member: the member overlay
	// with the hostnames webhook as its only Deployment.
	shippedKustomization = "hack/bench/testdata/hostnames-member"
	// shippedDomainPolicy grants every member the benchmark's domain.
	shippedDomainPolicy = "hack/bench/testdata/domainpolicy.yaml"
	// fillProjects is how many Projects the inventory is spread over, and
	// fillClients how many clients create it at once.
	fillProjects = 50
	fillClients  = 8
	// floorNamespace is left out by the webhook's namespaceSelector (a
	// platform namespace): its creates are the same API server's floor.
	floorNamespace = "bench-floor"
)

// shippedResult is one run of the webhook as shipped, with n Ingresses
// (and as many claims of this cluster) in place before the timed loops.
type shippedResult struct {
	// version is the API servers' version.
	version string
	n       int
	// sameHub says the member was its own hub.
	sameHub bool
	// fill is how long the n Ingresses took to create through the
	// webhook, settle how much longer until the releaser had marked every
	// claim InUse.
	fill, settle            time.Duration
	floor, admitted, denied stats
	// admittedParts and deniedParts say where each loop's time went, as
	// the API servers and the webhook count it.
	admittedParts, deniedParts []breakdownRow
	// rssServing is each replica's peak resident memory (KiB) over the
	// fill and the loops; rssCold that of a replica started afresh with
	// the n Ingresses and claims there, once ready.
	rssServing, rssCold []int64
	// hubCreate, hubExists and hubGet are the hub requests behind the
	// decisions, timed alone.
	hubCreate, hubExists, hubGet stats
}

// measureShipped runs the hostnames webhook as an admin installs it: its
// binary, the Deployment's arguments and replicas, its RBAC, TLS serving
// certificate and hub identity, called by the member API server through its
// Service. It fills the member with n Ingresses through the webhook, times
// the three create loops, and reads each replica's peak memory while
// serving and after a cold start with the n objects in place.
//
// With sameHub the member is the hub too (config/overlays/hub-and-member):
// the webhook claims on its own API server.
func measureShipped(ctx context.Context, tier *tenancyv1.ProjectTier, n int, sameHub bool) (r shippedResult, err error) {
	r.n, r.sameHub = n, sameHub
	dir, err := os.MkdirTemp("", "atrium-bench-hostnames-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	fl, err := fleet.Start(ctx, fleet.Options{
		Mode: fleet.Shipped, Kustomization: shippedKustomization, Dir: dir,
		HubObjects: []string{shippedDomainPolicy}, NoControllerManager: noControllerManager,
		ExtraCRDs: []string{testenv.StandInCRDs},
		Members:   []fleet.MemberOptions{{Name: benchCluster}}, HubIsMember: sameHub,
		OnExit: func(p *procs.Process, err error) {
			fmt.Fprintf(os.Stderr, "%s exited unexpectedly: %v\n%s\n", p.Name, err, p.Tail(30))
		},
	})
	if err != nil {
		return r, err
	}
	defer fl.Stop()
	hub, member := fl.Hub, fl.Members[0]
	if r.version, err = serverVersion(hub); err != nil {
		return r, err
	}
	dep := member.Deployment(components.Hostnames)
	c := member.Env.Client

	if err := c.Create(ctx, tier.DeepCopy()); err != nil {
		return r, err
	}
	for i := range fillProjects {
		if err := tenant(ctx, c, projectName(i)); err != nil {
			return r, err
		}
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: floorNamespace,
		Labels: map[string]string{platformLabel: "true"}}}); err != nil {
		return r, err
	}
	if err := heldElsewhere(ctx, hub.Client); err != nil {
		return r, err
	}

	fmt.Printf("      filling the member with %s Ingresses and their claims\n", thousands(n))
	start := time.Now()
	if err := fill(ctx, c, hub.Client, n); err != nil {
		return r, fmt.Errorf("filling: %w", err)
	}
	r.fill = time.Since(start)
	fmt.Printf("      filled in %s (%.0f a second)\n", r.fill.Round(time.Second), float64(n)/r.fill.Seconds())
	// The API server and the webhook's caches see the namespaces become
	// the Projects' again asynchronously: a hostname outside every grant
	// is refused once creates there reach the webhook.
	if err := testenv.Eventually(ctx, time.Minute, func() error {
		probe := benchIngress(projectName(0), "probe", "", "probe.outside.test")
		err := c.Create(ctx, probe)
		if err == nil {
			_ = c.Delete(ctx, probe)
			return errors.New("a create in a tenant namespace did not reach the webhook")
		}
		if !apierrors.IsForbidden(err) {
			return err
		}
		return nil
	}); err != nil {
		return r, err
	}
	if err := testenv.Eventually(ctx, time.Minute, func() error {
		return c.Create(ctx, benchIngress(projectName(0), "first", "", "first."+benchDomain))
	}); err != nil {
		return r, fmt.Errorf("first create through the webhook: %w", err)
	}

	// The releaser (on the leader) then marks each claim InUse at the hub;
	// the loops start once it has, so they do not share the cores with its
	// backlog, and every claim is checked to be held for its Ingress.
	start = time.Now()
	if err := claimsInUse(ctx, hub.Client, n+1); err != nil {
		return r, err
	}
	r.settle = time.Since(start)
	fmt.Printf("      every claim InUse %s later\n", r.settle.Round(time.Second))

	loops, err := e2eLoops(ctx, member.Env, hub, dep)
	if err != nil {
		return r, err
	}
	r.floor, r.admitted, r.denied = loops.floor, loops.admitted, loops.denied
	r.admittedParts, r.deniedParts = loops.admittedParts, loops.deniedParts

	// Every admitted create left its claim at the hub, and nothing else
	// did: the fill, the first create and the admitted loop.
	var list fleetv1.HostnameClaimList
	if err := hub.Client.List(ctx, &list, client.MatchingLabels{fleetv1.ClusterLabel: benchCluster}); err != nil {
		return r, err
	}
	if want := n + 1 + e2eWarmup + e2eCreates; len(list.Items) != want {
		return r, fmt.Errorf("%d claims of %s at the hub, want %d", len(list.Items), benchCluster, want)
	}

	r.rssServing = replicasPeakRSS(dep)
	fmt.Printf("      serving: peak resident memory %s\n", fmtKiB(r.rssServing))
	// A cold start: each replica replaced, one after another as a rollout
	// does, and read once it is ready and has settled.
	for _, p := range dep.Pods() {
		if _, err := dep.Replace(ctx, p); err != nil {
			return r, err
		}
		if err := dep.WaitReady(ctx, 5*time.Minute); err != nil {
			return r, err
		}
	}
	// The new leader checks every claim against its object once: the peak
	// is read after that, and the check must release none of them (each
	// Ingress still carries its hostname).
	if err := releaserCaughtUp(ctx, dep, len(list.Items)); err != nil {
		return r, fmt.Errorf("after the cold start: %w", err)
	}
	r.rssCold = replicasPeakRSS(dep)
	fmt.Printf("      cold start: peak resident memory %s\n", fmtKiB(r.rssCold))
	if err := claimsInUse(ctx, hub.Client, len(list.Items)); err != nil {
		return r, fmt.Errorf("after the cold start: %w", err)
	}

	r.hubCreate, r.hubExists, r.hubGet, err = hubRoundTrips(ctx, hub.Client)
	return r, err
}

// releaserCaughtUp waits until the releaser's leader has reconciled at
// least claims claims and its queue is empty, by its metrics.
func releaserCaughtUp(ctx context.Context, dep *shipped.Deployment, claims int) error {
	const controller, lease = "hostnameclaims", "atrium-hostnames.atrium.dev"
	deadline := time.Now().Add(15 * time.Minute)
	last := "no leader"
	for time.Now().Before(deadline) {
		for _, p := range dep.Pods() {
			m := scrapeReplica(ctx, p, webhookMetricsPort, controller, lease)
			if !m.leader {
				continue
			}
			if m.reconciles >= float64(claims) && m.depth == 0 && m.activeWorkers == 0 {
				return nil
			}
			last = fmt.Sprintf("the leader reconciled %.0f of %d claims, %.0f queued", m.reconciles, claims, m.depth)
		}
		time.Sleep(2 * time.Second)
	}
	return fmt.Errorf("the releaser did not catch up in 15m: %s", last)
}

// claimsInUse waits until the hub holds want claims of the benchmark's
// cluster and each says Ready: InUse.
func claimsInUse(ctx context.Context, hub client.Client, want int) error {
	var last string
	err := testenv.Eventually(ctx, 10*time.Minute, func() error {
		var list fleetv1.HostnameClaimList
		if err := hub.List(ctx, &list, client.MatchingLabels{fleetv1.ClusterLabel: benchCluster}); err != nil {
			return err
		}
		inUse := 0
		for _, c := range list.Items {
			if cond := meta.FindStatusCondition(c.Status.Conditions, "Ready"); cond != nil && cond.Reason == "InUse" {
				inUse++
			}
		}
		if last = fmt.Sprintf("%d claims, %d InUse, want %d", len(list.Items), inUse, want); inUse != want || len(list.Items) != want {
			time.Sleep(2 * time.Second)
			return errors.New(last)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("claims at the hub: %s", last)
	}
	return nil
}

// platformLabel marks a platform namespace, which the webhook's
// namespaceSelector leaves out.
const platformLabel = "atrium.dev/platform"

// fill makes what n admitted Ingresses leave behind, faster than n
// admissions would: the Projects' namespaces are platform namespaces
// meanwhile, so the API server stores each Ingress without calling the
// webhook, and the benchmark's process claims its hostname with the
// webhook's own Reserver (create, then the overlap reads), recording the
// Ingress's UID as admission would. Then the namespaces are the Projects'
// again. The webhook's replicas watch all of it happen, as they would
// admissions: the Ingresses and the claims reach their caches, and the
// releaser marks each claim InUse.
func fill(ctx context.Context, c, hub client.Client, n int) error {
	setPlatform := func(on bool) error {
		for i := range fillProjects {
			ns := &corev1.Namespace{}
			if err := c.Get(ctx, client.ObjectKey{Name: projectName(i)}, ns); err != nil {
				return err
			}
			if on {
				ns.Labels[platformLabel] = "true"
			} else {
				delete(ns.Labels, platformLabel)
			}
			if err := c.Update(ctx, ns); err != nil {
				return err
			}
		}
		return nil
	}
	if err := setPlatform(true); err != nil {
		return err
	}
	// The webhook's selector is evaluated by the API server from its own
	// namespace informer: wait until a create in a tenant namespace no
	// longer reaches the webhook (a hostname outside every grant would be
	// refused there).
	if err := testenv.Eventually(ctx, time.Minute, func() error {
		return c.Create(ctx, benchIngress(projectName(0), "bypass", "", "bypass.outside.test"))
	}); err != nil {
		return fmt.Errorf("a create the webhook should not see: %w", err)
	}
	if err := c.Delete(ctx, benchIngress(projectName(0), "bypass", "", "")); err != nil {
		return err
	}
	index := fake.NewClientBuilder().WithScheme(manager.Scheme()).Build()
	reserver := &claims.Reserver{Hub: hub, Index: index, Cluster: benchCluster}
	if err := parallel(n, fillClients, func(i int) error {
		ns := projectName(i % fillProjects)
		ing := benchIngress(ns, fmt.Sprintf("fill-%06d", i), "", fillHost(i))
		if err := c.Create(ctx, ing); err != nil {
			return err
		}
		h := hostname.Hostname{Name: fillHost(i)}
		return reserver.Reserve(ctx, h, claims.Holder{Namespace: ns, Project: ns},
			fleetv1.SourceRef{Group: ingressKind.Group, Kind: ingressKind.Kind, Name: ing.Name, UID: string(ing.UID)}, false)
	}); err != nil {
		return err
	}
	return setPlatform(false)
}

func fillHost(i int) string { return fmt.Sprintf("fill-%06d.%s", i, benchDomain) }

// hub names the run's topology in the report.
func (r shippedResult) hub() string {
	if r.sameHub {
		return "the member's own"
	}
	return "separate"
}

// projectName is the i-th tenant Project of the benchmark.
func projectName(i int) string { return fmt.Sprintf("t-%02d", i) }

// tenant creates a Project and its namespace as the projects operator
// would have (it does not run here).
func tenant(ctx context.Context, c client.Client, name string) error {
	if err := c.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenancyv1.ProjectSpec{Owner: benchUser.Username, Tier: "standard"}}); err != nil {
		return err
	}
	return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{tenancyv1.ProjectLabel: name}}})
}

// heldElsewhere claims, at the hub, the hostnames the refused loop asks
// for, for another cluster.
func heldElsewhere(ctx context.Context, hub client.Client) error {
	for i := range e2eCreates + e2eWarmup {
		h := hostname.Hostname{Name: takenHost(i)}
		if err := hub.Create(ctx, &fleetv1.HostnameClaim{
			ObjectMeta: metav1.ObjectMeta{Name: hostname.ClaimName(h),
				Labels: map[string]string{fleetv1.ClusterLabel: otherCluster, fleetv1.NamespaceLabel: otherNamespace}},
			Spec: fleetv1.HostnameClaimSpec{Hostname: h.Name, Cluster: otherCluster, Namespace: otherNamespace,
				Sources: []fleetv1.SourceRef{{Group: ingressKind.Group, Kind: ingressKind.Kind, Name: "site", ReservedAt: metav1.Now()}}},
		}); err != nil {
			return err
		}
	}
	return nil
}

func takenHost(i int) string { return fmt.Sprintf("taken-%04d.%s", i, benchDomain) }

// loopsResult are the three create loops of one run.
type loopsResult struct {
	floor, admitted, denied    stats
	admittedParts, deniedParts []breakdownRow
}

// e2eLoops times e2eCreates sequential creates from one client three
// ways: in the floor namespace, which the webhook does not see; admitted,
// new hostnames in a tenant's namespace; refused, hostnames another
// cluster holds. Each create's outcome is checked, and the two webhook
// loops run between scrapes of the API servers' and the replicas' metrics.
func e2eLoops(ctx context.Context, member, hub *testenv.Env, dep *shipped.Deployment) (r loopsResult, err error) {
	c := member.Client
	loop := func(what, ns, name string, host func(i int) string, check func(error) error) (stats, error) {
		var samples []time.Duration
		runtime.GC()
		for i := range e2eWarmup + e2eCreates {
			start := time.Now()
			err := c.Create(ctx, benchIngress(ns, fmt.Sprintf("%s-%04d", name, i), "", host(i)))
			d := time.Since(start)
			if err := check(err); err != nil {
				return stats{}, fmt.Errorf("%s, create %d: %w", what, i, err)
			}
			if i >= e2eWarmup {
				samples = append(samples, d)
			}
		}
		s := summarize(samples)
		fmt.Printf("      %-40s p50 %s, p99 %s\n", what, fmtDur(s.p50), fmtDur(s.p99))
		return s, nil
	}
	mustSucceed := func(err error) error { return err }
	mustBeRefused := func(err error) error {
		switch {
		case err == nil:
			return errors.New("admitted, want refused")
		case !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "already in use"):
			return fmt.Errorf("want a refusal for a held hostname, got %w", err)
		}
		return nil
	}
	parts := func(what, ns, name string, host func(i int) string, check func(error) error) (stats, []breakdownRow, error) {
		before, err := takeSnapshots(ctx, member, hub, dep)
		if err != nil {
			return stats{}, nil, err
		}
		s, err := loop(what, ns, name, host, check)
		if err != nil {
			return s, nil, err
		}
		after, err := takeSnapshots(ctx, member, hub, dep)
		if err != nil {
			return s, nil, err
		}
		return s, breakdown(before, after, e2eWarmup+e2eCreates), nil
	}
	if r.floor, err = loop("no webhook (a platform namespace)", floorNamespace, "floor",
		func(i int) string { return fmt.Sprintf("floor-%04d.%s", i, benchDomain) }, mustSucceed); err != nil {
		return r, err
	}
	if r.admitted, r.admittedParts, err = parts("Atrium: admitted, new hostnames", projectName(0), "site",
		func(i int) string { return fmt.Sprintf("site-%04d.%s", i, benchDomain) }, mustSucceed); err != nil {
		return r, err
	}
	r.denied, r.deniedParts, err = parts("Atrium: refused, hostnames held", projectName(0), "copy", takenHost, mustBeRefused)
	return r, err
}

// scrapeReplicas reads every replica's own /metrics endpoint (the
// Deployment's metrics port).
func scrapeReplicas(ctx context.Context, dep *shipped.Deployment) ([]metricsSnapshot, error) {
	var out []metricsSnapshot
	for _, p := range dep.Pods() {
		url := fmt.Sprintf("http://127.0.0.1:%d/metrics", p.Port(webhookMetricsPort))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("scraping %s: %w", p.Name, err)
		}
		s, err := parseMetrics(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("scraping %s: %w", p.Name, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// webhookMetricsPort is the container's metrics port in its Deployment.
const webhookMetricsPort = 8084

// replicasPeakRSS is each replica's peak resident memory so far, in KiB.
func replicasPeakRSS(dep *shipped.Deployment) []int64 {
	var out []int64
	for _, p := range dep.Pods() {
		out = append(out, peakRSS(p.Process().Pid()))
	}
	return out
}

// fmtKiB prints memory figures in MiB, the largest first.
func fmtKiB(kib []int64) string {
	var parts []string
	for _, k := range kib {
		parts = append(parts, fmt.Sprintf("%.0f MiB", float64(k)/1024))
	}
	return strings.Join(parts, ", ")
}

// maxKiB is the largest figure.
func maxKiB(kib []int64) int64 {
	var m int64
	for _, k := range kib {
		m = max(m, k)
	}
	return m
}

// renderShipped writes the end-to-end part of the report: the creates at
// each size against the floor, the aims, where the time went and memory.
// shippedHeading starts the end-to-end part of the hostnames section.
const shippedHeading = "\n### End to end: the webhook as shipped"

func renderShipped(b *strings.Builder, runs []shippedResult) {
	if len(runs) == 0 {
		return
	}
	fmt.Fprintf(b, "%s\n\n", shippedHeading)
	fmt.Fprintf(b, "A hub and a member kube-apiserver %s on loopback. The member is installed from `%s` "+
		"(the member overlay with the hostnames webhook as its only Deployment): the webhook's binary runs as its Deployment's "+
		"%d replicas with the Deployment's arguments, its RBAC, its TLS serving certificate and its own identity at the hub, "+
		"and the member API server calls it through its Service. The member first holds N Ingresses over %d Projects, each with its "+
		"hostname claimed at the hub as admission leaves it (made faster than by N admissions: the Ingresses stored while their namespaces "+
		"were platform namespaces, each hostname claimed by the webhook's own Reserver from the benchmark's process, %d at once; the "+
		"replicas watch it all, and the loops wait until the releaser has marked every claim InUse). Then %d Ingress creates, one client, "+
		"one after another, after %d untimed, three ways. The floor is the same API server's creates in a platform namespace, which the "+
		"webhook's namespaceSelector leaves out.\n\n",
		runs[0].version, shippedKustomization, len(runs[0].rssServing), fillProjects, fillClients, e2eCreates, e2eWarmup)
	fmt.Fprintf(b, "| hub | Ingresses (claims) | creates | p50 | p99 | mean |\n|---|---|---|---|---|---|\n")
	for _, r := range runs {
		for _, row := range []struct {
			what string
			s    stats
		}{
			{"no webhook (the floor)", r.floor},
			{"admitted: new hostnames (claim created at the hub)", r.admitted},
			{"refused: hostnames held by another cluster", r.denied},
		} {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", r.hub(), thousands(r.n), row.what, fmtDur(row.s.p50), fmtDur(row.s.p99), fmtDur(row.s.mean))
		}
	}

	fmt.Fprintf(b, "\n| hub | Ingresses | aim | figure |\n|---|---|---|---|\n")
	for _, r := range runs {
		ratio := float64(r.admitted.p50) / float64(r.floor.p50)
		fmt.Fprintf(b, "| %s | %s | admitted p50 ≤ 2.5× the floor's p50 | **%.1f×** %s |\n", r.hub(), thousands(r.n), ratio, verdict(ratio <= 2.5))
		least := r.floor.p50 + r.hubCreate.p50 + r.hubGet.p50
		fmt.Fprintf(b, "| %s | %s | (for reference) admitted p50 against the least a reservation costs: the floor, and a claim's create and one read at the hub, timed alone (%s) | **%.1f×** |\n",
			r.hub(), thousands(r.n), fmtDur(least), float64(r.admitted.p50)/float64(least))
		fmt.Fprintf(b, "| %s | %s | admitted p99 ≤ 10 ms | **%s** %s |\n", r.hub(), thousands(r.n), fmtDur(r.admitted.p99), verdict(r.admitted.p99 <= 10*time.Millisecond))
		fmt.Fprintf(b, "| %s | %s | refused no slower than admitted (p50) | **%s vs %s** %s |\n", r.hub(), thousands(r.n),
			fmtDur(r.denied.p50), fmtDur(r.admitted.p50), verdict(r.denied.p50 <= r.admitted.p50))
		fmt.Fprintf(b, "| %s | %s | webhook peak memory ≤ %d MiB (largest replica, serving / cold start) | **%s / %s** %s |\n", r.hub(), thousands(r.n),
			memoryAim(r.n), fmtKiB([]int64{maxKiB(r.rssServing)}), fmtKiB([]int64{maxKiB(r.rssCold)}),
			verdict(max(maxKiB(r.rssServing), maxKiB(r.rssCold)) <= int64(memoryAim(r.n))*1024))
	}

	fmt.Fprintf(b, "\nMaking the inventory: ")
	for i, r := range runs {
		if i > 0 {
			fmt.Fprintf(b, "; ")
		}
		fmt.Fprintf(b, "%s, %s Ingresses in %s (%.0f a second), every claim InUse %s later", r.hub(), thousands(r.n), r.fill.Round(time.Second),
			float64(r.n)/r.fill.Seconds(), r.settle.Round(time.Second))
	}
	fmt.Fprintf(b, ". Each replica's peak resident memory (VmHWM; one of them is the releaser's leader): ")
	for i, r := range runs {
		if i > 0 {
			fmt.Fprintf(b, "; ")
		}
		fmt.Fprintf(b, "%s, at %s, %s while the inventory was made and the loops ran, %s after a cold start (each replica replaced, in turn)",
			r.hub(), thousands(r.n), fmtKiB(r.rssServing), fmtKiB(r.rssCold))
	}
	fmt.Fprintf(b, ".\n")

	last := runs[len(runs)-1]
	fmt.Fprintf(b, "\nThe hub requests behind those decisions, timed alone from the benchmark's process as the hub's admin "+
		"(%d each, one after another, with %s claims there):\n\n", last.hubCreate.n, thousands(last.n))
	fmt.Fprintf(b, "| hub request | used when | p50 | p99 | mean |\n|---|---|---|---|---|\n")
	for _, row := range []struct {
		what, when string
		s          stats
	}{
		{"create a HostnameClaim", "a new hostname is admitted", last.hubCreate},
		{"create a HostnameClaim that exists (AlreadyExists)", "a held hostname is refused, first", last.hubExists},
		{"get a HostnameClaim", "a held hostname is refused, then, to name its holder", last.hubGet},
	} {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", row.what, row.when, fmtDur(row.s.p50), fmtDur(row.s.p99), fmtDur(row.s.mean))
	}

	fmt.Fprintf(b, "\nWhere a create's time goes, as each part counts itself: the mean per create over each loop, from the growth of "+
		"the member API server's `apiserver_request_duration_seconds` and `apiserver_admission_webhook_admission_duration_seconds`, the "+
		"replicas' `controller_runtime_webhook_latency_seconds` and the hub's `apiserver_request_duration_seconds` (server side, so the "+
		"client's and the network's part is the difference to the figures above):\n\n")
	fmt.Fprintf(b, "| hub | Ingresses | part | admitted: mean | per create | refused: mean | per create |\n|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		for i := range r.admittedParts {
			a, d := r.admittedParts[i], r.deniedParts[i]
			fmt.Fprintf(b, "| %s | %s | %s | %s | %.2f | %s | %.2f |\n", r.hub(), thousands(r.n), a.what, fmtDur(a.mean), a.perCreat, fmtDur(d.mean), d.perCreat)
		}
	}
	fmt.Fprintf(b, "\nEverything shares the machine's cores: both API servers and their etcds, the replicas and the client.\n")
}

// memoryAim is the hostnames webhook's memory aim, in MiB, with n
// Ingresses in the cluster.
func memoryAim(n int) int {
	if n <= 10_000 {
		return 150
	}
	return 500
}
