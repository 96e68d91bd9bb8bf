package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// An operator's footprint: its replicas' peak resident memory (VmHWM) with
// n of its objects in the cluster, each replica a process started from
// the operator's shipped Deployment. Serving is over filling the cluster
// and settling every object; cold is after the whole Deployment was
// killed and started again, once the new leader has checked every object
// once more.

// footprint is one operator's memory part.
type footprint struct {
	n int
	// fill is how long creating the n objects took, settle how much longer
	// until every one was Ready; cold how long the restarted leader took,
	// from the kill, to check them all again.
	fill, settle, cold time.Duration
	// serving and coldRSS are each replica's peak (KiB), the leader's first;
	// servingCPU and coldCPU the leader's CPU time (s) by then.
	serving, coldRSS    []int64
	servingCPU, coldCPU float64
	// reconciles are the leader's reconciles after the cold start.
	reconciles float64
	// external says what the external service (the fake) was asked
	// during the cold start, by route.
	external map[string]int
}

// withMemory adds an operator's memory part, of n objects, to its timed
// part; n = 0 leaves it out.
func withMemory(n int, measure func(int) (footprint, error), render func(*strings.Builder, footprint), timed string) (string, error) {
	if n == 0 {
		return timed, nil
	}
	f, err := measure(n)
	if err != nil {
		return "", fmt.Errorf("memory: %w", err)
	}
	var b strings.Builder
	b.WriteString(timed)
	render(&b, f)
	return b.String(), nil
}

// operatorFleet starts a member that is also its own hub (no second API
// server to share the cores) installed from kustomization, whose only
// Deployment is the operator's.
func operatorFleet(ctx context.Context, kustomization string, member fleet.MemberOptions, kcmArgs []string) (*fleet.Fleet, func(), error) {
	dir, err := os.MkdirTemp("", "atrium-bench-footprint-")
	if err != nil {
		return nil, nil, err
	}
	fl, err := fleet.Start(ctx, fleet.Options{
		Mode: fleet.Shipped, Kustomization: kustomization, Dir: dir,
		ExtraCRDs: []string{testenv.StandInCRDs}, ControllerManagerArgs: kcmArgs,
		Members: []fleet.MemberOptions{member}, HubIsMember: true,
		OnExit: func(p *procs.Process, err error) {
			fmt.Fprintf(os.Stderr, "%s exited unexpectedly: %v\n%s\n", p.Name, err, p.Tail(30))
		},
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return fl, func() { fl.Stop(); os.RemoveAll(dir) }, nil
}

// replicaMetrics are the figures of one replica's /metrics that say
// whether it leads and how far its controller is.
type replicaMetrics struct {
	leader            bool
	reconciles, depth float64
	activeWorkers     float64
	reachable         bool
}

// scrapeReplica reads a replica's metrics endpoint (the container's port).
func scrapeReplica(ctx context.Context, p *shipped.Pod, port int32, controller, lease string) replicaMetrics {
	var m replicaMetrics
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", p.Port(port))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return m
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	s, err := parseMetrics(resp.Body)
	if err != nil {
		return m
	}
	m.reachable = true
	sum := func(name, label, value string) float64 {
		var total float64
		f := s[name]
		if f == nil {
			return 0
		}
		for _, metric := range f.GetMetric() {
			if !hasLabels(metric, map[string]string{label: value}) {
				continue
			}
			switch {
			case metric.GetCounter() != nil:
				total += metric.GetCounter().GetValue()
			case metric.GetGauge() != nil:
				total += metric.GetGauge().GetValue()
			}
		}
		return total
	}
	m.leader = sum("leader_election_master_status", "name", lease) == 1
	m.reconciles = sum("controller_runtime_reconcile_total", "controller", controller)
	m.depth = sum("workqueue_depth", "name", controller)
	m.activeWorkers = sum("controller_runtime_active_workers", "controller", controller)
	return m
}

// leaderFirst orders the replicas' peaks with the leader's first, by the
// replicas' metrics, and returns the leader's CPU time so far.
func leaderFirst(ctx context.Context, dep *shipped.Deployment, port int32, controller, lease string) ([]int64, float64) {
	var lead, rest []int64
	var cpu float64
	for _, p := range dep.Pods() {
		kib := peakRSS(p.Process().Pid())
		if scrapeReplica(ctx, p, port, controller, lease).leader {
			lead = append(lead, kib)
			cpu = cpuSeconds(p.Process().Pid())
		} else {
			rest = append(rest, kib)
		}
	}
	return append(lead, rest...), cpu
}

// waitChecked waits until a replica leads and its controller has
// reconciled at least n objects, with nothing queued or in a worker on
// every scrape for quiet, and no more than n/50 reconciles over that time
// (objects that came back shortly, for a GitLab read another had in
// flight or for their turn of the pacing, are done too). The allowance is
// what the operator's own resync adds once it holds thousands of objects:
// at 10,000 volumes and a 10-minute resync, some 17 reconciles a second,
// so the count never stays put for 5 s, while a cold start still under
// way runs at hundreds a second with a queue. Objects are not told apart:
// each of the n was queued when the leader's controller started, and the
// queue drained.
func waitChecked(ctx context.Context, dep *shipped.Deployment, port int32, controller, lease string, n int, quiet, limit time.Duration) (float64, error) {
	deadline := time.Now().Add(limit)
	allowance := float64(n / 50)
	var from float64
	var since time.Time
	for {
		var lead replicaMetrics
		for _, p := range dep.Pods() {
			if m := scrapeReplica(ctx, p, port, controller, lease); m.leader {
				lead = m
			}
		}
		switch {
		case !lead.leader, lead.reconciles < float64(n), lead.depth > 0, lead.activeWorkers > 0:
			since = time.Time{}
		case since.IsZero() || lead.reconciles-from > allowance:
			since, from = time.Now(), lead.reconciles
		case time.Since(since) >= quiet:
			return lead.reconciles, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("after %s: leader %v, %.0f reconciles of %s (want %d), %.0f queued, %.0f in workers",
				limit, lead.leader, lead.reconciles, controller, n, lead.depth, lead.activeWorkers)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// restartDeployment kills every replica of dep at once (a node lost, a crash of
// them all) and starts as many afresh, then waits until they are ready
// and the new leader has checked every object; it returns how long that
// took and the leader's reconciles.
func restartDeployment(ctx context.Context, dep *shipped.Deployment, port int32, controller, lease string, n int, limit time.Duration) (time.Duration, float64, error) {
	start := time.Now()
	for _, p := range dep.Pods() {
		if _, err := dep.Replace(ctx, p); err != nil {
			return 0, 0, err
		}
	}
	if err := dep.WaitReady(ctx, limit); err != nil {
		return 0, 0, err
	}
	reconciles, err := waitChecked(ctx, dep, port, controller, lease, n, 5*time.Second, limit)
	return time.Since(start) - 5*time.Second, reconciles, err
}

// heapProfile writes the heap profile of dep's leader to
// memoryProfiles/<name>.pb.gz, when -memory-profiles asks for them (the
// member then runs the operator with its pprof endpoints on container
// port pprofPort).
func heapProfile(ctx context.Context, dep *shipped.Deployment, port, pprofPort int32, controller, lease, name string) error {
	if memoryProfiles == "" {
		return nil
	}
	for _, p := range dep.Pods() {
		if !scrapeReplica(ctx, p, port, controller, lease).leader {
			continue
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap", p.Port(pprofPort))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("heap profile of %s: %w", p.Name, err)
		}
		defer resp.Body.Close()
		if err := os.MkdirAll(memoryProfiles, 0o755); err != nil {
			return err
		}
		out, err := os.Create(filepath.Join(memoryProfiles, name+".pb.gz"))
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, resp.Body)
		fmt.Printf("      heap profile of the leader (%s): %s\n", p.Name, out.Name())
		return err
	}
	return fmt.Errorf("heap profile %s: no leader", name)
}

// memberKustomization is the memory part's member: with the operator's
// pprof endpoints on when -memory-profiles asks for heap profiles.
func memberKustomization(path string) string {
	if memoryProfiles != "" {
		return path + "-pprof"
	}
	return path
}

// fmtReplicas prints the replicas' figures, the leader's first.
func fmtReplicas(kib []int64) string {
	var parts []string
	for i, k := range kib {
		role := "standby"
		if i == 0 {
			role = "leader"
		}
		parts = append(parts, fmt.Sprintf("%.0f MiB (%s)", float64(k)/1024, role))
	}
	return strings.Join(parts, ", ")
}

// operatorMemoryAim is issue 14's aim for every operator, in MiB, at
// 10,000 of its objects.
const operatorMemoryAim = 100

// operatorMemoryAimAt is how many objects the aim is for.
const operatorMemoryAimAt = 10_000

// footprintRow writes the table of a memory part: each replica's peak,
// serving and after the cold start, against the aim.
func footprintRow(b *strings.Builder, what string, f footprint) {
	aim := fmt.Sprintf("aim: ≤ %d MiB each", operatorMemoryAim)
	if f.n != operatorMemoryAimAt {
		aim += fmt.Sprintf(" (at %s; this run has %s)", thousands(operatorMemoryAimAt), thousands(f.n))
	}
	fmt.Fprintf(b, "| %s | serving | cold start | %s |\n|---|---|---|---|\n", what, aim)
	peak := max(maxKiB(f.serving), maxKiB(f.coldRSS))
	fmt.Fprintf(b, "| %s | %s | %s | **%.0f MiB** %s |\n\n", thousands(f.n), fmtReplicas(f.serving), fmtReplicas(f.coldRSS), float64(peak)/1024, sizedVerdict(f.n, peak))
}

// sizedVerdict says whether a peak (KiB) meets the aim, for a run of the
// aim's size or larger.
func sizedVerdict(n int, peak int64) string {
	if n < operatorMemoryAimAt {
		return "(fewer objects than the aim is for)"
	}
	return verdict(peak <= operatorMemoryAim*1024)
}
