package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crconfig "sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/gitlabfake"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/sources"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/pages/controllers"
	"github.com/atrium-dev/atrium/operators/pages/gitlab"
)

// Sites share GitLab projects ten to one, as a group's sites do; the
// operator and the floor both take each project's owner check and access
// level once.
const sitesPerProject = 10

// benchPages publishes N GitLabPagesSites through the operator against the
// GitLab fake with a fixed latency per request, and compares the time
// until all are Ready with the floor: the fewest GitLab requests that
// publish the same sites (per project: read it, find the owner and their
// role, set the access level; per site: create the domain, verify it),
// sent directly by as many workers as the operator has.
func benchPages(cfg config) (string, error) {
	if cfg.sites == 0 {
		kept, err := keptPart(cfg.out, "pages")
		if err != nil {
			return "", err
		}
		return withMemory(cfg.pagesMemory, pagesMemory, renderPagesMemory, kept)
	}
	projects := (cfg.sites + sitesPerProject - 1) / sitesPerProject
	namespaces := (cfg.sites + 99) / 100
	const resync = 30 * time.Second
	var b strings.Builder
	fmt.Fprintf(&b, "## GitLab Pages: %d sites published from cold\n\n", cfg.sites)
	fmt.Fprintf(&b, "%d GitLabPagesSites in %d GitLab projects (%d namespaces), against the GitLab fake answering every request after a fixed latency, the operator in process with --concurrency %d and its shipped defaults otherwise, except that verification is asked %s after the code is published (the fake's DNS answers at once) and --gitlab-qps is lifted (what is measured is the operator, not its pacing). The first floor sends the fewest GitLab requests that publish the same sites, with as many workers: per GitLab project, read it, read the owner's role (two requests) and set its Pages access level; per site, create the domain and verify it. The second also creates each site's Ingress in a fresh API server right after its domain, as the operator must, and each namespace's Service once.\n\n",
		cfg.sites, projects, namespaces, cfg.pagesConcurrency, pagesBenchVerifyAfter)
	b.WriteString("| GitLab latency | floor: GitLab requests | floor: and the sites' Ingresses and Services | operator, until every site is Ready | ratio to each floor | GitLab requests per site (floor / operator) |\n|---|---|---|---|---|---|\n")
	var resyncLine, requestsLine string
	for i, latency := range cfg.gitlabLatencies {
		floor, floorRequests, err := pagesFloor(cfg, latency, projects, nil)
		if err != nil {
			return "", err
		}
		env, err := testenv.Start(testenv.Options{NoControllerManager: noControllerManager})
		if err != nil {
			return "", err
		}
		objectsFloor, _, err := pagesFloor(cfg, latency, projects, env)
		_ = env.Stop()
		if err != nil {
			return "", err
		}
		took, requests, counts, resyncCounts, err := pagesOperator(cfg, latency, projects, namespaces, resync, i == 0)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "| %s | %.1fs | %.1fs | %.1fs | **%.2f** / **%.2f** | %.2f / %.2f |\n", latency, floor.Seconds(), objectsFloor.Seconds(), took.Seconds(),
			took.Seconds()/floor.Seconds(), took.Seconds()/objectsFloor.Seconds(), float64(floorRequests)/float64(cfg.sites), float64(requests)/float64(cfg.sites))
		if i == 0 {
			total := 0
			for _, n := range resyncCounts {
				total += n
			}
			resyncLine = fmt.Sprintf("A no-op resync (%s, nothing changed) costs %d GitLab requests for %d GitLab projects, %.3f per site (aim: at most one per project, with the instance-wide domain list): %s.", resync, total, projects, float64(total)/float64(cfg.sites), routes(resyncCounts))
			requestsLine = fmt.Sprintf("Requests while publishing (%s): %s.", latency, routes(counts))
		}
	}
	b.WriteString("\nAim: ratio ≤ 1.5. " + resyncLine + " " + requestsLine + "\n")
	return withMemory(cfg.pagesMemory, pagesMemory, renderPagesMemory, b.String())
}

// pagesFloor sends the minimal GitLab requests directly.
// With env, each worker also creates the site's Ingress there (and the
// first site of a namespace its Service: the objects the operator makes),
// right after the domain.
func pagesFloor(cfg config, latency time.Duration, projects int, env *testenv.Env) (time.Duration, int, error) {
	ctx := context.Background()
	what := "the minimal GitLab requests"
	if env != nil {
		what += " and the sites' Services and Ingresses"
		for n := range (cfg.sites + 99) / 100 {
			if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pages-%d", n)}}); err != nil {
				return 0, 0, err
			}
		}
	}
	fmt.Printf("    floor: %s for %d sites in %d projects, %d workers, %s a request\n", what, cfg.sites, projects, cfg.pagesConcurrency, latency)
	fake, token, err := pagesFake(latency, projects, nil)
	if err != nil {
		return 0, 0, err
	}
	defer fake.Close()
	api, err := gitlab.New(gitlab.Config{URL: fake.URL, Token: token, QPS: 1e6, Burst: 1e6, Timeout: time.Minute})
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	err = parallel(projects, cfg.pagesConcurrency, func(i int) error {
		p, err := api.Project(ctx, benchGitLabProject(i))
		if err != nil {
			return err
		}
		if _, err := api.AccessLevel(ctx, p.ID, "owner"); err != nil {
			return err
		}
		_, err = api.SetPagesAccess(ctx, p.ID, "public")
		return err
	})
	if err == nil {
		err = parallel(cfg.sites, cfg.pagesConcurrency, func(i int) error {
			p, _ := fake.Project(benchGitLabProject(i / sitesPerProject))
			if _, err := api.CreateDomain(ctx, p.ID, benchSiteHost(i), gitlab.TLS{Auto: true}); err != nil || env == nil {
				return err
			}
			site := &pagesv1.GitLabPagesSite{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("pages-%d", i/100), Name: fmt.Sprintf("site-%d", i)},
				Spec: pagesv1.GitLabPagesSiteSpec{Hostname: benchSiteHost(i)}}
			for _, obj := range controllers.DesiredObjects(site, controllers.Front{Host: "pages.bench.test", Port: 443}) {
				if _, ok := obj.(*corev1.Service); ok && i%100 != 0 {
					continue // the namespace's, made with its first site
				}
				if err := env.Client.Create(ctx, obj); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err == nil {
		err = parallel(cfg.sites, cfg.pagesConcurrency, func(i int) error {
			p, _ := fake.Project(benchGitLabProject(i / sitesPerProject))
			_, err := api.VerifyDomain(ctx, p.ID, benchSiteHost(i))
			return err
		})
	}
	if err != nil {
		return 0, 0, fmt.Errorf("floor: %w", err)
	}
	return time.Since(start), fake.Total(), nil
}

// pagesOperator publishes the sites through the operator; with
// measureResync it then counts the requests of a no-op resync.
func pagesOperator(cfg config, latency time.Duration, projects, namespaces int, resync time.Duration, measureResync bool) (time.Duration, int, map[string]int, map[string]int, error) {
	ctx := context.Background()
	fmt.Printf("    operator: the same sites as GitLabPagesSites, %s a request, from cold until all are Ready\n", latency)
	env, err := testenv.Start(testenv.Options{NoControllerManager: noControllerManager})
	if err != nil {
		return 0, 0, nil, nil, err
	}
	defer func() { _ = env.Stop() }()
	fake, token, err := pagesFake(latency, projects, env)
	if err != nil {
		return 0, 0, nil, nil, err
	}
	defer fake.Close()
	stop, err := startPagesOperator(env, fake.URL, token, cfg.pagesConcurrency, resync)
	if err != nil {
		return 0, 0, nil, nil, err
	}
	defer stop()
	for n := range namespaces {
		name := fmt.Sprintf("pages-%d", n)
		if err := env.Client.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenancyv1.ProjectSpec{Owner: "owner"}}); err != nil {
			return 0, 0, nil, nil, err
		}
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{tenancyv1.ProjectLabel: name}}}); err != nil {
			return 0, 0, nil, nil, err
		}
	}
	start := time.Now()
	err = parallel(cfg.sites, 10, func(i int) error {
		return env.Client.Create(ctx, &pagesv1.GitLabPagesSite{
			ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("pages-%d", i/100), Name: fmt.Sprintf("site-%d", i)},
			Spec:       pagesv1.GitLabPagesSiteSpec{Project: benchGitLabProject(i / sitesPerProject), Hostname: benchSiteHost(i)},
		})
	})
	if err != nil {
		return 0, 0, nil, nil, err
	}
	if err := waitSitesReady(ctx, env, cfg.sites, 10*time.Minute); err != nil {
		return 0, 0, nil, nil, err
	}
	took := time.Since(start)
	requests, counts := fake.Total(), fake.Counts()
	if !measureResync {
		return took, requests, counts, nil, nil
	}
	fmt.Printf("    no-op resync: counting GitLab requests over %s with nothing changed\n", resync)
	time.Sleep(resync / 2)
	fake.ResetCounts()
	time.Sleep(resync)
	return took, requests, counts, fake.Counts(), nil
}

const pagesBenchVerifyAfter = 200 * time.Millisecond

func benchGitLabProject(i int) string { return fmt.Sprintf("physics/site-%d", i) }

func benchSiteHost(i int) string { return fmt.Sprintf("site-%d.pages.bench.test", i) }

// routes renders request counts by route.
func routes(counts map[string]int) string {
	var parts []string
	for _, r := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%s ×%d", r, counts[r]))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// pagesFake is a GitLab with an admin bot, the owner as Maintainer of the
// group, and the projects; verification records are answered from the
// sites' statuses in env (the DNS operator's part), or, for the floor,
// from the fake's own codes.
func pagesFake(latency time.Duration, projects int, env *testenv.Env) (*gitlabfake.Server, string, error) {
	var mu sync.Mutex
	codes := map[string]string{}
	resolve := func(ctx context.Context, name string) ([]string, error) {
		host := strings.TrimPrefix(strings.TrimSuffix(name, "."), sources.VerificationRecordPrefix)
		if env == nil {
			mu.Lock()
			defer mu.Unlock()
			return []string{"gitlab-pages-verification-code=" + codes[host]}, nil
		}
		var i, ns int
		if _, err := fmt.Sscanf(host, "site-%d.pages.bench.test", &i); err != nil {
			return nil, nil
		}
		ns = i / 100
		s := &pagesv1.GitLabPagesSite{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: fmt.Sprintf("pages-%d", ns), Name: fmt.Sprintf("site-%d", i)}, s); err != nil || s.Status.Verification == nil {
			return nil, nil
		}
		return []string{"gitlab-pages-verification-code=" + s.Status.Verification.Code}, nil
	}
	fake := gitlabfake.Start(gitlabfake.WithResolver(resolve))
	_, token := fake.AddUser("atrium-pages-bot", true)
	fake.AddUser("owner", false)
	if _, err := fake.AddGroup("physics"); err != nil {
		return nil, "", err
	}
	if err := fake.AddGroupMember("physics", "owner", gitlabfake.Maintainer); err != nil {
		return nil, "", err
	}
	for i := range projects {
		if _, err := fake.AddProject("physics", fmt.Sprintf("site-%d", i), gitlabfake.Private); err != nil {
			return nil, "", err
		}
	}
	if env == nil {
		// The floor's verification: the code GitLab gave is what DNS holds.
		fake.SetResolver(func(ctx context.Context, name string) ([]string, error) {
			host := strings.TrimPrefix(strings.TrimSuffix(name, "."), sources.VerificationRecordPrefix)
			if d, ok := fake.Domain(host); ok {
				return []string{"gitlab-pages-verification-code=" + d.VerificationCode}, nil
			}
			return nil, nil
		})
	}
	fake.SetLatency(latency)
	fake.ResetCounts()
	return fake, token, nil
}

// startPagesOperator runs the operator in process as main.go wires it.
func startPagesOperator(env *testenv.Env, url, token string, concurrency int, resync time.Duration) (func(), error) {
	cacheOpts, err := controllers.CacheOptions()
	if err != nil {
		return nil, err
	}
	// The client-side limit main.go sets (internal/manager's default).
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = manager.DefaultQPS, manager.DefaultBurst
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Cache: cacheOpts,
		// One operator per run, several runs in this process.
		Controller: crconfig.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, err
	}
	api, err := gitlab.New(gitlab.Config{URL: url, Token: token, QPS: 1e6, Burst: 1e6, Timeout: time.Minute})
	if err != nil {
		return nil, err
	}
	r := &controllers.SiteReconciler{
		Client: mgr.GetClient(), Secrets: mgr.GetAPIReader(),
		State:  &controllers.State{GitLab: api, Fresh: resync, AccessFresh: time.Hour},
		Front:  controllers.Front{Host: "pages.bench.test", Port: 443},
		Resync: resync, VerifyAfter: pagesBenchVerifyAfter, MinBackoff: time.Second, MaxBackoff: 5 * time.Minute,
	}
	if err := r.SetupWithManager(mgr, concurrency); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = mgr.Start(ctx) }()
	return func() { cancel(); <-done }, nil
}

// waitSitesReady polls until n sites are Ready.
func waitSitesReady(ctx context.Context, env *testenv.Env, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		list := &pagesv1.GitLabPagesSiteList{}
		if err := env.Client.List(ctx, list); err != nil {
			return err
		}
		ready := 0
		for _, s := range list.Items {
			if meta.IsStatusConditionTrue(s.Status.Conditions, pagesv1.ConditionReady) {
				ready++
			}
		}
		if ready >= n {
			return nil
		}

		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d sites Ready after %s", ready, n, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
