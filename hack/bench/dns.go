package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/plan"
	edprovider "sigs.k8s.io/external-dns/provider"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/bind"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/hostname"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/dns/controllers"
	"github.com/atrium-dev/atrium/operators/dns/provider"
)

const (
	dnsZone       = "bench.example.test"
	dnsCluster    = "member-bench"
	dnsTarget     = "192.0.2.10"
	dnsBatchSize  = 200
	dnsNamespaces = 100
	// dnsResolvers query BIND at once when checking that names resolve.
	dnsResolvers = 16
)

func dnsHost(i int) string { return fmt.Sprintf("h%05d.%s", i, dnsZone) }

type dnsResult struct {
	n int
	// floors and cold are each run's figures.
	floors                []floorRun
	cold                  []coldStart
	resyncMean, eventMean time.Duration
	resyncs, events       int
	setup                 time.Duration
	apiServer             string
}

type floorRun struct{ send, resolve time.Duration }

// benchDNS measures the DNS operator publishing n hostnames from a cold
// start against the floor of sending the same records to BIND directly.
func benchDNS(cfg config) (string, error) {
	if !bind.Installed() {
		return "", errors.New("named is not installed: run `make tools`")
	}
	if cfg.hostnames == 0 {
		kept, err := keptPart(cfg.out, "dns")
		if err != nil {
			return "", err
		}
		return withMemory(cfg.dnsMemory, dnsMemory, renderDNSMemory, kept)
	}
	n := cfg.hostnames
	// external-dns logs every record it writes at info level.
	logrus.SetLevel(logrus.WarnLevel)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := dnsResult{n: n}

	fmt.Println("    floor: batched TSIG updates straight to BIND9")
	for range dnsRuns {
		send, resolve, err := dnsFloor(ctx, n)
		if err != nil {
			return "", fmt.Errorf("floor: %w", err)
		}
		r.floors = append(r.floors, floorRun{send, resolve})
	}

	fmt.Printf("    Atrium: a hub and a member with %d Ingresses and claims\n", n)
	if err := dnsAtrium(ctx, n, &r); err != nil {
		return "", fmt.Errorf("atrium: %w", err)
	}
	return withMemory(cfg.dnsMemory, dnsMemory, renderDNSMemory, renderDNS(r))
}

// dnsFloor sends n A records and their ownership TXT records to a fresh
// BIND in signed updates of dnsBatchSize records over TCP, one after another,
// then checks that every name resolves.
func dnsFloor(ctx context.Context, n int) (send, resolve time.Duration, err error) {
	srv, err := bind.Start(ctx, bind.Options{Zones: []string{dnsZone}})
	if err != nil {
		return 0, 0, err
	}
	defer srv.Close()
	keyName := dns.Fqdn(srv.KeyName)
	c := &dns.Client{Net: "tcp", Timeout: 30 * time.Second, TsigSecret: map[string]string{keyName: srv.KeySecret}}
	var rrs []dns.RR
	for i := range n {
		h := dnsHost(i)
		a, _ := dns.NewRR(fmt.Sprintf("%s. 300 IN A %s", h, dnsTarget))
		txt, _ := dns.NewRR(fmt.Sprintf(`a-%s. 300 IN TXT "heritage=external-dns,external-dns/owner=%s,external-dns/resource=ingress/ns/i%d"`, h, dnsCluster, i))
		rrs = append(rrs, a, txt)
	}
	start := time.Now()
	for i := 0; i < len(rrs); i += dnsBatchSize {
		m := new(dns.Msg)
		m.SetUpdate(dns.Fqdn(dnsZone))
		m.Insert(rrs[i:min(i+dnsBatchSize, len(rrs))])
		m.SetTsig(keyName, dns.HmacSHA256, 300, time.Now().Unix())
		resp, _, err := c.Exchange(m, srv.Addr)
		if err != nil {
			return 0, 0, err
		}
		if resp.Rcode != dns.RcodeSuccess {
			return 0, 0, fmt.Errorf("update refused: %s", dns.RcodeToString[resp.Rcode])
		}
	}
	send = time.Since(start)
	if err := allResolve(ctx, srv, n); err != nil {
		return 0, 0, err
	}
	return send, time.Since(start), nil
}

// allResolve waits until every benchmark name answers with its address,
// asking with dnsResolvers queries at once and retrying the names that do
// not answer yet.
func allResolve(ctx context.Context, srv *bind.Server, n int) error {
	pending := make([]int, n)
	for i := range pending {
		pending[i] = i
	}
	deadline := time.Now().Add(5 * time.Minute)
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d names never resolved, %s among them", len(pending), dnsHost(pending[0]))
		}
		var mu sync.Mutex
		var missing []int
		var next atomic.Int64
		var wg sync.WaitGroup
		for range dnsResolvers {
			wg.Go(func() {
				for {
					k := int(next.Add(1)) - 1
					if k >= len(pending) || ctx.Err() != nil {
						return
					}
					got, err := srv.Lookup(dnsHost(pending[k]), dns.TypeA)
					if err != nil || len(got) != 1 || got[0] != dnsTarget {
						mu.Lock()
						missing = append(missing, pending[k])
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		pending = missing
		if len(pending) > 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// dnsRuns is how many cold starts (and floors) are measured; the median
// counts.
const dnsRuns = 3

// dnsAtrium runs the DNS operator in this process against a hub and a
// member holding n claimed Ingresses and times it from its start until
// every name resolves, dnsRuns times, each with an empty BIND and a new
// operator; then, in the last run, the cost of syncs that change nothing.
func dnsAtrium(ctx context.Context, n int, r *dnsResult) error {
	setupStart := time.Now()
	// The operator runs in this process as cluster admin of the member and
	// the hub: the fleet is bare, without the shipped admission policies a
	// full install evaluates on every write.
	fl, err := fleet.Start(ctx, fleet.Options{
		Mode: fleet.Bare, Components: []components.Component{components.DNS}, NoControllerManager: noControllerManager,
		Members: []fleet.MemberOptions{{Name: dnsCluster}}, ExtraCRDs: []string{testenv.StandInCRDs},
	})
	if err != nil {
		return err
	}
	defer fl.Stop()
	hub, member := fl.Hub, fl.Members[0].Env
	if r.apiServer, err = serverVersion(member); err != nil {
		return err
	}
	if err := dnsInventory(ctx, hub, member, n, dnsCluster); err != nil {
		return err
	}
	r.setup = time.Since(setupStart)
	fmt.Printf("    inventory ready in %s\n", r.setup.Round(time.Second))
	for run := range dnsRuns {
		if run > 0 {
			// Each cold start reports on every claim again, as the first did.
			if err := clearDNSStatus(ctx, hub, n); err != nil {
				return err
			}
		}
		last := run == dnsRuns-1
		c, err := dnsColdStart(ctx, hub, member, n, last, r)
		if err != nil {
			return err
		}
		fmt.Printf("    run %d: all %d names resolve after %s\n", run+1, n, c.resolve.Round(time.Millisecond))
		r.cold = append(r.cold, c)
	}
	return nil
}

// coldStart is one cold start's figures.
type coldStart struct {
	applied, resolve, sync time.Duration
	syncs                  int
	cpu                    time.Duration
	// peakKiB is the benchmark process's peak resident set (VmHWM) from
	// the operator's start until every name resolves; startKiB its
	// resident set at the start.
	peakKiB, startKiB int64
	// heapKiB is what the operator added to the live Go heap by the time
	// every name resolves: its caches, its zone registry, its readings.
	heapKiB int64
}

// countWrites passes the operator's writes on to the provider and closes
// done once want A record sets were created.
type countWrites struct {
	edprovider.Provider
	want    int
	written atomic.Int64
	done    chan struct{}
	once    sync.Once
}

func (p *countWrites) ApplyChanges(ctx context.Context, c *plan.Changes) error {
	err := p.Provider.ApplyChanges(ctx, c)
	if err != nil {
		return err
	}
	var a int64
	for _, ep := range c.Create {
		if ep.RecordType == endpoint.RecordTypeA {
			a++
		}
	}
	if p.written.Add(a) >= int64(p.want) {
		p.once.Do(func() { close(p.done) })
	}
	return nil
}

// statusKiB reads a figure in KiB (VmHWM:, VmRSS:) of a process's status.
func statusKiB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// resetPeakRSS starts this process's VmHWM afresh (Linux: writing 5 to
// clear_refs), so that it holds the peak of what follows.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// dnsColdStart starts an empty BIND and a new operator, times it until
// every name resolves, and with noop measures syncs that change nothing.
func dnsColdStart(ctx context.Context, hub, member *testenv.Env, n int, noop bool, r *dnsResult) (c coldStart, err error) {
	srv, err := bind.Start(ctx, bind.Options{Zones: []string{dnsZone}})
	if err != nil {
		return c, err
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "atrium-bench-dns-")
	if err != nil {
		return c, err
	}
	defer os.RemoveAll(dir)
	secret := filepath.Join(dir, "tsig")
	if err := os.WriteFile(secret, []byte(srv.KeySecret), 0o600); err != nil {
		return c, err
	}
	lib, err := provider.New(ctx, provider.Config{
		Provider: provider.RFC2136, Zones: []string{dnsZone}, Server: srv.Addr,
		TSIGKeyName: srv.KeyName, TSIGAlgorithm: bind.KeyAlgorithm, TSIGSecretFile: secret, BatchSize: dnsBatchSize,
	})
	if err != nil {
		return c, err
	}
	// The clock stops when the operator's last write returns, as the
	// floor's does, without polling.
	p := &countWrites{Provider: lib, want: n, done: make(chan struct{})}
	const resync = 5 * time.Second
	// The binary's cache settings.
	mgr, err := ctrl.NewManager(member.Config, controllers.ManagerOptions(ctrl.Options{
		Scheme:                 member.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// The plain work queue, as internal/manager gives the binary.
		Controller: ctrlconfig.Controller{SkipNameValidation: ptr.To(true), UsePriorityQueue: ptr.To(false)},
	}))
	if err != nil {
		return c, err
	}
	// The binary's recorder (core Events, a bounded correlator).
	recorder, err := manager.EventRecorder(mgr, "atrium-dns")
	if err != nil {
		return c, err
	}
	if err := controllers.Setup(mgr, controllers.Config{
		Cluster: dnsCluster, Hub: hub.Config, HubTimeout: 5 * time.Second,
		Provider: p, OwnershipFirst: true, Zones: []string{dnsZone}, DefaultTargets: []string{dnsTarget},
		TTL: 5 * time.Minute, Batch: time.Second, Resync: resync, ConflictRetry: time.Minute,
		// The binary's defaults.
		StatusConcurrency: 8, StatusQPS: float32(controllers.HubLimits.QPS), StatusBurst: controllers.HubLimits.Burst, Recorder: recorder,
	}); err != nil {
		return c, err
	}
	// The counters run on across cold starts: figures are differences.
	changes0 := metricValue("atrium_dns_record_changes_total", dnsCluster)
	syncs0, syncSum0 := histogram("atrium_dns_sync_duration_seconds", dnsCluster)
	mctx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	cpuBefore := processCPU()
	heapBefore := procs.LiveHeap()
	resetPeakRSS()
	c.startKiB = statusKiB(os.Getpid(), "VmRSS:")
	start := time.Now()
	go func() {
		defer close(stopped)
		if err := mgr.Start(mctx); err != nil {
			fmt.Fprintln(os.Stderr, "DNS operator manager:", err)
		}
	}()
	defer func() { stop(); <-stopped }()

	// Once the operator's writes are done, every name is checked the way
	// the floor checks them, at once.
	select {
	case <-p.done:
	case <-time.After(5 * time.Minute):
		return c, fmt.Errorf("%d of %d record sets written after 5 minutes", p.written.Load(), n)
	case <-ctx.Done():
		return c, ctx.Err()
	}
	c.applied = time.Since(start)
	if err := allResolve(ctx, srv, n); err != nil {
		return c, err
	}
	c.resolve = time.Since(start)
	c.cpu = processCPU() - cpuBefore
	c.peakKiB = statusKiB(os.Getpid(), "VmHWM:")
	c.heapKiB = (int64(procs.LiveHeap()) - int64(heapBefore)) / 1024
	// The operator's own count of what it wrote agrees, and the sync that
	// wrote is recorded once it has handed on its outcomes.
	if err := testenv.Eventually(ctx, 30*time.Second, func() error {
		if d := metricValue("atrium_dns_record_changes_total", dnsCluster) - changes0; d < float64(n) {
			return fmt.Errorf("%v of %d record sets counted", d, n)
		}
		if k, _ := histogram("atrium_dns_sync_duration_seconds", dnsCluster); k == syncs0 {
			return errors.New("no sync recorded yet")
		}
		return nil
	}); err != nil {
		return c, err
	}
	syncs1, syncSum1 := histogram("atrium_dns_sync_duration_seconds", dnsCluster)
	c.sync, c.syncs = time.Duration((syncSum1-syncSum0)*float64(time.Second)), int(syncs1-syncs0)
	if !noop {
		return c, nil
	}
	changesDone := metricValue("atrium_dns_record_changes_total", dnsCluster)
	// Syncs that change nothing: periodic ones read the zone; event-driven
	// ones (an Ingress touched) plan from the registry's cache.
	reads0 := metricValue("atrium_dns_zone_reads_total", dnsCluster)
	count0, sum0 := histogram("atrium_dns_sync_duration_seconds", dnsCluster)
	if err := testenv.Eventually(ctx, time.Minute, func() error {
		if metricValue("atrium_dns_zone_reads_total", dnsCluster) < reads0+3 {
			return errors.New("waiting for three resyncs")
		}
		return nil
	}); err != nil {
		return c, err
	}
	count1, sum1 := histogram("atrium_dns_sync_duration_seconds", dnsCluster)
	r.resyncs = int(count1 - count0)
	r.resyncMean = time.Duration((sum1 - sum0) / float64(count1-count0) * float64(time.Second))
	if changed := metricValue("atrium_dns_record_changes_total", dnsCluster); changed != changesDone {
		return c, fmt.Errorf("a no-op resync changed %v record sets", changed-changesDone)
	}
	// Event syncs: touch one Ingress at a time, between resyncs.
	var eventSamples []float64
	for k := range 5 {
		c0, s0 := histogram("atrium_dns_sync_duration_seconds", dnsCluster)
		rd := metricValue("atrium_dns_zone_reads_total", dnsCluster)
		ing := &networkingv1.Ingress{}
		key := client.ObjectKey{Namespace: dnsNamespace(k), Name: fmt.Sprintf("i%05d", k)}
		if err := member.Client.Get(ctx, key, ing); err != nil {
			return c, err
		}
		if ing.Annotations == nil {
			ing.Annotations = map[string]string{}
		}
		ing.Annotations["bench.atrium.dev/touched"] = fmt.Sprint(time.Now().UnixNano())
		if err := member.Client.Update(ctx, ing); err != nil {
			return c, err
		}
		if err := testenv.Eventually(ctx, 30*time.Second, func() error {
			if c, _ := histogram("atrium_dns_sync_duration_seconds", dnsCluster); c <= c0 {
				return errors.New("waiting for the sync")
			}
			return nil
		}); err != nil {
			return c, err
		}
		c1, s1 := histogram("atrium_dns_sync_duration_seconds", dnsCluster)
		if metricValue("atrium_dns_zone_reads_total", dnsCluster) == rd && c1 == c0+1 {
			eventSamples = append(eventSamples, s1-s0)
		}
	}
	if len(eventSamples) > 0 {
		var sum float64
		for _, s := range eventSamples {
			sum += s
		}
		r.events = len(eventSamples)
		r.eventMean = time.Duration(sum / float64(len(eventSamples)) * float64(time.Second))
	}
	return c, nil
}

func dnsNamespace(i int) string { return fmt.Sprintf("site-%03d", i%dnsNamespaces) }

// dnsInventory creates n Ingresses on the member (without status: the
// operator's default target applies) and their claims at the hub, as the
// hostnames webhook would have made them for cluster, from 16 clients.
func dnsInventory(ctx context.Context, hub, member *testenv.Env, n int, cluster string) error {
	for i := range dnsNamespaces {
		if err := member.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: dnsNamespace(i)}}); err != nil {
			return err
		}
	}
	var next atomic.Int64
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				h := hostname.Hostname{Name: dnsHost(i)}
				ns := dnsNamespace(i)
				claim := &fleetv1.HostnameClaim{
					ObjectMeta: metav1.ObjectMeta{Name: hostname.ClaimName(h), Labels: map[string]string{fleetv1.ClusterLabel: cluster, fleetv1.NamespaceLabel: ns}},
					Spec:       fleetv1.HostnameClaimSpec{Hostname: h.Name, Cluster: cluster, Namespace: ns},
				}
				ing := &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("i%05d", i)},
					Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: h.Name}}},
				}
				if err := hub.Client.Create(ctx, claim); err != nil {
					errs <- err
					return
				}
				if err := member.Client.Create(ctx, ing); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// metricValue reads a counter or gauge of the operator for a cluster.
func metricValue(name, cluster string) float64 {
	m := testenv.Metric(name, "cluster", cluster)
	switch {
	case m == nil:
		return 0
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	default:
		return m.GetGauge().GetValue()
	}
}

// histogram reads a histogram's sample count and sum for a cluster.
func histogram(name, cluster string) (uint64, float64) {
	h := testenv.Metric(name, "cluster", cluster).GetHistogram()
	return h.GetSampleCount(), h.GetSampleSum()
}

// median of durations, the middle one (of an odd count).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// medianKiB is the median of a figure in KiB over the runs.
func medianKiB(runs []coldStart, f func(coldStart) int64) int64 {
	v := make([]int64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// each lists every run's figure.
func each[T any](runs []T, f func(T) time.Duration) string {
	parts := make([]string, len(runs))
	for i, r := range runs {
		parts[i] = fmtDur(f(r))
	}
	return strings.Join(parts, ", ")
}

func renderDNS(r dnsResult) string {
	pick := func(f func(coldStart) time.Duration) []time.Duration {
		out := make([]time.Duration, len(r.cold))
		for i, c := range r.cold {
			out[i] = f(c)
		}
		return out
	}
	floorSend := make([]time.Duration, len(r.floors))
	floorResolve := make([]time.Duration, len(r.floors))
	for i, f := range r.floors {
		floorSend[i], floorResolve[i] = f.send, f.resolve
	}
	resolve := pick(func(c coldStart) time.Duration { return c.resolve })
	var b strings.Builder
	fmt.Fprintf(&b, "## DNS: %s hostnames published from a cold start\n\n", thousands(r.n))
	fmt.Fprintf(&b, "Run on %s, %d cores (%s/%s). BIND9 (`named` from Debian) on loopback with one zone and a TSIG key; a hub and a member kube-apiserver %s; the DNS operator in the benchmark's process with the rfc2136 provider and the binary's defaults, %d records per update message. Each figure is the median of %d runs (all runs in brackets), each with an empty BIND.\n\n",
		time.Now().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, r.apiServer, dnsBatchSize, dnsRuns)
	fmt.Fprintf(&b, "| what | time |\n|---|---|\n")
	fmt.Fprintf(&b, "| floor: %s A + %s ownership TXT records sent to BIND in signed updates of %d records | %s (%s) |\n", thousands(r.n), thousands(r.n), dnsBatchSize, fmtDur(median(floorSend)), each(r.floors, func(f floorRun) time.Duration { return f.send }))
	fmt.Fprintf(&b, "| floor: … until every name resolves (%d resolvers) | %s (%s) |\n", dnsResolvers, fmtDur(median(floorResolve)), each(r.floors, func(f floorRun) time.Duration { return f.resolve }))
	fmt.Fprintf(&b, "| Atrium: operator started on %s claimed Ingresses until its writes are done | %s (%s) |\n", thousands(r.n), fmtDur(median(pick(func(c coldStart) time.Duration { return c.applied }))), each(r.cold, func(c coldStart) time.Duration { return c.applied }))
	fmt.Fprintf(&b, "| … of which syncing (desired state, zone read, plan, writes); the rest is filling the caches from both API servers | %s (%s) |\n", fmtDur(median(pick(func(c coldStart) time.Duration { return c.sync }))), each(r.cold, func(c coldStart) time.Duration { return c.sync }))
	fmt.Fprintf(&b, "| Atrium: … until every name resolves | %s (%s) |\n", fmtDur(median(resolve)), each(r.cold, func(c coldStart) time.Duration { return c.resolve }))
	fmt.Fprintf(&b, "| **ratio** of the medians (aim ≤ 1.5) | **%.2f** |\n", median(resolve).Seconds()/median(floorResolve).Seconds())
	fmt.Fprintf(&b, "| no-op resync: zone read (AXFR of %s records), desired state, plan, nothing written (mean of %d) | %s |\n", thousands(2*r.n+3), r.resyncs, fmtDur(r.resyncMean))
	fmt.Fprintf(&b, "| no-op event sync: an Ingress touched, planned from the registry's cache (mean of %d) | %s |\n", r.events, fmtDur(r.eventMean))
	fmt.Fprintf(&b, "| CPU of the whole benchmark process during a cold start (operator, its caches, the resolvers) | %s |\n", fmtDur(median(pick(func(c coldStart) time.Duration { return c.cpu }))))
	peak, base := medianKiB(r.cold, func(c coldStart) int64 { return c.peakKiB }), medianKiB(r.cold, func(c coldStart) int64 { return c.startKiB })
	fmt.Fprintf(&b, "| peak resident memory of the whole benchmark process during a cold start (VmHWM; the operator, its caches, the benchmark's clients and resolvers), and its resident memory at the operator's start | %d MiB (%d MiB at the start) |\n", peak/1024, base/1024)
	fmt.Fprintf(&b, "| the operator's live Go heap once every name resolves (after a collection, less the heap before its start) | %d MiB |\n", medianKiB(r.cold, func(c coldStart) int64 { return c.heapKiB })/1024)
	fmt.Fprintf(&b, "\nThe Atrium figure starts when the operator starts: it includes filling its caches from both API servers (%s Ingresses, %s claims), the first zone read, the plan and the writes, and the same resolution check as the floor, begun as soon as the operator's last write returns (as the floor's begins after its last message). The memory figures are of the whole benchmark process, so an upper bound of the operator's. Between runs the claims' DNS condition is cleared, so each run reports on every claim again. The inventory (not timed) took %s to create. Reproduce with `make bench` (or `go run ./hack/bench -only dns -hostnames N`).\n",
		thousands(r.n), thousands(r.n), r.setup.Round(time.Second))
	return b.String()
}

// clearDNSStatus removes the operator's condition from every claim, with
// the operator's own field manager, from 16 clients.
func clearDNSStatus(ctx context.Context, hub *testenv.Env, n int) error {
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				u := &unstructured.Unstructured{Object: map[string]any{
					"apiVersion": fleetv1.GroupVersion.String(), "kind": "HostnameClaim",
					"metadata": map[string]any{"name": hostname.ClaimName(hostname.Hostname{Name: dnsHost(i)})},
					"status":   map[string]any{"conditions": []any{}},
				}}
				if err := hub.Client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), controllers.FieldOwner, client.ForceOwnership); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return *err
	}
	return nil
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
