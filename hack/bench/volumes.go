package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	osvolumes "github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crconfig "sigs.k8s.io/controller-runtime/pkg/config"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/openstackfake"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
	"github.com/atrium-dev/atrium/operators/volumes/controllers"
)

// volumesShipped are operators/volumes/main.go's flag defaults, which the
// benchmark runs the operator with (--concurrency is -volumes-concurrency,
// --cinder-qps is -cinder-qps).
var volumesShipped = struct {
	cinderTimeout, resync, pollMin, pollMax, minBackoff, maxBackoff, createGrace, orphanInterval, answerTTL time.Duration
	cinderQPS                                                                                               float64
	cinderBurst                                                                                             int
}{
	cinderTimeout: 10 * time.Second, resync: 10 * time.Minute, pollMin: time.Second, pollMax: 30 * time.Second,
	minBackoff: time.Second, maxBackoff: 5 * time.Minute, createGrace: time.Minute, orphanInterval: 10 * time.Minute,
	answerTTL: 30 * time.Second,
	cinderQPS: 10, cinderBurst: 20,
}

const (
	volumesBenchCluster = "bench-member"
	volumesBenchCloud   = "bench"
)

// liftedBinder is kube-controller-manager's client limit in the runs the
// report's ratios come from. Its own default, 20 requests a second with a
// burst of 30 for each of its controllers' clients, lets the
// PersistentVolume binder bind at most some 7 claims a second (it writes
// three times for each), whoever made them: a run with it shows that
// bound apart.
var liftedBinder = []string{"--kube-api-qps=1000", "--kube-api-burst=2000"}

// benchVolumes provisions N OpenStackVolumes through the volumes operator
// against the OpenStack fake, with a fixed creating delay and a fixed
// latency per request, until every one is Ready (its claim bound), and
// compares that with the floor: the fewest Cinder requests that make the
// same volumes available, sent directly with gophercloud with as many
// requests in flight as the operator has workers.
func benchVolumes(cfg config) (string, error) {
	if noControllerManager {
		return "", fmt.Errorf("the volumes benchmark needs kube-controller-manager: its PersistentVolume binder binds the claims")
	}
	if cfg.volumes == 0 {
		kept, err := keptPart(cfg.out, "volumes")
		if err != nil {
			return "", err
		}
		return withMemory(cfg.volumesMemory, volumesMemory, renderVolumesMemory, kept)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## OpenStack volumes: %d provisioned from cold\n\n", cfg.volumes)
	qps := "lifted (what is measured is the operator, not its pacing)"
	if cfg.cinderQPS > 0 {
		qps = fmt.Sprintf("%g a second, the floors paced alike", cfg.cinderQPS)
	}
	fmt.Fprintf(&b, "Run on %s, %d cores (%s). %d OpenStackVolumes of 1 GiB in %d Project namespaces (each with its tier's storage quota atrium-storage), against the OpenStack fake: every Cinder volume is `creating` for exactly %s, and every request waits a fixed latency before it is served. "+
		"The operator runs in process as its shipped ServiceAccount, with its shipped ClusterRole and admission policies, --concurrency %d, --cinder-in-flight %d and main.go's defaults otherwise, --cinder-qps %s. "+
		"kube-controller-manager's PersistentVolume binder binds the claims, its client limit lifted (%s) except in the last row. "+
		"The clock runs from the first create until every OpenStackVolume is Ready with reason Bound.\n\n",
		time.Now().UTC().Format("2006-01-02"), goruntime.NumCPU(), goruntime.GOOS+"/"+goruntime.GOARCH, cfg.volumes, cfg.volumeNamespaces, cfg.cinderCreateDelay, cfg.volumesConcurrency, cfg.cinderInFlight, qps, strings.Join(liftedBinder, " "))
	fmt.Fprintf(&b, "The floors send with gophercloud, at most %d requests in flight (the operator's --cinder-in-flight), one create per volume, then read it until it is available: *ideal*, one GET at the instant it settles (the create's answer + %s), which knows the delay; *schedule*, GETs on the operator's own schedule (--poll-min %s after the create's answer, doubling up to --poll-max), which knows nothing the operator does not.\n\n",
		cfg.cinderInFlight, cfg.cinderCreateDelay, volumesShipped.pollMin)
	b.WriteString("| Cinder latency | floor: ideal GET | floor: operator's schedule | operator, until every volume is Bound | ratio to each floor | Cinder requests per volume (ideal / schedule / operator) | operator's API writes per volume |\n|---|---|---|---|---|---|---|\n")
	var details strings.Builder
	n := float64(cfg.volumes)
	describe := func(title string, run volumesRun) {
		fmt.Fprintf(&details, "\n**%s.** Cinder requests: %s. The operator's writes to the API server: %s (mean time each: %s); %d reconciles (%.1f a volume) of %s on average. ",
			title, routes(run.cinder), routes(run.writes), run.writeLatency, run.reconciles, float64(run.reconciles)/n, fmtDur(run.reconcileTime))
		if run.others != nil {
			fmt.Fprintf(&details, "Everyone else's writes meanwhile (the benchmark's %d creates, the binder, the quota admission and controller): %s. ", cfg.volumes, routes(run.others))
		}
		if run.cpu != nil {
			total := 0.0
			var parts []string
			for _, k := range sortedCPU(run.cpu) {
				total += run.cpu[k]
				parts = append(parts, fmt.Sprintf("%s %.1f s", k, run.cpu[k]))
			}
			fmt.Fprintf(&details, "CPU time during the run: %s; %.1f s in all, %.0f%% of the machine's %d cores over %.1f s. ", strings.Join(parts, ", "), total, 100*total/(run.took.Seconds()*float64(goruntime.NumCPU())), goruntime.NumCPU(), run.took.Seconds())
		}
		details.WriteString("Where a volume's time goes (over the volumes):\n\n")
		details.WriteString(run.phases)
	}
	var stockRow string
	var stock volumesRun
	for i, latency := range cfg.cinderLatencies {
		ideal, idealReq, err := volumesFloor(cfg, latency, false)
		if err != nil {
			return "", err
		}
		sched, schedReq, err := volumesFloor(cfg, latency, true)
		if err != nil {
			return "", err
		}
		run, err := volumesOperator(cfg, latency, liftedBinder)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "| %s | %.1fs | %.1fs | %.1fs | **%.2f** / **%.2f** | %.2f / %.2f / %.2f | %.2f |\n", latency,
			ideal.Seconds(), sched.Seconds(), run.took.Seconds(), run.took.Seconds()/ideal.Seconds(), run.took.Seconds()/sched.Seconds(),
			float64(cinderPerVolume(idealReq))/n, float64(cinderPerVolume(schedReq))/n, float64(cinderPerVolume(run.cinder))/n, float64(sum(run.writes))/n)
		fmt.Fprintf(&details, "\n**Floors, %s a request.** ideal: %s; schedule: %s.\n", latency, routes(idealReq), routes(schedReq))
		describe(fmt.Sprintf("Operator, %s a request", latency), run)
		if i > 0 || !cfg.stockBinder {
			continue
		}
		// The same with kube-controller-manager as it comes: the binder's
		// limit, not the operator's, then sets the pace.
		stock, err = volumesOperator(cfg, latency, nil)
		if err != nil {
			return "", err
		}
		stockRow = fmt.Sprintf("| %s, kube-controller-manager's own client limit (20/s, burst 30) | | | %.1fs | **%.2f** / **%.2f** | – / – / %.2f | %.2f |\n", latency,
			stock.took.Seconds(), stock.took.Seconds()/ideal.Seconds(), stock.took.Seconds()/sched.Seconds(), float64(cinderPerVolume(stock.cinder))/n, float64(sum(stock.writes))/n)
	}
	if stockRow != "" {
		describe(fmt.Sprintf("Operator, %s a request, kube-controller-manager's own client limit", cfg.cinderLatencies[0]), stock)
	}
	b.WriteString(stockRow)
	b.WriteString(details.String())
	fmt.Fprintf(&b, "\nAim: ratio ≤ 1.3. Reproduce with `make bench` (or `go run ./hack/bench -only volumes -volumes N -cinder-latency 50ms,200ms,500ms -cinder-create-delay 2s`).\n")
	return withMemory(cfg.volumesMemory, volumesMemory, renderVolumesMemory, b.String())
}

// cinderPerVolume counts the requests that scale with the volumes: the
// token and the versions document are asked once.
func cinderPerVolume(counts map[string]int) int {
	n := 0
	for r, c := range counts {
		if r != openstackfake.RouteTokens && r != openstackfake.RouteVersions {
			n += c
		}
	}
	return n
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// volumesFake is a cloud whose volumes are creating for exactly the
// benchmark's delay, every request answered after latency, with one
// project and an application credential for it.
func volumesFake(cfg config, latency time.Duration) (*openstackfake.Server, string, string) {
	fake := openstackfake.Start(openstackfake.WithSettleReads(-1), openstackfake.WithSettleAfter(cfg.cinderCreateDelay))
	p := fake.AddProject("atrium-" + volumesBenchCluster)
	id, secret := fake.AddApplicationCredential(p, "atrium-volumes")
	fake.SetLatency(openstackfake.AnyRoute, latency)
	return fake, id, secret
}

// requestCounts are the fake's requests by route, from its log.
func requestCounts(fake *openstackfake.Server, from int) map[string]int {
	out := map[string]int{}
	for _, e := range fake.Log()[from:] {
		out[e.Route]++
	}
	return out
}

// volumesFloor creates the volumes directly and reads each until it is
// available, at most cfg.cinderInFlight requests at a time (in the
// order they queue, as the operator's work queue hands volumes to its
// workers). With schedule, each volume is read on the operator's polling
// schedule; without, once, at the instant it settles.
func volumesFloor(cfg config, latency time.Duration, schedule bool) (time.Duration, map[string]int, error) {
	ctx := context.Background()
	how := "one GET at the settle instant"
	if schedule {
		how = "GETs on the operator's schedule"
	}
	fmt.Printf("    floor: %d creates, then %s, %d in flight, %s a request\n", cfg.volumes, how, cfg.cinderInFlight, latency)
	fake, id, secret := volumesFake(cfg, latency)
	defer fake.Close()
	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: fake.IdentityURL, ApplicationCredentialID: id, ApplicationCredentialSecret: secret, AllowReauth: true,
	})
	if err != nil {
		return 0, nil, err
	}
	bs, err := openstack.NewBlockStorageV3(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		return 0, nil, err
	}
	var pace *rate.Limiter
	if cfg.cinderQPS > 0 {
		pace = rate.NewLimiter(rate.Limit(cfg.cinderQPS), volumesShipped.cinderBurst)
	}
	slots := make(chan struct{}, cfg.cinderInFlight)
	send := func(f func() error) error {
		slots <- struct{}{}
		defer func() { <-slots }()
		if pace != nil {
			if err := pace.Wait(ctx); err != nil {
				return err
			}
		}
		return f()
	}
	from := len(fake.Log())
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, cfg.volumes)
	for i := range cfg.volumes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var vol *osvolumes.Volume
			err := send(func() (err error) {
				vol, err = osvolumes.Create(ctx, bs, osvolumes.CreateOpts{Size: 1, Name: fmt.Sprintf("floor-%d", i),
					Metadata: map[string]string{storagev1.MetaCluster: volumesBenchCluster, storagev1.MetaUID: strconv.Itoa(i)}}, nil).Extract()
				return err
			})
			answered := time.Now()
			settles := answered.Add(cfg.cinderCreateDelay)
			for polls := 0; err == nil && vol.Status != "available"; polls++ {
				if vol.Status != "creating" {
					err = fmt.Errorf("volume %s is %s", vol.ID, vol.Status)
					break
				}
				wait := time.Until(settles)
				if schedule {
					wait = time.Until(answered.Add(min(volumesShipped.pollMin<<min(polls, 20), volumesShipped.pollMax)))
				} else if polls > 0 {
					wait = 10 * time.Millisecond // never: the first read comes after the settle instant
				}
				time.Sleep(wait)
				id := vol.ID
				err = send(func() (err error) {
					vol, err = osvolumes.Get(ctx, bs, id).Extract()
					return err
				})
				answered = time.Now()
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, nil, fmt.Errorf("floor: %w", err)
	}
	return took, requestCounts(fake, from), nil
}

// volumesRun is what one run of the operator measured.
type volumesRun struct {
	took          time.Duration
	cinder        map[string]int
	writes        map[string]int
	others        map[string]int
	reconciles    int
	reconcileTime time.Duration
	// cpu is the CPU time used during the run, by process.
	cpu          map[string]float64
	writeLatency string
	phases       string
}

// volumesOperator provisions the volumes through the operator, on a
// fresh control plane and a fresh cloud.
func volumesOperator(cfg config, latency time.Duration, kcmArgs []string) (volumesRun, error) {
	ctx := context.Background()
	fmt.Printf("    operator: %d OpenStackVolumes, %s a request, from cold until all are Bound\n", cfg.volumes, latency)
	env, err := testenv.Start(testenv.Options{ControllerManagerArgs: kcmArgs})
	if err != nil {
		return volumesRun{}, err
	}
	defer func() { _ = env.Stop() }()
	fake, id, secret := volumesFake(cfg, latency)
	defer fake.Close()
	opCfg, err := installVolumes(ctx, env)
	if err != nil {
		return volumesRun{}, err
	}
	writes := &apiCounter{next: http.DefaultTransport}
	writes.reset()
	opCfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { writes.next = rt; return writes })
	perNS := (cfg.volumes + cfg.volumeNamespaces - 1) / cfg.volumeNamespaces
	for n := range cfg.volumeNamespaces {
		name := fmt.Sprintf("volumes-%d", n)
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{tenancyv1.ProjectLabel: name}}}); err != nil {
			return volumesRun{}, err
		}
		if err := storageQuota(ctx, env, name, perNS); err != nil {
			return volumesRun{}, err
		}
	}
	dir, err := os.MkdirTemp("", "atrium-bench-volumes-")
	if err != nil {
		return volumesRun{}, err
	}
	defer os.RemoveAll(dir)
	clouds := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(clouds, []byte(fake.CloudsYAML(volumesBenchCloud, id, secret)), 0o600); err != nil {
		return volumesRun{}, err
	}
	tl := newTimeline()
	reconcilesBefore := counterSum("controller_runtime_reconcile_total", "controller", "openstackvolume")
	busyBefore, nBefore := histogramSum("controller_runtime_reconcile_time_seconds", "controller", "openstackvolume")
	stop, err := startVolumesOperator(ctx, env, opCfg, clouds, cfg, tl)
	if err != nil {
		return volumesRun{}, err
	}
	defer stop()
	watchCtx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	allBound, err := tl.watch(watchCtx, env, cfg.volumes)
	if err != nil {
		return volumesRun{}, err
	}
	apiBefore, err := apiServerWrites(ctx, env)
	if err != nil {
		fmt.Printf("    (no API server metrics: %v)\n", err)
	}
	from := len(fake.Log())
	writes.reset()
	cpuBefore := runCPU()
	profiled := make(chan error, 1)
	if apiServerProfile != "" {
		path := apiServerProfile
		apiServerProfile = "" // the first run only
		go func() { profiled <- profileAPIServer(ctx, env, path, 30*time.Second) }()
	} else {
		profiled <- nil
	}
	start := time.Now()
	err = parallel(cfg.volumes, 10, func(i int) error {
		v := &storagev1.OpenStackVolume{
			ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("volumes-%d", i%cfg.volumeNamespaces), Name: fmt.Sprintf("data-%d", i)},
			Spec:       storagev1.OpenStackVolumeSpec{SizeGiB: 1},
		}
		if err := env.Client.Create(ctx, v); err != nil {
			return err
		}
		tl.created(v.UID, time.Now())
		return nil
	})
	if err != nil {
		return volumesRun{}, err
	}
	fmt.Printf("    %d OpenStackVolumes created in %s, waiting for Bound\n", cfg.volumes, time.Since(start).Round(time.Millisecond))
	select {
	case err = <-allBound:
	case <-time.After(10 * time.Minute):
		err = fmt.Errorf("not all %d volumes Bound after 10 minutes", cfg.volumes)
	}
	run := volumesRun{took: time.Since(start), cinder: requestCounts(fake, from), writes: writes.snapshot()}
	for k, v := range runCPU() {
		if d := v - cpuBefore[k]; d > 0 {
			if run.cpu == nil {
				run.cpu = map[string]float64{}
			}
			run.cpu[k] = d
		}
	}
	if err != nil {
		return run, err
	}
	run.reconciles = int(counterSum("controller_runtime_reconcile_total", "controller", "openstackvolume") - reconcilesBefore)
	if apiBefore != nil {
		if after, err := apiServerWrites(ctx, env); err == nil {
			run.others = map[string]int{}
			for k, v := range after {
				if d := v - apiBefore[k] - run.writes[k]; d > 0 {
					run.others[k] = d
				}
			}
		}
	}
	if err := <-profiled; err != nil {
		fmt.Printf("    (no API server profile: %v)\n", err)
	}
	run.phases = tl.report(cfg.cinderCreateDelay)
	run.writeLatency = writes.latencies()
	busy, n := histogramSum("controller_runtime_reconcile_time_seconds", "controller", "openstackvolume")
	run.reconcileTime = time.Duration((busy - busyBefore) / float64(n-nBefore) * float64(time.Second))
	fmt.Printf("    mean reconcile %s; writes: %s\n", run.reconcileTime, run.writeLatency)
	fmt.Printf("    took %s\n%s", run.took.Round(time.Millisecond), run.phases)
	return run, nil
}

// installVolumes puts what config/default ships for the operator (its
// namespace, ServiceAccount, RBAC, admission policies and StorageClass) on
// the cluster, and returns a client configuration as its ServiceAccount,
// limited as main.go limits it.
func installVolumes(ctx context.Context, env *testenv.Env) (*rest.Config, error) {
	manifests, err := shipped.Build(env.Root, "config/default")
	if err != nil {
		return nil, err
	}
	if err := shipped.InstallRBAC(ctx, env, manifests); err != nil {
		return nil, err
	}
	for _, sc := range manifests.Of("StorageClass") {
		if err := env.Client.Create(ctx, sc); err != nil {
			return nil, err
		}
	}
	kubeconfig, err := env.ServiceAccountKubeConfig("atrium-system", "atrium-volumes")
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = manager.DefaultQPS, manager.DefaultBurst
	return cfg, nil
}

// storageQuota is a tier's quota atrium-storage as the projects operator
// applies it, room for n volumes of 1 GiB, once quota admission counts it.
func storageQuota(ctx context.Context, env *testenv.Env, ns string, n int) error {
	prefix := storagev1.StorageClassName + ".storageclass.storage.k8s.io/"
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atrium-storage"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			corev1.ResourceName(prefix + "requests.storage"):       resource.MustParse(fmt.Sprintf("%dGi", n)),
			corev1.ResourceName(prefix + "persistentvolumeclaims"): resource.MustParse(strconv.Itoa(n)),
		}},
	}
	if err := env.Client.Create(ctx, q); err != nil {
		return err
	}
	return testenv.Eventually(ctx, time.Minute, func() error {
		got := &corev1.ResourceQuota{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(q), got); err != nil {
			return err
		}
		if len(got.Status.Hard) == 0 {
			return fmt.Errorf("quota %s/%s not counted yet", ns, q.Name)
		}
		return nil
	})
}

// startVolumesOperator runs the operator in process as main.go wires it,
// with the timeline between it and Cinder.
func startVolumesOperator(ctx context.Context, env *testenv.Env, opCfg *rest.Config, clouds string, cfg config, tl *timeline) (func(), error) {
	cc, err := cinder.LoadCloud(clouds, volumesBenchCloud)
	if err != nil {
		return nil, err
	}
	cc.Timeout, cc.QPS, cc.Burst, cc.InFlight = volumesShipped.cinderTimeout, 1e6, 1e6, cfg.cinderInFlight
	if cfg.cinderQPS > 0 {
		cc.QPS, cc.Burst = cfg.cinderQPS, volumesShipped.cinderBurst
	}
	api := &timedCinder{Cinder: cinder.New(cc), tl: tl}
	cacheOpts, err := controllers.CacheOptions()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(opCfg, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Cache: cacheOpts,
		// One operator per run, several runs in this process.
		Controller: crconfig.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	s := volumesShipped
	r := &controllers.VolumeReconciler{
		Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Cinder: api, Cluster: volumesBenchCluster,
		TopologyKey: "topology.cinder.csi.openstack.org/zone", FSType: "ext4",
		Recorder: mgr.GetEventRecorder("atrium-volumes"), Resync: s.resync,
		PollMin: s.pollMin, PollMax: s.pollMax, MinBackoff: s.minBackoff, MaxBackoff: s.maxBackoff, CreateGrace: s.createGrace,
		AnswerTTL: s.answerTTL,
	}
	if err := r.SetupWithManager(runCtx, mgr, cfg.volumesConcurrency); err != nil {
		cancel()
		return nil, err
	}
	reporter := &controllers.OrphanReporter{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Cinder: api,
		Cluster: volumesBenchCluster, Namespace: "atrium-system", Interval: s.orphanInterval}
	if err := mgr.Add(reporter); err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(runCtx); err != nil {
			fmt.Fprintf(os.Stderr, "volumes operator stopped: %v\n", err)
		}
	}()
	if !mgr.GetCache().WaitForCacheSync(runCtx) {
		cancel()
		return nil, fmt.Errorf("the operator's caches did not sync")
	}
	return func() { cancel(); <-done }, nil
}

// runCPU is the CPU time (user and system) used so far by this
// process (the operator, the OpenStack fake, the watches) and by its
// children (etcd, kube-apiserver, kube-controller-manager), by name.
func runCPU() map[string]float64 {
	out := map[string]float64{"benchmark process (operator, OpenStack fake)": cpuSeconds(os.Getpid())}
	for name, pids := range childProcesses() {
		for _, pid := range pids {
			out[name] += cpuSeconds(pid)
		}
	}
	return out
}

// childProcesses are this process's children (the control planes'
// etcd, kube-apiserver and kube-controller-manager), their pids by name.
func childProcesses() map[string][]int {
	out := map[string][]int{}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", os.Getpid()))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(field)
			if err != nil {
				continue
			}
			comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			if err != nil {
				continue
			}
			name := strings.TrimSpace(string(comm))
			if name == "kube-controller" { // comm keeps 15 characters
				name = "kube-controller-manager"
			}
			out[name] = append(out[name], pid)
		}
	}
	return out
}

// sortedCPU are the keys of m, the busiest first.
func sortedCPU(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		switch {
		case m[a] > m[b]:
			return -1
		case m[a] < m[b]:
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// profileAPIServer writes a CPU profile of the API server over d.
func profileAPIServer(ctx context.Context, env *testenv.Env, path string, d time.Duration) error {
	cs, err := kubernetes.NewForConfig(rest.CopyConfig(env.Config))
	if err != nil {
		return err
	}
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", strconv.Itoa(int(d.Seconds()))).Timeout(d + time.Minute).DoRaw(ctx)
	if err != nil {
		return err
	}
	return os.WriteFile(path, body, 0o644)
}

// apiCounter counts the writes a client sends, by verb and resource,
// and the time they took until the API server's answer.
type apiCounter struct {
	next   http.RoundTripper
	mu     sync.Mutex
	counts map[string]int
	took   map[string]time.Duration
}

func (c *apiCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet {
		return c.next.RoundTrip(req)
	}
	start := time.Now()
	resp, err := c.next.RoundTrip(req)
	key := req.Method + " " + resourceOf(req.URL.Path)
	c.mu.Lock()
	c.counts[key]++
	c.took[key] += time.Since(start)
	c.mu.Unlock()
	return resp, err
}

func (c *apiCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts, c.took = map[string]int{}, map[string]time.Duration{}
}

// latencies renders the mean time of each kind of write.
func (c *apiCounter) latencies() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for _, k := range sortedKeys(c.counts) {
		parts = append(parts, fmt.Sprintf("%s %s", k, fmtDur(c.took[k]/time.Duration(c.counts[k]))))
	}
	return strings.Join(parts, ", ")
}

func (c *apiCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// resourceOf is the resource (and subresource) a request path names:
// /api/v1/namespaces/x/persistentvolumeclaims/y is persistentvolumeclaims,
// …/openstackvolumes/y/status is openstackvolumes/status.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return path
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	switch {
	case len(parts) == 0:
		return "?"
	case len(parts) >= 3:
		return parts[0] + "/" + parts[2]
	}
	return parts[0]
}

var apiRequestLine = regexp.MustCompile(`^apiserver_request_total\{(.*)\} (\S+)$`)

// apiServerWrites are the API server's write requests so far, from every
// client, by verb and resource, as the operator's are counted.
func apiServerWrites(ctx context.Context, env *testenv.Env) (map[string]int, error) {
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		return nil, err
	}
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	verbs := map[string]string{"POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE", "APPLY": "PATCH"}
	out := map[string]int{}
	for _, line := range strings.Split(string(body), "\n") {
		m := apiRequestLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		l := map[string]string{}
		for _, kv := range strings.Split(m[1], ",") {
			k, v, _ := strings.Cut(kv, "=")
			l[k] = strings.Trim(v, `"`)
		}
		verb, ok := verbs[l["verb"]]
		if !ok {
			continue
		}
		res := l["resource"]
		if l["subresource"] != "" {
			res += "/" + l["subresource"]
		}
		n, _ := strconv.ParseFloat(m[2], 64)
		out[verb+" "+res] += int(n)
	}
	return out, nil
}

// counterSum sums a counter of controller-runtime's registry over the
// series whose label has value.
func counterSum(name, label, value string) float64 {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// histogramSum is a histogram's sum and count in controller-runtime's
// registry, over the series whose label has value.
func histogramSum(name, label, value string) (float64, uint64) {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		return 0, 0
	}
	var total float64
	var n uint64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					total += m.GetHistogram().GetSampleSum()
					n += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return total, n
}

// timedCinder stands between the operator and Cinder and notes, per
// volume, when it was created and seen available, and how often it was
// looked up.
type timedCinder struct {
	controllers.Cinder
	tl *timeline
}

func (t *timedCinder) List(ctx context.Context, match map[string]string) ([]*cinder.Volume, error) {
	vols, err := t.Cinder.List(ctx, match)
	if uid := match[storagev1.MetaUID]; uid != "" {
		t.tl.note(types.UID(uid), func(v *volumeTimes) { v.lists++ })
	}
	for _, vol := range vols {
		t.tl.seen(types.UID(vol.Metadata[storagev1.MetaUID]), vol, false)
	}
	return vols, err
}

func (t *timedCinder) Create(ctx context.Context, r cinder.CreateRequest) (*cinder.Volume, error) {
	start := time.Now()
	vol, err := t.Cinder.Create(ctx, r)
	uid := types.UID(r.Metadata[storagev1.MetaUID])
	t.tl.note(uid, func(v *volumeTimes) {
		v.createSent, v.createDone = start, time.Now()
	})
	if vol != nil {
		t.tl.mu.Lock()
		t.tl.byID[vol.ID] = uid
		t.tl.mu.Unlock()
	}
	return vol, err
}

func (t *timedCinder) Get(ctx context.Context, id string) (*cinder.Volume, error) {
	vol, err := t.Cinder.Get(ctx, id)
	t.tl.mu.Lock()
	uid := t.tl.byID[id]
	t.tl.mu.Unlock()
	if vol != nil {
		t.tl.seen(uid, vol, true)
	}
	return vol, err
}

// timeline holds what happened to each volume, and when.
type timeline struct {
	mu   sync.Mutex
	vols map[types.UID]*volumeTimes
	byID map[string]types.UID
}

type volumeTimes struct {
	created, createSent, createDone, available, pv, nudged, bound, ready time.Time
	lists, getsCreating, getsAfter                                       int
}

func newTimeline() *timeline {
	return &timeline{vols: map[types.UID]*volumeTimes{}, byID: map[string]types.UID{}}
}

func (t *timeline) note(uid types.UID, f func(*volumeTimes)) {
	if uid == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	v := t.vols[uid]
	if v == nil {
		v = &volumeTimes{}
		t.vols[uid] = v
	}
	f(v)
}

func (t *timeline) created(uid types.UID, at time.Time) {
	t.note(uid, func(v *volumeTimes) { v.created = at })
}

// seen notes a Cinder answer about a volume.
func (t *timeline) seen(uid types.UID, vol *cinder.Volume, get bool) {
	at := time.Now()
	t.note(uid, func(v *volumeTimes) {
		if vol.Status == "available" && v.available.IsZero() {
			v.available = at
		}
		if !get {
			return
		}
		if vol.Status == "available" {
			v.getsAfter++
		} else {
			v.getsCreating++
		}
	})
}

// watch notes when each PersistentVolume appears, each claim is nudged
// and binds and each OpenStackVolume turns Ready; the channel reports once
// n are Ready.
func (t *timeline) watch(ctx context.Context, env *testenv.Env, n int) (<-chan error, error) {
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		return nil, err
	}
	own := client.HasLabels{storagev1.VolumeUIDLabel}
	go follow(ctx, wc, &corev1.PersistentVolumeList{}, own, func(o client.Object) {
		t.note(types.UID(o.GetLabels()[storagev1.VolumeUIDLabel]), func(v *volumeTimes) {
			if v.pv.IsZero() {
				v.pv = time.Now()
			}
		})
	})
	go follow(ctx, wc, &corev1.PersistentVolumeClaimList{}, own, func(o client.Object) {
		c, ok := o.(*corev1.PersistentVolumeClaim)
		if !ok {
			return
		}
		at := time.Now()
		t.note(types.UID(c.Labels[storagev1.VolumeUIDLabel]), func(v *volumeTimes) {
			if v.nudged.IsZero() && c.Annotations[controllers.BindingAnnotation] != "" {
				v.nudged = at
			}
			if v.bound.IsZero() && c.Status.Phase == corev1.ClaimBound {
				v.bound = at
			}
		})
	})
	done := make(chan error, 1)
	var mu sync.Mutex
	ready := map[types.UID]bool{}
	watchCtx, stop := context.WithCancel(ctx)
	go func() {
		<-watchCtx.Done()
		mu.Lock()
		defer mu.Unlock()
		if len(ready) < n {
			done <- fmt.Errorf("%d of %d volumes Ready: %w", len(ready), n, ctx.Err())
		}
	}()
	go follow(watchCtx, wc, &storagev1.OpenStackVolumeList{}, nil, func(o client.Object) {
		v, ok := o.(*storagev1.OpenStackVolume)
		if !ok {
			return
		}
		c := meta.FindStatusCondition(v.Status.Conditions, storagev1.ConditionReady)
		mu.Lock()
		defer mu.Unlock()
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "Bound" || c.ObservedGeneration != v.Generation || ready[v.UID] || len(ready) >= n {
			return
		}
		ready[v.UID] = true
		t.note(v.UID, func(vt *volumeTimes) { vt.ready = time.Now() })
		if len(ready) == n {
			done <- nil
			stop()
		}
	})
	return done, nil
}

// follow hands every object of the list's kind to f as it is now and at
// each change, until ctx ends: a watch the API server closes (as it does
// with a watcher that falls behind) is opened again after a fresh list.
func follow(ctx context.Context, wc client.WithWatch, list client.ObjectList, sel client.ListOption, f func(client.Object)) {
	var opts []client.ListOption
	if sel != nil {
		opts = append(opts, sel)
	}
	for ctx.Err() == nil {
		l := list.DeepCopyObject().(client.ObjectList)
		if err := wc.List(ctx, l, opts...); err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		_ = meta.EachListItem(l, func(o runtime.Object) error {
			if co, ok := o.(client.Object); ok {
				f(co)
			}
			return nil
		})
		w, err := wc.Watch(ctx, list.DeepCopyObject().(client.ObjectList), append(opts, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: l.GetResourceVersion()}})...)
		if err != nil {
			continue
		}
		for ev := range w.ResultChan() {
			if co, ok := ev.Object.(client.Object); ok && ev.Type != watch.Error {
				f(co)
			}
		}
		w.Stop()
	}
}

// report renders the phases of the volumes' provisioning.
func (t *timeline) report(delay time.Duration) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	type phase struct {
		name string
		d    func(v *volumeTimes) time.Duration
	}
	phases := []phase{
		{"created → create asked (queue, finalizer, claim, the look-up where one is made, the create recorded in status)", func(v *volumeTimes) time.Duration { return v.createSent.Sub(v.created) }},
		{"create asked → answered (waiting for one of the --cinder-in-flight slots, the request)", func(v *volumeTimes) time.Duration { return v.createDone.Sub(v.createSent) }},
		{fmt.Sprintf("answered → seen available (%s of it creating)", delay), func(v *volumeTimes) time.Duration { return v.available.Sub(v.createDone) }},
		{"seen available → PersistentVolume made", func(v *volumeTimes) time.Duration { return v.pv.Sub(v.available) }},
		{"PersistentVolume made → claim nudged (the operator, once it sees the PersistentVolume)", func(v *volumeTimes) time.Duration {
			if v.nudged.IsZero() {
				return 0
			}
			return v.nudged.Sub(v.pv)
		}},
		{"claim nudged → Bound (the binder)", func(v *volumeTimes) time.Duration {
			if v.nudged.IsZero() {
				return v.bound.Sub(v.pv)
			}
			return v.bound.Sub(v.nudged)
		}},
		{"claim Bound → Ready", func(v *volumeTimes) time.Duration { return v.ready.Sub(v.bound) }},
		{"**created → Ready**", func(v *volumeTimes) time.Duration { return v.ready.Sub(v.created) }},
	}
	var b strings.Builder
	b.WriteString("| phase | mean | median | p90 |\n|---|---|---|---|\n")
	var all []*volumeTimes
	for _, v := range t.vols {
		if !v.created.IsZero() && !v.ready.IsZero() {
			all = append(all, v)
		}
	}
	for _, p := range phases {
		var ds []time.Duration
		var total time.Duration
		for _, v := range all {
			d := p.d(v)
			ds = append(ds, d)
			total += d
		}
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", p.name, fmtDur(total/time.Duration(len(ds))), fmtDur(ds[len(ds)/2]), fmtDur(ds[len(ds)*9/10]))
	}
	var creating, after, lists int
	for _, v := range all {
		creating += v.getsCreating
		after += v.getsAfter
		lists += v.lists
	}
	if n := len(all); n > 0 {
		fmt.Fprintf(&b, "\nPer volume: %.2f look-ups (lists), %.2f GETs while creating, %.2f GETs once available.\n", float64(lists)/float64(n), float64(creating)/float64(n), float64(after)/float64(n))
	}
	return b.String()
}
