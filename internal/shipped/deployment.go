package shipped

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/atrium-dev/atrium/internal/procs"
)

// RunOptions say where a Deployment's replicas run from.
type RunOptions struct {
	// Cluster is the cluster the pods run on.
	Cluster Cluster
	// BinDir holds the components' binaries (see Binary).
	BinDir string
	// Dir holds the pods' files; LogDir their logs (<pod>.log).
	Dir, LogDir string
	// Prefix goes before pod names (a cluster's name when several run).
	Prefix string
	// OnExit is called when a pod's process ends without being stopped.
	OnExit func(p *procs.Process, err error)
}

// Deployment is a shipped Deployment's replicas, as processes.
type Deployment struct {
	Spec *appsv1.Deployment
	o    RunOptions

	mu   sync.Mutex
	pods []*Pod
	// started counts pods ever started, to name replacements.
	started int
}

// Run starts the Deployment's replicas (spec.replicas, one when unset).
func Run(ctx context.Context, dep *appsv1.Deployment, o RunOptions) (*Deployment, error) {
	d := &Deployment{Spec: dep, o: o}
	n := 1
	if dep.Spec.Replicas != nil {
		n = int(*dep.Spec.Replicas)
	}
	for i := 0; i < n; i++ {
		if _, err := d.add(ctx); err != nil {
			d.Stop()
			return nil, err
		}
	}
	return d, nil
}

func (d *Deployment) add(ctx context.Context) (*Pod, error) {
	d.mu.Lock()
	name := fmt.Sprintf("%s%s-%d", d.o.Prefix, d.Spec.Name, d.started)
	d.started++
	binDir := d.o.BinDir
	d.mu.Unlock()
	if err := os.MkdirAll(d.o.LogDir, 0o755); err != nil {
		return nil, err
	}
	p, err := startPod(ctx, podOptions{
		cluster: d.o.Cluster, dep: d.Spec, name: name, binDir: binDir,
		dir: filepath.Join(d.o.Dir, name), logDir: d.o.LogDir, onExit: d.o.OnExit,
	})
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.pods = append(d.pods, p)
	d.mu.Unlock()
	return p, nil
}

// Pods are the running replicas, oldest first.
func (d *Deployment) Pods() []*Pod {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*Pod(nil), d.pods...)
}

// WaitReady waits until every replica passes its readiness probe, as
// `kubectl rollout status` does.
func (d *Deployment) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		notReady := ""
		for _, p := range d.Pods() {
			if !p.Ready() {
				notReady = p.Name
				break
			}
		}
		if notReady == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			var tail string
			for _, p := range d.Pods() {
				if p.Name == notReady {
					tail = p.proc.Tail(20)
				}
			}
			return fmt.Errorf("pod %s not ready after %s; its log ends:\n%s", notReady, timeout, tail)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Kill ends a replica without notice (a crash, a node lost) and removes
// it from the Deployment.
func (d *Deployment) Kill(p *Pod) {
	p.proc.Kill()
	d.remove(p)
}

// Replace kills a replica and starts another in its place, as the
// Deployment's ReplicaSet would after a crash.
func (d *Deployment) Replace(ctx context.Context, p *Pod) (*Pod, error) {
	d.Kill(p)
	return d.add(ctx)
}

func (d *Deployment) remove(p *Pod) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, q := range d.pods {
		if q == p {
			d.pods = append(d.pods[:i], d.pods[i+1:]...)
			return
		}
	}
}

// Stop stops every replica gracefully (SIGTERM, then a kill after the
// pod's grace period).
func (d *Deployment) Stop() {
	grace := d.grace()
	var wg sync.WaitGroup
	for _, p := range d.Pods() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.proc.Stop(grace)
		}()
		d.remove(p)
	}
	wg.Wait()
}

// BinDir is where new replicas' binaries come from.
func (d *Deployment) BinDir() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.o.BinDir
}

// endpointsDelay is how long a retired replica keeps running after it
// left the Deployment's ready replicas: Services probe every 250ms, so by
// then none sends it a new connection (a kubelet's preStop sleep plays
// the same part for a Service's endpoints).
const endpointsDelay = time.Second

// Roll replaces every replica, oldest first, by one running the binary
// of binDir, as a Deployment's RollingUpdate with maxSurge 1 and
// maxUnavailable 0 does when its image changes: it starts a new replica,
// waits until it passes its readiness probe (within timeout), takes an old
// one out of the ready replicas (Services stop sending it connections),
// and stops it gracefully, so the Deployment never has fewer ready
// replicas than it had. A new replica that does not get ready stops the
// roll with an error, leaving it and the old replicas not yet replaced
// running, as a stuck rollout does.
func (d *Deployment) Roll(ctx context.Context, binDir string, timeout time.Duration) error {
	d.mu.Lock()
	old := append([]*Pod(nil), d.pods...)
	d.o.BinDir = binDir
	d.mu.Unlock()
	for _, p := range old {
		np, err := d.add(ctx)
		if err != nil {
			return fmt.Errorf("Deployment %s: %w", d.Spec.Name, err)
		}
		if err := waitPodReady(ctx, np, timeout); err != nil {
			return fmt.Errorf("Deployment %s: %w", d.Spec.Name, err)
		}
		d.retire(ctx, p)
	}
	return nil
}

// retire takes a replica out of the Deployment (no Service picks it any
// more), waits endpointsDelay, then stops it within its grace period.
func (d *Deployment) retire(ctx context.Context, p *Pod) {
	d.remove(p)
	select {
	case <-ctx.Done():
	case <-time.After(endpointsDelay):
	}
	p.proc.Stop(d.grace())
}

func (d *Deployment) grace() time.Duration {
	if s := d.Spec.Spec.Template.Spec.TerminationGracePeriodSeconds; s != nil {
		return time.Duration(*s) * time.Second
	}
	return 30 * time.Second
}

// waitPodReady waits until the pod passes its readiness probe.
func waitPodReady(ctx context.Context, p *Pod, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !p.Ready() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("pod %s not ready after %s; its log ends:\n%s", p.Name, timeout, p.proc.Tail(20))
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}
