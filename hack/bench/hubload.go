package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	ctrladmission "sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/hub"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/webhooks/hostnames/admission"
	"github.com/atrium-dev/atrium/webhooks/hostnames/claims"
	"github.com/atrium-dev/atrium/webhooks/hostnames/wiring"
)

// The hubload benchmark puts one hub under a fleet: many members' hostnames
// webhooks claiming hostnames at once, some of them the same hostnames. It
// times the hub and the members' admissions, and checks every decision
// against the claims the hub holds afterwards (judgeHubload): a fast hub
// that let two members win one hostname would fail it.

// hubloadShape is one run's fleet and load.
type hubloadShape struct {
	// members is how many member clusters claim at once.
	members int
	// perMember is how many hostnames each member asks for, one Ingress
	// create each.
	perMember int
	// contested is the fraction of each member's hostnames that other
	// members ask for too.
	contested float64
	// contenders is how many members ask for each contested hostname.
	contenders int
	// workers is how many admissions each member has in flight: a
	// member's API server calls its webhook for every create it is sent,
	// so this is how many of its clients create at once. The default, 2,
	// keeps 40 admissions in flight for 20 members: past what the hub
	// answers, more only lengthen each admission, up to the hub timeout,
	// where the webhook refuses (fails closed).
	workers int
}

// hubloadPlan says who asks for what, and in which order.
type hubloadPlan struct {
	// hosts are each member's hostnames in the order it asks for them.
	hosts [][]string
	// askers are the members that ask for each contested hostname.
	askers map[string][]int
}

// contestedHost and ownHost name the hostnames of the plan.
func contestedHost(i int) string  { return fmt.Sprintf("shared-%06d.%s", i, benchDomain) }
func ownHost(m, p int) string     { return fmt.Sprintf("m%03d-%05d.%s", m, p, benchDomain) }
func memberName(m int) string     { return fmt.Sprintf("member-%02d", m) }
func hubloadIngress(p int) string { return fmt.Sprintf("ing-%05d", p) }
func hubloadUID(m, p int) types.UID {
	return types.UID(fmt.Sprintf("00000000-0000-%04d-0000-%012d", m, p))
}

// planHubload deals the contested hostnames out so that each member gets
// its share and each hostname goes to distinct members: slot s of all
// members×share slots is hostname s/contenders and member s%members, so
// the contenders of one hostname are consecutive members. Each member asks
// for its contested hostnames spread evenly over its run, in the order of
// their numbers; the contenders of one hostname hold it at the same or the
// next spread position, so they ask at about the same time as long as the
// members keep pace with each other (the report says how far apart they
// were).
func planHubload(s hubloadShape) (*hubloadPlan, error) {
	share := int(math.Round(s.contested * float64(s.perMember)))
	if share > 0 && (s.contenders < 2 || s.contenders > s.members) {
		return nil, fmt.Errorf("%d contenders for each contested hostname: want 2 to %d (the members)", s.contenders, s.members)
	}
	slots := s.members * share
	slots -= slots % max(s.contenders, 1) // every contested hostname has all its contenders
	contested := make([][]string, s.members)
	askers := map[string][]int{}
	for slot := range slots {
		h, m := contestedHost(slot/s.contenders), slot%s.members
		contested[m] = append(contested[m], h)
		askers[h] = append(askers[h], m)
	}
	p := &hubloadPlan{askers: askers, hosts: make([][]string, s.members)}
	for m := range s.members {
		c, j := contested[m], 0
		for pos := range s.perMember {
			if j < len(c) && pos*len(c) >= j*s.perMember {
				p.hosts[m] = append(p.hosts[m], c[j])
				j++
			} else {
				p.hosts[m] = append(p.hosts[m], ownHost(m, pos))
			}
		}
	}
	return p, nil
}

// hubloadMember is one member's hostnames webhook as wiring.Setup builds
// it, hub side alike: its own identity at the hub, its own client-side
// limit, its own cache of its claims and of the domain policy.
type hubloadMember struct {
	name    string
	handler *admission.Hostnames
	hub     cluster.Cluster
	// requests are its admission requests, encoded before the run as the
	// API server sends them.
	requests []ctrladmission.Request
}

// hubloadOutcome is one admission's decision and timing, the start
// relative to the run's start.
type hubloadOutcome struct {
	start, took time.Duration
	allowed     bool
	message     string
}

// hubloadRun is what one run measured.
type hubloadRun struct {
	shape    hubloadShape
	version  string
	hostSets struct{ contested, own int }
	// wall is from the first admission's start to the last one's end.
	wall time.Duration
	// admitted and refused are the times of the admissions admitted and
	// of those refused as held by another member.
	admitted, refused stats
	worstMember       string
	worstP99          time.Duration
	// allBusy is how long every member was still claiming (until the
	// first finished), and sustained the claims admitted per second then:
	// the rate at full load, without the tail where fewer members are
	// left.
	allBusy   time.Duration
	sustained float64
	// spreadMedian and spreadMax are how far apart the first and the last
	// contender of a contested hostname started their admissions.
	spreadMedian, spreadMax time.Duration
	claims                  int
	cacheLag                time.Duration
	hubRequests             []hubRequestRow
	apfWait                 stats
	apfWaitMean             time.Duration
	apfRejected             float64
	// etcdBytes is how much etcd's database in use grew over the run.
	etcdBytes          float64
	cpu                map[string]float64
	rss                map[string]int64
	contestedOK, ownOK int
	// contestedNone are the contested hostnames no member won because the
	// hub did not answer in time; slow are the admissions refused so, and
	// stray the claims the hub made for them before its answer was lost.
	contestedNone, slow, stray int
}

// hubRequestRow is one kind of hub request over the run, server side.
type hubRequestRow struct {
	verb        string
	count       uint64
	mean, p99   time.Duration
	perClaim    float64
	codes       string
	description string
}

// benchHubload runs the hub under each fleet size of the flags, each on a
// fresh hub.
func benchHubload(cfg config) (string, error) {
	ctx := context.Background()
	tier, err := loadTier()
	if err != nil {
		return "", err
	}
	// Thousands of hostnames in the one Project of each member: the
	// per-Project bound of the example tier would stop it at 20.
	tier.Spec.MaxHostnamesPerProject = nil
	var runs []hubloadRun
	for _, n := range cfg.hubloadMembers {
		shape := hubloadShape{members: n, perMember: cfg.hubloadHostnames, contested: cfg.hubloadContested,
			contenders: cfg.hubloadContenders, workers: cfg.hubloadWorkers}
		fmt.Printf("    %d members × %d hostnames, %d in flight each, %.0f%% contested by %d members each\n",
			n, shape.perMember, shape.workers, 100*shape.contested, shape.contenders)
		r, err := runHubload(ctx, tier, shape)
		if err != nil {
			return "", fmt.Errorf("%d members: %w", n, err)
		}
		runs = append(runs, r)
	}
	return renderHubload(runs), nil
}

// runHubload brings up a hub as an admin installs one, mints each
// member's identities there, and has every member claim its hostnames at
// once; then it checks every decision against the hub.
func runHubload(ctx context.Context, tier *tenancyv1.ProjectTier, shape hubloadShape) (r hubloadRun, err error) {
	r.shape = shape
	plan, err := planHubload(shape)
	if err != nil {
		return r, err
	}
	r.hostSets.contested = len(plan.askers)
	r.hostSets.own = shape.members*shape.perMember - len(plan.askers)*shape.contenders

	// The hub as config/overlays/hub installs it: the fleet CRDs, the hub
	// roles and the admission policies that tie each member's writes to
	// its own claims. It only stores objects, so no controller manager.
	fl, err := fleet.Start(ctx, fleet.Options{Mode: fleet.InProcess, NoControllerManager: true})
	if err != nil {
		return r, err
	}
	defer fl.Stop()
	hubEnv := fl.Hub
	if r.version, err = serverVersion(hubEnv); err != nil {
		return r, err
	}
	if err := hubEnv.Client.Create(ctx, &fleetv1.DomainPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Spec: fleetv1.DomainPolicySpec{Domains: []fleetv1.DomainGrant{{Domain: benchDomain}}}}); err != nil {
		return r, err
	}

	// The members stop before the hub (deferred calls run last first): an
	// API server waits for open watches when it stops.
	mctx, cancel := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer func() {
		cancel()
		running.Wait()
	}()
	members := make([]*hubloadMember, shape.members)
	for m := range members {
		if members[m], err = startHubloadMember(mctx, hubEnv, memberName(m), tier, &running); err != nil {
			return r, fmt.Errorf("%s: %w", memberName(m), err)
		}
		for p, h := range plan.hosts[m] {
			members[m].requests = append(members[m].requests,
				ingressRequest(admissionv1.Create, hubloadIngress(p), hubloadUID(m, p), h, false))
		}
	}
	// One admission per member first, untimed: it opens the connection
	// and waits until the member's caches hold the domain policy.
	for _, mb := range members {
		if err := testenv.Eventually(ctx, time.Minute, func() error {
			resp := mb.handler.Handle(ctx, ingressRequest(admissionv1.Create, "warm", "warm-"+types.UID(mb.name), warmHost(mb.name), false))
			if !resp.Allowed {
				return fmt.Errorf("warm-up admission refused: %s", resp.Result.Message)
			}
			return nil
		}); err != nil {
			return r, fmt.Errorf("%s: %w", mb.name, err)
		}
	}

	pids := childProcesses()
	before, err := scrapeAPIServer(ctx, hubEnv)
	if err != nil {
		return r, err
	}
	etcd0, err := scrapeEtcd(ctx, hubEnv)
	if err != nil {
		return r, err
	}
	cpu0 := hubCPU(pids)
	outcomes := make([][]hubloadOutcome, len(members))
	runtime.GC()
	began := time.Now()
	var wg sync.WaitGroup
	var decided atomic.Int64
	finished := make(chan struct{})
	go func() {
		progress := time.NewTicker(30 * time.Second)
		defer progress.Stop()
		for {
			select {
			case <-finished:
				return
			case <-progress.C:
				fmt.Printf("      %s: %d decided\n", time.Since(began).Round(time.Second), decided.Load())
			}
		}
	}()
	for m, mb := range members {
		outcomes[m] = make([]hubloadOutcome, len(mb.requests))
		var next atomic.Int64
		for range shape.workers {
			wg.Go(func() {
				for {
					p := int(next.Add(1) - 1)
					if p >= len(mb.requests) {
						return
					}
					start := time.Now()
					resp := mb.handler.Handle(ctx, mb.requests[p])
					o := hubloadOutcome{start: start.Sub(began), took: time.Since(start), allowed: resp.Allowed}
					if resp.Result != nil {
						o.message = resp.Result.Message
					}
					outcomes[m][p] = o
					decided.Add(1)
				}
			})
		}
	}
	wg.Wait()
	close(finished)
	cpu1 := hubCPU(pids)
	after, err := scrapeAPIServer(ctx, hubEnv)
	if err != nil {
		return r, err
	}
	etcd1, err := scrapeEtcd(ctx, hubEnv)
	if err != nil {
		return r, err
	}
	r.etcdBytes = etcd1.gauge("etcd_mvcc_db_total_size_in_use_in_bytes") - etcd0.gauge("etcd_mvcc_db_total_size_in_use_in_bytes")
	r.cpu = map[string]float64{}
	for k, v := range cpu1 {
		r.cpu[k] = v - cpu0[k]
	}
	r.rss = map[string]int64{}
	for name, ps := range pids {
		for _, pid := range ps {
			r.rss[name] += peakRSS(pid)
		}
	}

	summarizeHubload(&r, plan, members, outcomes)
	r.hubRequests = hubRequests(before, after, r.admitted.n)
	r.apfWaitMean, r.apfWait = histogramDelta(before, after, "apiserver_flowcontrol_request_wait_duration_seconds",
		map[string]string{"priority_level": "workload-low"})
	r.apfRejected = after.counter("apiserver_flowcontrol_rejected_requests_total", nil) - before.counter("apiserver_flowcontrol_rejected_requests_total", nil)
	fmt.Printf("      %d admitted in %s: %.0f claims/s, %.0f while all members claim; admitted p50 %s p99 %s, refused p50 %s p99 %s\n",
		r.admitted.n, r.wall.Round(time.Millisecond), float64(r.admitted.n)/r.wall.Seconds(), r.sustained,
		fmtDur(r.admitted.p50), fmtDur(r.admitted.p99), fmtDur(r.refused.p50), fmtDur(r.refused.p99))

	if err := checkHubload(ctx, &r, hubEnv, plan, members, outcomes); err != nil {
		return r, err
	}
	fmt.Printf("      decisions checked: %d contested hostnames with one winner each, %d own hostnames held by their member\n", r.contestedOK, r.ownOK)
	return r, nil
}

// startHubloadMember builds one member's webhook as wiring.Setup does, from
// the member's own identity at the hub, minted as an admin mints it, with
// the webhook's default hub flags. Its side of the cluster (namespace,
// Project, tier) is controller-runtime's fake client: the benchmark is
// about the hub, and every member's own API server would only take the
// hub's two cores. The Rego check is left out for the same reason: with no
// policy loaded it decides nothing, and its CPU would be taken from the
// hub.
func startHubloadMember(ctx context.Context, hubEnv *testenv.Env, name string, tier *tenancyv1.ProjectTier, running *sync.WaitGroup) (*hubloadMember, error) {
	creds, err := fleet.MintMember(ctx, hubEnv, name)
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(creds.Of(components.Hostnames))
	if err != nil {
		return nil, err
	}
	cfg = wiring.HubDefaults.Limits.Apply(cfg)
	hubCluster, live, err := hub.Connect(cfg, name, wiring.HubDefaults.Timeout)
	if err != nil {
		return nil, err
	}
	for _, o := range []client.Object{&fleetv1.HostnameClaim{}, &fleetv1.DomainPolicy{}} {
		if _, err := hubCluster.GetCache().GetInformer(ctx, o); err != nil {
			return nil, err
		}
	}
	running.Go(func() {
		if err := hubCluster.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, name, "hub cluster:", err)
		}
	})
	if !hubCluster.GetCache().WaitForCacheSync(ctx) {
		return nil, errors.New("the hub cache did not fill")
	}
	local := fakeClient(hubEnv.Scheme,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace, Labels: map[string]string{tenancyv1.ProjectLabel: benchNamespace}}},
		&tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}, Spec: tenancyv1.ProjectSpec{Owner: benchUser.Username, Tier: tier.Name}},
		tier.DeepCopy(),
	)
	return &hubloadMember{name: name, hub: hubCluster, handler: &admission.Hostnames{
		Client:   local,
		Reserver: &claims.Reserver{Hub: live, Index: hubCluster.GetCache(), Cluster: name},
		Checks: []admission.Check{
			admission.FleetDomains{Policies: hubCluster.GetCache(), Cluster: name},
			admission.TierDomains{Client: local, Claims: hubCluster.GetCache()},
		},
	}}, nil
}

// summarizeHubload reads the run's times off the outcomes.
func summarizeHubload(r *hubloadRun, plan *hubloadPlan, members []*hubloadMember, outcomes [][]hubloadOutcome) {
	var admitted, refused []time.Duration
	var end time.Duration
	first := time.Duration(math.MaxInt64)
	ends := []time.Duration{}
	starts := map[string][]time.Duration{}
	for m, om := range outcomes {
		var all []time.Duration
		for p, o := range om {
			all = append(all, o.took)
			first, end = min(first, o.start), max(end, o.start+o.took)
			switch verdictOf(o) {
			case admittedVerdict:
				admitted = append(admitted, o.took)
				ends = append(ends, o.start+o.took)
			case heldVerdict:
				refused = append(refused, o.took)
			}
			if h := plan.hosts[m][p]; plan.askers[h] != nil {
				starts[h] = append(starts[h], o.start)
			}
		}
		if s := summarize(all); s.p99 > r.worstP99 {
			r.worstP99, r.worstMember = s.p99, members[m].name
		}
	}
	r.wall = end - first
	r.admitted = summarize(admitted)
	if len(refused) > 0 {
		r.refused = summarize(refused)
	}
	// The claims admitted while every member was still claiming.
	allBusy := time.Duration(math.MaxInt64)
	for _, om := range outcomes {
		var last time.Duration
		for _, o := range om {
			last = max(last, o.start+o.took)
		}
		allBusy = min(allBusy, last)
	}
	r.allBusy = allBusy - first
	done := 0
	for _, e := range ends {
		if e <= allBusy {
			done++
		}
	}
	r.sustained = float64(done) / r.allBusy.Seconds()
	var spreads []time.Duration
	for _, s := range starts {
		spreads = append(spreads, slices.Max(s)-slices.Min(s))
	}
	if len(spreads) > 0 {
		r.spreadMedian, r.spreadMax = summarize(spreads).p50, slices.Max(spreads)
	}
}

// The kinds of decision an admission can end in.
type hubloadVerdict int

const (
	admittedVerdict hubloadVerdict = iota
	// heldVerdict is a refusal naming the hostname's holder.
	heldVerdict
	// slowVerdict is a refusal because the hub did not answer in time
	// (claims.UnavailableError, or the handler's budget): the webhook
	// fails closed, by design.
	slowVerdict
	otherVerdict
)

func verdictOf(o hubloadOutcome) hubloadVerdict {
	switch {
	case o.allowed:
		return admittedVerdict
	case strings.Contains(o.message, "is already in use by namespace"):
		return heldVerdict
	case strings.Contains(o.message, "cannot be reached"), strings.Contains(o.message, "took longer than"):
		return slowVerdict
	}
	return otherVerdict
}

// checkHubload lists every claim at the hub, judges the run's decisions
// against them (judgeHubload) and then waits until each member's cache
// holds exactly its claims: the hub's watches deliver them.
func checkHubload(ctx context.Context, r *hubloadRun, hubEnv *testenv.Env, plan *hubloadPlan, members []*hubloadMember, outcomes [][]hubloadOutcome) error {
	byHost := map[string][]fleetv1.HostnameClaim{}
	opts := []client.ListOption{client.Limit(5000)}
	for {
		var list fleetv1.HostnameClaimList
		if err := hubEnv.Client.List(ctx, &list, opts...); err != nil {
			return err
		}
		for _, c := range list.Items {
			byHost[c.Spec.Hostname] = append(byHost[c.Spec.Hostname], c)
			r.claims++
		}
		if list.Continue == "" {
			break
		}
		opts = []client.ListOption{client.Limit(5000), client.Continue(list.Continue)}
	}
	names := make([]string, len(members))
	for m, mb := range members {
		names[m] = mb.name
	}
	held, err := judgeHubload(r, plan, names, outcomes, byHost)
	if err != nil {
		return err
	}
	start := time.Now()
	for m, mb := range members {
		if err := testenv.Eventually(ctx, time.Minute, func() error {
			var list fleetv1.HostnameClaimList
			if err := mb.hub.GetCache().List(ctx, &list); err != nil {
				return err
			}
			if want := held[m] + 1; len(list.Items) != want {
				return fmt.Errorf("%s's cache holds %d claims, want %d", mb.name, len(list.Items), want)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	r.cacheLag = time.Since(start)
	return nil
}

// warmHost is the hostname of a member's warm-up admission.
func warmHost(member string) string { return "warm-" + member + "." + benchDomain }

// judgeHubload checks every decision against the claims at the hub
// (byHost, by hostname) and returns how many claims each member holds.
//
// No hostname may have two winners or two claims, and a member admitted
// holds the hostname's claim with its Ingress as the source. A contested
// hostname has one winner; the other members that asked were refused as
// held by it. An own hostname was admitted. The exception is a member the
// hub did not answer in time: it was refused (the webhook fails closed),
// so a contested hostname may have no winner, and a claim the hub made
// before its answer was lost holds the hostname for that member until the
// claims releaser drops it (a stray claim, counted; the releaser does not
// run here). The hub holds no claim besides the plan's and one warm-up
// per member.
func judgeHubload(r *hubloadRun, plan *hubloadPlan, members []string, outcomes [][]hubloadOutcome, byHost map[string][]fleetv1.HostnameClaim) ([]int, error) {
	var wrong []string
	fail := func(format string, args ...any) { wrong = append(wrong, fmt.Sprintf(format, args...)) }
	// heldFor says whether the one claim of h is member m's, for its
	// request p.
	heldFor := func(h string, m, p int) bool {
		cs := byHost[h]
		return len(cs) == 1 && cs[0].Spec.Cluster == members[m] && cs[0].Spec.Namespace == benchNamespace &&
			slices.ContainsFunc(cs[0].Spec.Sources, func(s fleetv1.SourceRef) bool {
				return s.Kind == ingressKind.Kind && s.Name == hubloadIngress(p) && s.UID == string(hubloadUID(m, p))
			})
	}
	planned := map[string]bool{}
	held := make([]int, len(members))
	positions := map[string]map[int]int{} // contested hostname → member → its request
	for m := range members {
		planned[warmHost(members[m])] = true
		for p, h := range plan.hosts[m] {
			planned[h] = true
			if plan.askers[h] != nil {
				if positions[h] == nil {
					positions[h] = map[int]int{}
				}
				positions[h][m] = p
				continue
			}
			o := outcomes[m][p]
			switch v := verdictOf(o); {
			case v == admittedVerdict && heldFor(h, m, p):
				held[m]++
				r.ownOK++
			case v == admittedVerdict:
				fail("%s: own hostname %s admitted, but the hub has %d claims of it, not one held by it", members[m], h, len(byHost[h]))
			case v == slowVerdict && len(byHost[h]) == 0:
				r.slow++
			case v == slowVerdict && heldFor(h, m, p):
				r.slow++
				r.stray++
				held[m]++
			default:
				fail("%s: own hostname %s refused, wrongly (the hub has %d claims of it): %s", members[m], h, len(byHost[h]), o.message)
			}
		}
	}
	for h, askers := range plan.askers {
		var ws []int
		for _, m := range askers {
			if outcomes[m][positions[h][m]].allowed {
				ws = append(ws, m)
			}
		}
		cs := byHost[h]
		if len(ws) > 1 || len(cs) > 1 {
			fail("contested %s: admitted for %d of members %v, %d claims at the hub", h, len(ws), askers, len(cs))
			continue
		}
		holder := -1
		if len(cs) == 1 {
			holder = slices.IndexFunc(askers, func(m int) bool { return heldFor(h, m, positions[h][m]) })
			if holder < 0 {
				fail("contested %s: its claim is held by %s, for none of the members that asked (%v)", h, cs[0].Spec.Cluster, askers)
				continue
			}
			holder = askers[holder]
		}
		if len(ws) == 1 && ws[0] != holder {
			fail("contested %s: admitted for %s, but the hub has %d claims of it, not one held by it", h, members[ws[0]], len(cs))
			continue
		}
		ok := true
		for _, m := range askers {
			if len(ws) == 1 && m == ws[0] {
				continue
			}
			o := outcomes[m][positions[h][m]]
			switch v := verdictOf(o); {
			case v == heldVerdict && holder >= 0 && m != holder && strings.Contains(o.message, " of cluster "+members[holder]+";"):
			case v == slowVerdict:
				r.slow++
			default:
				fail("contested %s: %s refused, wrongly (the claim's holder: %d): %s", h, members[m], holder, o.message)
				ok = false
			}
		}
		if holder >= 0 {
			held[holder]++
		}
		switch {
		case len(ws) == 1 && ok:
			r.contestedOK++
		case len(ws) == 0:
			r.contestedNone++
			if holder >= 0 {
				r.stray++
			}
		}
	}
	for h, cs := range byHost {
		if !planned[h] || len(cs) != 1 {
			fail("the hub holds %d claims of %s, which is not one of the run's hostnames", len(cs), h)
		}
	}
	for _, m := range members {
		if cs := byHost[warmHost(m)]; len(cs) != 1 || cs[0].Spec.Cluster != m {
			fail("%s's warm-up hostname has %d claims, want one held by it", m, len(cs))
		}
	}
	if len(wrong) > 0 {
		slices.Sort(wrong)
		return nil, fmt.Errorf("%d wrong decisions, among them:\n  %s", len(wrong), strings.Join(wrong[:min(len(wrong), 10)], "\n  "))
	}
	return held, nil
}

// hubRequests are the hub's requests for HostnameClaims over the run, by
// verb, as its API server counts them (server side), per admitted claim.
func hubRequests(before, after metricsSnapshot, claims int) []hubRequestRow {
	var out []hubRequestRow
	for _, v := range []struct{ verb, description string }{
		{"POST", "create a claim (the test-and-set; 409 when held)"},
		{"GET", "read a claim (covering wildcards; a holder to name)"},
		{"PUT", "update a claim"},
		{"DELETE", "delete a claim"},
		{"LIST", "list claims"},
	} {
		match := map[string]string{"resource": "hostnameclaims", "verb": v.verb}
		mean, s := histogramDelta(before, after, "apiserver_request_duration_seconds", match)
		if s.n == 0 {
			continue
		}
		var codes []string
		for _, code := range []string{"200", "201", "404", "409", "429", "500", "504"} {
			match["code"] = code
			if n := after.counter("apiserver_request_total", match) - before.counter("apiserver_request_total", match); n > 0 {
				codes = append(codes, fmt.Sprintf("%s: %s", code, thousands(int(n))))
			}
		}
		out = append(out, hubRequestRow{verb: v.verb, description: v.description, count: uint64(s.n), mean: mean, p99: s.p99,
			perClaim: float64(s.n) / float64(max(claims, 1)), codes: strings.Join(codes, ", ")})
	}
	return out
}

// scrapeEtcd reads the hub's etcd's own /metrics, which it serves on its
// client address.
func scrapeEtcd(ctx context.Context, env *testenv.Env) (metricsSnapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.EtcdURL()+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping etcd's metrics: %w", err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// hubCPU is the CPU time used so far by this process and by its
// children of the given names.
func hubCPU(pids map[string][]int) map[string]float64 {
	out := map[string]float64{"benchmark process (members)": cpuSeconds(os.Getpid())}
	for name, ps := range pids {
		for _, pid := range ps {
			out[name] += cpuSeconds(pid)
		}
	}
	return out
}

// renderHubload writes the report section.
func renderHubload(runs []hubloadRun) string {
	var b strings.Builder
	s := runs[0].shape
	fmt.Fprintf(&b, "## The hub under a fleet: members claiming hostnames at once\n\n")
	fmt.Fprintf(&b, "Run on %s, %d cores (%s), against kube-apiserver %s.\n\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS+"/"+runtime.GOARCH, runs[0].version)
	fmt.Fprintf(&b, "One hub, installed as `config/overlays/hub` installs it (the fleet CRDs, the hub roles and the admission policies "+
		"that tie each member's writes to its own claims), with one DomainPolicy granting `%s` to every member. "+
		"Each member is a hostnames webhook in the benchmark's process, built as `wiring.Setup` builds it: its own identity at the hub "+
		"(`atrium-fleet/<cluster>-hostnames`, minted from `config/hub/member`, a ServiceAccount token), the webhook's default hub limit "+
		"(%v requests a second, burst %d, per member), its own cache of its claims and of the domain policy, and the real "+
		"`admission.Hostnames` handler with the fleet-domain and tier checks. Its own cluster (namespace, Project, tier) is "+
		"controller-runtime's fake client. Each member sends %s Ingress creates, one hostname each, %d at a time; all members start "+
		"together. %.0f%% of each member's hostnames are contested: %d members ask for each, at the same point of their runs. "+
		"The times are the handler's (`Handle`), as the member's API server would wait for it, less its call of the webhook.\n\n",
		benchDomain, wiring.HubDefaults.QPS, wiring.HubDefaults.Burst, thousands(s.perMember), s.workers, 100*s.contested, s.contenders)

	fmt.Fprintf(&b, "| members | creates | contested hostnames | claims admitted | wall | claims/s at the hub, whole run | claims/s while all members claim | admitted p50 | admitted p99 | refused (held) p50 | refused (held) p99 | worst member's p99 | refused: hub too slow |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %.0f | **%.0f** (first %s) | %s | **%s** | %s | %s | %s (%s) | %s |\n",
			r.shape.members, thousands(r.shape.members*r.shape.perMember), thousands(r.hostSets.contested), thousands(r.admitted.n),
			fmtDur(r.wall), float64(r.admitted.n)/r.wall.Seconds(), r.sustained, fmtDur(r.allBusy),
			fmtDur(r.admitted.p50), fmtDur(r.admitted.p99), fmtDur(r.refused.p50), fmtDur(r.refused.p99), fmtDur(r.worstP99), r.worstMember, thousands(r.slow))
	}

	fmt.Fprintf(&b, "\n**Decisions, checked against the hub after each run:**\n\n")
	for _, r := range runs {
		others := "the other member that asked was refused, naming it"
		if r.shape.contenders > 2 {
			others = fmt.Sprintf("the other %d members that asked were refused, naming it", r.shape.contenders-1)
		}
		fmt.Fprintf(&b, "- %d members: %s of the %s contested hostnames have exactly one claim, held by one of the members that "+
			"asked, the one admitted for it; %s. Their contenders started their admissions "+
			"%s apart at the median, %s at most. %s of the %s other hostnames were admitted and are held by their member, with the "+
			"Ingress as the source. ",
			r.shape.members, thousands(r.contestedOK), thousands(r.hostSets.contested), others, fmtDur(r.spreadMedian), fmtDur(r.spreadMax),
			thousands(r.ownOK), thousands(r.hostSets.own))
		if r.slow > 0 {
			fmt.Fprintf(&b, "**%s refused because a hub request took longer than the webhook's %s hub timeout** "+
				"(the webhook fails closed); %s won by no member for that reason, and %s left "+
				"that the hub made before its answer was lost, held by the member refused (the claims releaser drops them after its "+
				"grace period; it does not run here). No hostname had two winners. ",
				plural(r.slow, "admission was", "admissions were"), wiring.HubDefaults.Timeout,
				plural(r.contestedNone, "contested hostname was", "contested hostnames were"), plural(r.stray, "claim was", "claims were"))
		}
		fmt.Fprintf(&b, "The hub holds %s claims, no others (one warm-up per member). Every member's cache held exactly its claims "+
			"%s after the check began.\n", thousands(r.claims), fmtDur(r.cacheLag))
	}

	fmt.Fprintf(&b, "\n**The hub's side**, from its API server's metrics over each run (server side; p99 read off the histogram's buckets):\n\n")
	fmt.Fprintf(&b, "| members | request | what for | requests | per claim admitted | mean | p99 | codes |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		for _, q := range r.hubRequests {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %.2f | %s | %s | %s |\n", r.shape.members, q.verb, q.description,
				thousands(int(q.count)), q.perClaim, fmtDur(q.mean), fmtDur(q.p99), q.codes)
		}
	}
	fmt.Fprintf(&b, "\n| members | API Priority and Fairness: wait in queue (workload-low), mean, p99 | rejected | CPU over the run | the hub's CPU (API server and etcd) per claim admitted | peak RSS | etcd's database grew by |\n|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		var cpu []string
		for _, k := range sortedCPU(r.cpu) {
			cpu = append(cpu, fmt.Sprintf("%s %.1f s", k, r.cpu[k]))
		}
		var rss []string
		for _, k := range []string{"kube-apiserver", "etcd"} {
			if v, ok := r.rss[k]; ok {
				rss = append(rss, fmt.Sprintf("%s %d MiB", k, v/1024))
			}
		}
		perClaim := time.Duration((r.cpu["kube-apiserver"] + r.cpu["etcd"]) / float64(max(r.admitted.n, 1)) * float64(time.Second))
		fmt.Fprintf(&b, "| %d | %s, %s | %.0f | %s (of %.0f core-seconds) | %s | %s | %.0f MiB, %.0f bytes a claim |\n", r.shape.members, fmtDur(r.apfWaitMean), fmtDur(r.apfWait.p99),
			r.apfRejected, strings.Join(cpu, ", "), r.wall.Seconds()*float64(runtime.NumCPU()), fmtDur(perClaim), strings.Join(rss, ", "),
			r.etcdBytes/(1<<20), r.etcdBytes/float64(max(r.admitted.n, 1)))
	}
	fmt.Fprintf(&b, "\nOne machine runs it all: the hub's etcd and API server, every member's webhook and the load share two cores, "+
		"so the figures are the floor of a hub, not its ceiling, and move ±25%% between runs (other work may share the machine "+
		"too). Not in the load: the claims releaser's status writes (the claim's Ready condition, one more write per claim at "+
		"the hub) and the DNS operators' `DNSRegistered`, which a real fleet adds. "+
		"Reproduce with `go run ./hack/bench -only hubload -hubload-members %s -hubload-hostnames %d -hubload-contested %g -hubload-contenders %d -hubload-workers %d`.\n",
		membersList(runs), s.perMember, s.contested, s.contenders, s.workers)
	return b.String()
}

// plural is n with the singular or the plural that follows it.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(n) + " " + many
}

// membersList is the runs' member counts as the flag takes them.
func membersList(runs []hubloadRun) string {
	var out []string
	for _, r := range runs {
		out = append(out, fmt.Sprint(r.shape.members))
	}
	return strings.Join(out, ",")
}
