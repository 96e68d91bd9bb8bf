package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/bind"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/operators/dns/controllers"
)

const (
	// dnsMemoryKustomization is the member of the memory part: the member
	// overlay with the DNS operator as its only Deployment.
	dnsMemoryKustomization = "hack/bench/testdata/dns-member"
	// dnsMetricsPort is the operator's metrics port in its Deployment.
	dnsMetricsPort = 8086
	// dnsPprofPort is the pprof port of the -memory-profiles member.
	dnsPprofPort = 8094
	// dnsZoneController syncs the zone (one reconcile a sync);
	// dnsStatusController reports on each claim (one reconcile a claim).
	dnsZoneController   = "dnszone"
	dnsStatusController = "dnsclaimstatus"
	dnsLease            = "atrium-dns.atrium.dev"
)

// dnsMemory measures the DNS operator's replicas, started from the
// shipped Deployment, publishing n hostnames: n Ingresses in the member,
// each with its claim at the hub (the member is its own hub, as for the
// other operators' memory parts), into an empty BIND. Serving is until
// every name resolves and every claim says DNSRegistered; the cold start
// is both replicas killed and started afresh on the full zone (the new
// leader reads it whole, 2n+3 records, and reports on every claim again).
func dnsMemory(n int) (footprint, error) {
	ctx := context.Background()
	f := footprint{n: n}
	fmt.Printf("    memory: %s claimed Ingresses in %d namespaces, the operator as shipped\n", thousands(n), dnsNamespaces)
	srv, err := bind.Start(ctx, bind.Options{Zones: []string{dnsZone}})
	if err != nil {
		return f, err
	}
	defer srv.Close()
	fl, stop, err := operatorFleet(ctx, memberKustomization(dnsMemoryKustomization), fleet.MemberOptions{
		Name: benchCluster,
		ConfigMaps: map[string]map[string]string{"atrium-dns": {
			"provider": "rfc2136", "zone": dnsZone, "server": srv.Addr,
			"tsig-key-name": srv.KeyName, "tsig-algorithm": bind.KeyAlgorithm, "default-targets": dnsTarget,
		}},
		Secrets: map[string]map[string][]byte{"atrium-dns-credentials": {"tsig-secret": []byte(srv.KeySecret)}},
	}, nil)
	if err != nil {
		return f, err
	}
	defer stop()
	member := fl.Members[0]
	dep := member.Deployment(components.DNS)
	if dep == nil {
		return f, fmt.Errorf("no Deployment %s in %s", components.DNS.Deployment, dnsMemoryKustomization)
	}
	start := time.Now()
	// The member is its own hub: the claims go to the same API server.
	if err := dnsInventory(ctx, member.Env, member.Env, n, benchCluster); err != nil {
		return f, err
	}
	f.fill = time.Since(start)
	fmt.Printf("      %s Ingresses and claims created in %s, waiting for every name and claim\n", thousands(n), f.fill.Round(time.Second))
	if err := allResolve(ctx, srv, n); err != nil {
		return f, err
	}
	if err := waitRegistered(ctx, member.Env.Client, n, 15*time.Minute); err != nil {
		return f, err
	}
	if _, err := waitChecked(ctx, dep, dnsMetricsPort, dnsStatusController, dnsLease, n, 5*time.Second, 5*time.Minute); err != nil {
		return f, err
	}
	f.settle = time.Since(start) - f.fill
	f.serving, f.servingCPU = leaderFirst(ctx, dep, dnsMetricsPort, dnsStatusController, dnsLease)
	if err := heapProfile(ctx, dep, dnsMetricsPort, dnsPprofPort, dnsStatusController, dnsLease, "dns-serving"); err != nil {
		return f, err
	}
	fmt.Printf("      every name resolving and every claim registered %s later; serving: peak resident memory %s\n", f.settle.Round(time.Second), fmtReplicas(f.serving))

	// The cold start: the new leader's first sync reads the whole zone
	// and tells the status controller of every claim.
	coldStart := time.Now()
	for _, p := range dep.Pods() {
		if _, err := dep.Replace(ctx, p); err != nil {
			return f, err
		}
	}
	if err := dep.WaitReady(ctx, 5*time.Minute); err != nil {
		return f, err
	}
	if _, err := waitChecked(ctx, dep, dnsMetricsPort, dnsZoneController, dnsLease, 1, 5*time.Second, 5*time.Minute); err != nil {
		return f, fmt.Errorf("cold start: %w", err)
	}
	if f.reconciles, err = waitChecked(ctx, dep, dnsMetricsPort, dnsStatusController, dnsLease, n, 5*time.Second, 5*time.Minute); err != nil {
		return f, fmt.Errorf("cold start: %w", err)
	}
	f.cold = time.Since(coldStart) - 5*time.Second
	f.coldRSS, f.coldCPU = leaderFirst(ctx, dep, dnsMetricsPort, dnsStatusController, dnsLease)
	if err := heapProfile(ctx, dep, dnsMetricsPort, dnsPprofPort, dnsStatusController, dnsLease, "dns-cold"); err != nil {
		return f, err
	}
	fmt.Printf("      cold start: every claim checked %s after the kill (%.0f claim reconciles); peak resident memory %s\n",
		f.cold.Round(time.Second), f.reconciles, fmtReplicas(f.coldRSS))
	// The restart changed nothing a user sees: every name still resolves
	// and every claim is still registered.
	if err := allResolve(ctx, srv, n); err != nil {
		return f, err
	}
	return f, waitRegistered(ctx, member.Env.Client, n, time.Minute)
}

// waitRegistered polls until n claims say DNSRegistered.
func waitRegistered(ctx context.Context, c client.Client, n int, limit time.Duration) error {
	return waitCounted(ctx, c, &fleetv1.HostnameClaimList{}, n, limit, "claims DNSRegistered", func(o any) bool {
		claim, ok := o.(*fleetv1.HostnameClaim)
		return ok && meta.IsStatusConditionTrue(claim.Status.Conditions, controllers.ConditionDNSRegistered)
	})
}

// renderDNSMemory writes the memory part of the DNS report.
func renderDNSMemory(b *strings.Builder, f footprint) {
	fmt.Fprintf(b, "\n### Memory: %s hostnames, the operator as shipped\n\n", thousands(f.n))
	fmt.Fprintf(b, "The operator's binary runs as its shipped Deployment's %d replicas (leader election on), with the Deployment's arguments, RBAC and admission policies (`%s`: the member overlay with the DNS operator as its only Deployment, nothing changed), the member its own hub, BIND9 on loopback. "+
		"%s Ingresses in %d namespaces, each hostname claimed for this cluster; the operator publishes them all into an empty zone and reports on every claim at its shipped pace (--hub-qps). "+
		"Peak resident memory (VmHWM) of each replica, the leader's first: *serving*, once every name resolved and every claim said DNSRegistered; *cold start*, after both replicas were killed at once and started afresh on the full zone, once the new leader had read it and checked every claim again.\n\n",
		len(f.serving), dnsMemoryKustomization, thousands(f.n), dnsNamespaces)
	footprintRow(b, "hostnames", f)
	fmt.Fprintf(b, "Creating the Ingresses and claims took %s; every name resolved and every claim was registered %s later. The cold start: every claim checked %s after the kill (%.0f claim reconciles by the new leader, the lease taken over once the killed leader's had expired). The leader's CPU time: %.0f s serving, %.0f s over the cold start.\n",
		f.fill.Round(time.Second), f.settle.Round(time.Second), f.cold.Round(time.Second), f.reconciles, f.servingCPU, f.coldCPU)
}
