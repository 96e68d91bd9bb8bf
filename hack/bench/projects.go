package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/projects/controllers"
)

// benchProjects provisions N Projects through the webhook and the operator
// and compares the time until all are Ready with the time the API server
// needs to take the same objects written directly (its floor).
func benchProjects(cfg config) (string, error) {
	ctx := context.Background()
	tier, err := loadTier()
	if err != nil {
		return "", err
	}

	var floor time.Duration
	if !cfg.projectsMemoryOnly {
		fmt.Println("    floor: writing the operator's objects directly (best of two runs)")
		floorRun := func() (time.Duration, error) {
			return withEnv(func(env *testenv.Env) (time.Duration, error) {
				if err := env.Client.Create(ctx, tier.DeepCopy()); err != nil {
					return 0, err
				}
				start := time.Now()
				err := parallel(cfg.projects, cfg.clients, func(i int) error {
					p := benchProject(i)
					p.UID = "00000000-0000-0000-0000-000000000000"
					for _, obj := range controllers.DesiredObjects(p, tier) {
						if err := env.Client.Apply(ctx, obj, controllers.FieldOwner, client.ForceOwnership); err != nil {
							return err
						}
					}
					return nil
				})
				return time.Since(start), err
			})
		}
		first, err := floorRun()
		if err != nil {
			return "", fmt.Errorf("floor: %w", err)
		}
		again, err := floorRun()
		if err != nil {
			return "", fmt.Errorf("floor: %w", err)
		}
		floor = min(first, again)
		if floor <= 0 {
			return "", fmt.Errorf("floor: no time measured")
		}
	}

	fmt.Println("    Atrium: Projects through admission and the operator")
	var peakKiB, coldKiB int64
	var coldSynced time.Duration
	var requests, reconciles, opCPU, whCPU float64
	// whKiB is the webhook's peak resident memory (VmHWM) over the run.
	var whKiB int64
	atrium, err := withEnv(func(env *testenv.Env) (time.Duration, error) {
		if err := env.Client.Create(ctx, tier.DeepCopy()); err != nil {
			return 0, err
		}
		comps, err := startComponents(env, cfg)
		if err != nil {
			return 0, err
		}
		defer comps.stop()
		pid, whPid := comps.op.Pid(), comps.wh.Pid()
		stopSampling := samplePeakRSS(pid, &peakKiB)
		defer stopSampling()
		// A watch, started before the first create, sees each Project turn
		// Ready; polling with lists would load the API server it measures.
		allReady, err := watchReady(ctx, env, cfg.projects)
		if err != nil {
			return 0, err
		}
		before, err := scrapeAPIServer(ctx, env)
		if err != nil {
			return 0, err
		}
		owners, err := ownersClient(env)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		if err := parallel(cfg.projects, cfg.clients, func(i int) error {
			p := benchProject(i)
			return createRetrying(asUser(ctx, p.Spec.Owner), owners, p)
		}); err != nil {
			return 0, err
		}
		created := time.Since(start)
		fmt.Printf("    %d Projects created in %s, waiting for Ready\n", cfg.projects, created.Round(time.Millisecond))
		select {
		case err = <-allReady:
		case <-time.After(10 * time.Minute):
			err = fmt.Errorf("not all %d Projects Ready after 10 minutes", cfg.projects)
		}
		elapsed := time.Since(start)
		if after, err := scrapeAPIServer(ctx, env); err == nil {
			fmt.Println("    API server requests during the run, by kind (all clients):")
			for i, row := range apiRequestCounts(before, after) {
				if i == 15 {
					break
				}
				fmt.Printf("      %8.0f  %s\n", row.n, row.what)
			}
		}
		requests, reconciles = scrapeCounters("http://127.0.0.1:18080/metrics")
		opCPU, whCPU = cpuSeconds(pid), cpuSeconds(whPid)
		whKiB = peakRSS(whPid)
		if err != nil {
			return elapsed, err
		}
		stopSampling()
		fmt.Printf("    operator peak resident memory while provisioning: %.1f MiB\n", float64(peakKiB)/1024)
		if err := comps.heapProfile("serving"); err != nil {
			return elapsed, err
		}
		// Cold: a new operator process, as after an upgrade or a crash,
		// fills its caches with everything at once and reconciles every
		// Project again (its applied memory is gone).
		fmt.Println("    restarting the operator: cold start with every Project in place")
		coldStart := time.Now()
		if err := comps.restartOperator(); err != nil {
			return elapsed, err
		}
		stopCold := samplePeakRSS(comps.op.Pid(), &coldKiB)
		// Every 2 s, not testenv.Eventually's 100 ms: each scrape makes
		// the operator gather its metrics, which is garbage it would not
		// make otherwise.
		deadline := time.Now().Add(30 * time.Minute)
		for {
			_, n := scrapeCounters("http://127.0.0.1:18080/metrics")
			if n >= float64(cfg.projects) {
				err = nil
				break
			}
			if err = fmt.Errorf("%.0f of %d Projects reconciled after the restart", n, cfg.projects); time.Now().After(deadline) {
				break
			}
			time.Sleep(2 * time.Second)
		}
		coldSynced = time.Since(coldStart)
		stopCold()
		fmt.Printf("    operator peak resident memory after the restart: %.1f MiB\n", float64(coldKiB)/1024)
		if err != nil {
			return elapsed, err
		}
		return elapsed, comps.heapProfile("cold")
	})
	if err != nil {
		return "", fmt.Errorf("atrium: %w", err)
	}
	objects := len(controllers.DesiredObjects(benchProject(0), tier))
	if cfg.projectsMemoryOnly {
		return projectsMemoryReport(cfg, objects, peakKiB, coldKiB, atrium, coldSynced), nil
	}
	ratio := atrium.Seconds() / floor.Seconds()

	var b strings.Builder
	fmt.Fprintf(&b, "## Projects: %d provisioned from scratch\n\n", cfg.projects)
	fmt.Fprintf(&b, "Run on %s, %d cores (%s). One kube-apiserver v1.36.3 and etcd from `bin/`, %d concurrent clients, operator `--concurrency=%d`.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS+"/"+runtime.GOARCH, cfg.clients, cfg.concurrency)
	fmt.Fprintf(&b, "| what | time |\n|---|---|\n")
	fmt.Fprintf(&b, "| floor: the operator's %d objects per Project (%d in all) applied directly, best of two | %s |\n", objects, objects*cfg.projects, floor.Round(time.Millisecond))
	fmt.Fprintf(&b, "| Atrium: %d Projects created through the webhooks until all are Ready | %s |\n", cfg.projects, atrium.Round(time.Millisecond))
	fmt.Fprintf(&b, "| **ratio** (aim ≤ 1.3) | **%.2f** |\n", ratio)
	fmt.Fprintf(&b, "| operator peak resident memory: provisioning / restarted with every Project in place | %.1f MiB / %.1f MiB |\n", float64(peakKiB)/1024, float64(coldKiB)/1024)
	fmt.Fprintf(&b, "| webhook peak resident memory, admitting every Project | %.1f MiB |\n", float64(whKiB)/1024)
	fmt.Fprintf(&b, "| operator: API requests / Project reconciles | %.0f / %.0f |\n", requests, reconciles)
	fmt.Fprintf(&b, "| CPU time: operator / webhook | %.1f s / %.1f s |\n\n", opCPU, whCPU)
	fmt.Fprintf(&b, "The Atrium figure includes what the floor does not: creating the Projects, each by its owner (self-service, as the shipped RBAC lets any user), the mutating and validating webhooks "+
		"(a SubjectAccessReview where a decision needs one), the finalizer and the status of every Project. Tier `%s` from docs/examples. "+
		"Reproduce with `make bench` (or `go run ./hack/bench -only projects -projects N`).\n", tier.Name)
	return b.String(), nil
}

func loadTier() (*tenancyv1.ProjectTier, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(root, "docs/examples/projecttier-standard.yaml"))
	if err != nil {
		return nil, err
	}
	t := &tenancyv1.ProjectTier{}
	return t, yaml.Unmarshal(b, t)
}

func benchProject(i int) *tenancyv1.Project {
	return &tenancyv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%05d", i)},
		Spec:       tenancyv1.ProjectSpec{Owner: fmt.Sprintf("bench-user-%05d", i), Tier: "standard"},
	}
}

// withEnv runs f against a fresh control plane.
func withEnv(f func(*testenv.Env) (time.Duration, error)) (time.Duration, error) {
	env, err := testenv.Start(testenv.Options{Webhooks: []string{components.ProjectsWebhook.Folder}, NoControllerManager: noControllerManager})
	if err != nil {
		return 0, err
	}
	defer env.Stop()
	if err := env.CreateFromFiles(context.Background(), "config/rbac"); err != nil {
		return 0, err
	}
	return f(env)
}

// benchComponents are the operator and the webhook running as processes.
type benchComponents struct {
	op, wh  *procs.Process
	dir     string
	opArgs  []string
	opEnv   []string
	cfg     config
	pprofAt string
}

// startComponents builds and runs the operator and the webhook as
// processes, the operator with its shipped defaults unless cfg asks for a
// profile endpoint or another GOGC.
func startComponents(env *testenv.Env, cfg config) (*benchComponents, error) {
	dir, err := os.MkdirTemp("", "atrium-bench-")
	if err != nil {
		return nil, err
	}
	if err := components.Build(env.Root, dir, components.Projects, components.ProjectsWebhook); err != nil {
		return nil, err
	}
	kubecfg := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubecfg, env.KubeConfig(), 0o600); err != nil {
		return nil, err
	}
	host, port, certDir := env.WebhookServing()
	// The slots that count each owner's Projects go to "default": the
	// bench's API server has no atrium-system (there is no pod namespace).
	// The control plane is its own hub, where both report (to the
	// MemberCluster made here), as on a hub that is also a member.
	common := []string{"--kubeconfig=" + kubecfg, "--health-probe-bind-address=0", "--metrics-bind-address=0", "--slot-namespace=default",
		"--cluster-name=" + benchCluster, "--hub-kubeconfig=" + kubecfg}
	if err := env.Client.Create(context.Background(), &fleetv1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Name: benchCluster}}); err != nil {
		return nil, err
	}
	c := &benchComponents{dir: dir, cfg: cfg}
	c.opArgs = append(common, "--leader-elect=false", "--metrics-bind-address=127.0.0.1:18080", "--concurrency="+strconv.Itoa(cfg.concurrency))
	if cfg.operatorProfiles != "" {
		c.pprofAt = "127.0.0.1:18082"
		c.opArgs = append(c.opArgs, "--pprof-bind-address="+c.pprofAt)
	}
	if cfg.operatorGOGC != "" {
		c.opEnv = append(os.Environ(), "GOGC="+cfg.operatorGOGC)
	}
	if cfg.operatorWatchList {
		c.opArgs = append(c.opArgs, "--watch-list-client=true")
	}
	c.wh, err = procs.Start("webhook", filepath.Join(dir, components.ProjectsWebhook.Binary()),
		append(common, "--cert-dir="+certDir, "--webhook-port="+strconv.Itoa(port)), dir, nil)
	if err != nil {
		return nil, err
	}
	if c.op, err = procs.StartWithEnv("operator", filepath.Join(dir, components.Projects.Binary()), c.opArgs, c.opEnv, dir, nil); err != nil {
		c.wh.Stop(time.Second)
		return nil, err
	}
	url := "https://" + host + ":" + strconv.Itoa(port) + "/"
	if err := testenv.Eventually(context.Background(), time.Minute, func() error { return testenv.ProbeTLS(url) }); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *benchComponents) stop() {
	c.op.Stop(10 * time.Second)
	c.wh.Stop(10 * time.Second)
	os.RemoveAll(c.dir)
}

// restartOperator stops the operator and starts a new process of it.
func (c *benchComponents) restartOperator() error {
	c.op.Stop(10 * time.Second)
	op, err := procs.StartWithEnv("operator", filepath.Join(c.dir, components.Projects.Binary()), c.opArgs, c.opEnv, c.dir, nil)
	if err != nil {
		return err
	}
	c.op = op
	return nil
}

// heapProfile writes the operator's heap profile, after a GC, as
// <operatorProfiles>/operator-<N>-<when>.pb.gz, when profiles were asked for.
func (c *benchComponents) heapProfile(when string) error {
	if c.pprofAt == "" {
		return nil
	}
	resp, err := http.Get("http://" + c.pprofAt + "/debug/pprof/heap?gc=1")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("heap profile: %s", resp.Status)
	}
	if err := os.MkdirAll(c.cfg.operatorProfiles, 0o755); err != nil {
		return err
	}
	path := filepath.Join(c.cfg.operatorProfiles, fmt.Sprintf("operator-%d-%s.pb.gz", c.cfg.projects, when))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		return err
	}
	fmt.Println("    heap profile:", path)
	return nil
}

// samplePeakRSS keeps *peak at the process's peak resident memory (KiB)
// until the returned function is called (more than once is fine).
func samplePeakRSS(pid int, peak *int64) func() {
	var done atomic.Bool
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for !done.Load() {
			if kib := peakRSS(pid); kib > *peak {
				*peak = kib
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	return func() {
		done.Store(true)
		<-finished
	}
}

// projectsMemoryReport is the report of a memory-only run.
func projectsMemoryReport(cfg config, objects int, peakKiB, coldKiB int64, ready, coldSynced time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Projects: the operator's memory with %d Projects\n\n", cfg.projects)
	fmt.Fprintf(&b, "Run on %s, %d cores (%s), memory only (no floor; `-projects-memory-only`). One kube-apiserver v1.36.3 and etcd from `bin/`, %d concurrent clients, operator `--concurrency=%d`",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS+"/"+runtime.GOARCH, cfg.clients, cfg.concurrency)
	if cfg.operatorGOGC != "" {
		fmt.Fprintf(&b, ", GOGC=%s", cfg.operatorGOGC)
	}
	if cfg.operatorWatchList {
		fmt.Fprintf(&b, ", `--watch-list-client`")
	}
	fmt.Fprintf(&b, ".\n\n| what | figure |\n|---|---|\n")
	fmt.Fprintf(&b, "| objects the operator keeps per Project | %d (%d in all) |\n", objects, objects*cfg.projects)
	fmt.Fprintf(&b, "| operator peak resident memory while provisioning | %.1f MiB |\n", float64(peakKiB)/1024)
	fmt.Fprintf(&b, "| operator peak resident memory after a restart, until it has reconciled every Project | %.1f MiB |\n", float64(coldKiB)/1024)
	fmt.Fprintf(&b, "| time: all Ready / restart until every Project reconciled (this machine, not a result) | %s / %s |\n\n",
		ready.Round(time.Second), coldSynced.Round(time.Second))
	fmt.Fprintf(&b, "Reproduce with `go run ./hack/bench -only projects -projects-memory-only -projects %d`.\n", cfg.projects)
	return b.String()
}

// createRetrying creates a Project, again when the API server timed out
// calling a webhook (on an overloaded machine), which stored nothing; one
// that exists by then was created by the earlier try.
func createRetrying(ctx context.Context, c client.Client, p *tenancyv1.Project) error {
	var err error
	for try := 0; try < 5; try++ {
		err = c.Create(ctx, p.DeepCopy())
		switch {
		case err == nil, try > 0 && apierrors.IsAlreadyExists(err):
			return nil
		case !apierrors.IsInternalError(err) && !apierrors.IsTimeout(err) && !apierrors.IsServerTimeout(err):
			return err
		}
		time.Sleep(time.Second)
	}
	return err
}

// ownersClient is a client of env that sends each request as the user
// asUser put in its context (an authenticated user with no other group),
// over the connections of one client: each Project is created by its
// owner, self-service, as the shipped RBAC lets any user
// (atrium:self-provisioner), not by an admin on the owner's behalf, which
// costs admission a SubjectAccessReview (is the requester a platform
// admin?) that self-service does not.
func ownersClient(env *testenv.Env) (client.Client, error) {
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return impersonating{rt} })
	return client.New(cfg, client.Options{Scheme: env.Scheme})
}

type userKey struct{}

// asUser is ctx whose requests ownersClient sends as user.
func asUser(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, userKey{}, user)
}

// impersonating sends a request as the user its context names.
type impersonating struct{ next http.RoundTripper }

func (t impersonating) RoundTrip(req *http.Request) (*http.Response, error) {
	user, ok := req.Context().Value(userKey{}).(string)
	if !ok {
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Set("Impersonate-User", user)
	req.Header.Set("Impersonate-Group", "system:authenticated")
	return t.next.RoundTrip(req)
}

// parallel runs f for 0..n-1 on the given number of workers.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// peakRSS reads a process's peak resident set size (VmHWM) in KiB.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}

// scrapeCounters sums the operator's API requests and Project reconciles
// from its Prometheus endpoint.
func scrapeCounters(url string) (requests, reconciles float64) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch {
		case strings.HasPrefix(f[0], "rest_client_requests_total{"):
			requests += v
		case strings.HasPrefix(f[0], `controller_runtime_reconcile_total{controller="project"`):
			reconciles += v
		}
	}
	return requests, reconciles
}

// cpuSeconds reads the user and system CPU time a process has used so far.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	rest := string(b)[strings.LastIndexByte(string(b), ')')+2:]
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// watchReady reports on the channel once n Projects have been seen Ready.
// The API server ends a watch when it likes (its timeout, or under load):
// the watch is opened again from the last version seen, and after a 410
// from a fresh list, so that a long run is not lost to a closed watch.
func watchReady(ctx context.Context, env *testenv.Env, n int) (<-chan error, error) {
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		return nil, err
	}
	ready := map[string]bool{}
	see := func(p *tenancyv1.Project) {
		if meta.IsStatusConditionTrue(p.Status.Conditions, tenancyv1.ReadyCondition) {
			ready[p.Name] = true
		}
	}
	// list reads every Project, for a watch to start from.
	list := func() (string, error) {
		l := &tenancyv1.ProjectList{}
		if err := wc.List(ctx, l); err != nil {
			return "", err
		}
		for i := range l.Items {
			see(&l.Items[i])
		}
		return l.ResourceVersion, nil
	}
	open := func(rv string) (watch.Interface, error) {
		return wc.Watch(ctx, &tenancyv1.ProjectList{}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
	}
	rv, err := list()
	if err != nil {
		return nil, err
	}
	w, err := open(rv)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		for {
			for ev := range w.ResultChan() {
				if ev.Type == watch.Error {
					rv = "" // 410 Gone, or another end: list again
					continue
				}
				p, ok := ev.Object.(*tenancyv1.Project)
				if !ok {
					continue
				}
				rv = p.ResourceVersion
				see(p)
				if len(ready) >= n {
					w.Stop()
					done <- nil
					return
				}
			}
			w.Stop()
			if len(ready) >= n {
				done <- nil
				return
			}
			var err error
			if rv == "" {
				rv, err = list()
			}
			if err == nil {
				w, err = open(rv)
			}
			if err != nil || ctx.Err() != nil {
				done <- fmt.Errorf("watch ended with %d of %d Projects Ready: %v", len(ready), n, errors.Join(err, ctx.Err()))
				return
			}
		}
	}()
	return done, nil
}
