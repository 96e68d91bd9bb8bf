package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/openstackfake"
)

const (
	// volumesMemoryKustomization is the member of the memory part: the
	// member overlay with the volumes operator as its only Deployment,
	// its Cinder pacing lifted.
	volumesMemoryKustomization = "hack/bench/testdata/volumes-member"
	// volumesMemoryPerNamespace spreads the volumes: a hundred namespaces
	// at 10,000 volumes.
	volumesMemoryPerNamespace = 100
	// volumesMetricsPort is the operator's metrics port in its Deployment.
	volumesMetricsPort = 8090
	// volumesPprofPort is the pprof port of the -memory-profiles member.
	volumesPprofPort  = 8093
	volumesController = "openstackvolume"
	volumesLease      = "atrium-volumes.atrium.dev"
)

// volumesMemory measures the volumes operator's replicas, started from
// the shipped Deployment, with n OpenStackVolumes in the cluster. The
// OpenStack fake answers at once and a new volume is available at its
// first read, so the operator provisions every volume through its whole
// path (the claim, the Cinder create, the PersistentVolume, the binding
// by kube-controller-manager) without waiting on Cinder.
func volumesMemory(n int) (footprint, error) {
	ctx := context.Background()
	f := footprint{n: n}
	namespaces := (n + volumesMemoryPerNamespace - 1) / volumesMemoryPerNamespace
	fmt.Printf("    memory: %s OpenStackVolumes in %d namespaces, the operator as shipped\n", thousands(n), namespaces)
	fake := openstackfake.Start(openstackfake.WithSettleReads(0))
	defer fake.Close()
	project := fake.AddProject("atrium-" + benchCluster)
	id, secret := fake.AddApplicationCredential(project, "atrium-volumes")

	fl, stop, err := operatorFleet(ctx, memberKustomization(volumesMemoryKustomization), fleet.MemberOptions{
		Name: benchCluster,
		ConfigMaps: map[string]map[string]string{"atrium-volumes": {
			"cloud": volumesBenchCloud, "default-availability-zone": "nova",
		}},
		Secrets: map[string]map[string][]byte{"atrium-volumes-credentials": {
			"clouds.yaml": []byte(fake.CloudsYAML(volumesBenchCloud, id, secret)),
		}},
	}, liftedBinder)
	if err != nil {
		return f, err
	}
	defer stop()
	member := fl.Members[0]
	c := member.Env.Client
	dep := member.Deployment(components.Volumes)
	if dep == nil {
		return f, fmt.Errorf("no Deployment %s in %s", components.Volumes.Deployment, volumesMemoryKustomization)
	}
	for ns := range namespaces {
		name := fmt.Sprintf("volumes-%d", ns)
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{tenancyv1.ProjectLabel: name}}}); err != nil {
			return f, err
		}
	}
	start := time.Now()
	if err := parallel(n, 10, func(i int) error {
		return c.Create(ctx, &storagev1.OpenStackVolume{
			ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("volumes-%d", i/volumesMemoryPerNamespace), Name: fmt.Sprintf("data-%d", i)},
			Spec:       storagev1.OpenStackVolumeSpec{SizeGiB: 1},
		})
	}); err != nil {
		return f, err
	}
	f.fill = time.Since(start)
	fmt.Printf("      %s OpenStackVolumes created in %s, waiting for Ready\n", thousands(n), f.fill.Round(time.Second))
	if err := waitAllReady(ctx, c, &storagev1.OpenStackVolumeList{}, n, 60*time.Minute); err != nil {
		return f, err
	}
	f.settle = time.Since(start) - f.fill
	if _, err := waitChecked(ctx, dep, volumesMetricsPort, volumesController, volumesLease, n, 5*time.Second, 5*time.Minute); err != nil {
		return f, err
	}
	f.serving, f.servingCPU = leaderFirst(ctx, dep, volumesMetricsPort, volumesController, volumesLease)
	if err := heapProfile(ctx, dep, volumesMetricsPort, volumesPprofPort, volumesController, volumesLease, "volumes-serving"); err != nil {
		return f, err
	}
	fmt.Printf("      every volume Ready %s later; serving: peak resident memory %s\n", f.settle.Round(time.Second), fmtReplicas(f.serving))

	from := len(fake.Log())
	if f.cold, f.reconciles, err = restartDeployment(ctx, dep, volumesMetricsPort, volumesController, volumesLease, n, 15*time.Minute); err != nil {
		return f, fmt.Errorf("cold start: %w", err)
	}
	f.coldRSS, f.coldCPU = leaderFirst(ctx, dep, volumesMetricsPort, volumesController, volumesLease)
	if err := heapProfile(ctx, dep, volumesMetricsPort, volumesPprofPort, volumesController, volumesLease, "volumes-cold"); err != nil {
		return f, err
	}
	f.external = requestCounts(fake, from)
	fmt.Printf("      cold start: every volume checked %s after the kill (%.0f reconciles; Cinder: %s); peak resident memory %s\n",
		f.cold.Round(time.Second), f.reconciles, routes(f.external), fmtReplicas(f.coldRSS))
	return f, waitAllReady(ctx, c, &storagev1.OpenStackVolumeList{}, n, time.Minute)
}

// conditionsOfVolume are an OpenStackVolume's status conditions.
func conditionsOfVolume(o any) []metav1.Condition {
	if v, ok := o.(*storagev1.OpenStackVolume); ok {
		return v.Status.Conditions
	}
	return nil
}

// renderVolumesMemory writes the memory part of the volumes report.
func renderVolumesMemory(b *strings.Builder, f footprint) {
	fmt.Fprintf(b, "\n### Memory: %s volumes, the operator as shipped\n\n", thousands(f.n))
	fmt.Fprintf(b, "The operator's binary runs as its shipped Deployment's %d replicas (leader election on), with the Deployment's arguments, RBAC and admission policies (`%s`: the member overlay with the volumes operator as its only Deployment, its --cinder-qps lifted), against the OpenStack fake with no added latency, a new volume available at its first read. "+
		"%s OpenStackVolumes of 1 GiB in %d namespaces, each provisioned by the operator through its whole path (claim, Cinder create, PersistentVolume, bound by kube-controller-manager, client limit lifted). "+
		"Peak resident memory (VmHWM) of each replica, the leader's first: *serving*, after the volumes were created and every one was Ready; *cold start*, after both replicas were killed at once and started afresh, once the new leader had checked every volume again.\n\n",
		len(f.serving), volumesMemoryKustomization, thousands(f.n), (f.n+volumesMemoryPerNamespace-1)/volumesMemoryPerNamespace)
	footprintRow(b, "volumes", f)
	fmt.Fprintf(b, "Creating the volumes took %s, every one Ready %s later. The cold start: every volume checked %s after the kill (%.0f reconciles by the new leader, the lease taken over once the killed leader's had expired; Cinder: %s). The leader's CPU time: %.0f s serving, %.0f s over the cold start.\n",
		f.fill.Round(time.Second), f.settle.Round(time.Second), f.cold.Round(time.Second), f.reconciles, routes(f.external), f.servingCPU, f.coldCPU)
}
