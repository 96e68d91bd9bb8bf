package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/gitlabfake"
)

const (
	// pagesMemoryKustomization is the member of the memory part: the
	// member overlay with the pages operator as its only Deployment.
	pagesMemoryKustomization = "hack/bench/testdata/pages-member"
	// pagesMemorySitesPerProject and pagesMemorySitesPerNamespace spread
	// the sites: a hundred GitLab projects and a hundred namespaces at
	// 10,000 sites.
	pagesMemorySitesPerProject   = 100
	pagesMemorySitesPerNamespace = 100
	// pagesMetricsPort is the operator's metrics port in its Deployment.
	pagesMetricsPort = 8088
	// pagesPprofPort is the pprof port of the -memory-profiles member.
	pagesPprofPort  = 8092
	pagesController = "gitlabpagessite"
	pagesLease      = "atrium-pages.atrium.dev"
)

// pagesMemory measures the pages operator's replicas, started from the
// shipped Deployment, with n GitLabPagesSites in the cluster: GitLab
// already holds every site's domain, verified, with automatic
// certificates and the projects' Pages access set (seeded through the
// fake's own seeding functions), so that the operator finds each site's
// GitLab side in place and only checks it; it still reads GitLab for
// every site (the instance's domain list, each GitLab project and its
// owner's role), writes each site's finalizer, Ingress (and each
// namespace's Service) and status, as for any new site.
func pagesMemory(n int) (footprint, error) {
	ctx := context.Background()
	f := footprint{n: n}
	projects := (n + pagesMemorySitesPerProject - 1) / pagesMemorySitesPerProject
	namespaces := (n + pagesMemorySitesPerNamespace - 1) / pagesMemorySitesPerNamespace
	fmt.Printf("    memory: %s sites in %d GitLab projects and %d namespaces, the operator as shipped\n", thousands(n), projects, namespaces)
	fake := gitlabfake.Start()
	defer fake.Close()
	_, token := fake.AddUser("atrium-pages-bot", true)
	fake.AddUser("owner", false)
	if _, err := fake.AddGroup("physics"); err != nil {
		return f, err
	}
	if err := fake.AddGroupMember("physics", "owner", gitlabfake.Maintainer); err != nil {
		return f, err
	}
	for p := range projects {
		if _, err := fake.AddProject("physics", fmt.Sprintf("site-%d", p), gitlabfake.Private); err != nil {
			return f, err
		}
		if err := fake.SetPagesAccessLevel(benchGitLabProject(p), "public"); err != nil {
			return f, err
		}
	}
	for i := range n {
		if _, err := fake.AddDomain(benchGitLabProject(i/pagesMemorySitesPerProject), benchSiteHost(i)); err != nil {
			return f, err
		}
		if err := fake.SetDomain(benchSiteHost(i), true, true, ""); err != nil {
			return f, err
		}
	}
	fake.ResetCounts()

	fl, stop, err := operatorFleet(ctx, memberKustomization(pagesMemoryKustomization), fleet.MemberOptions{
		Name: benchCluster,
		ConfigMaps: map[string]map[string]string{"atrium-pages": {
			"gitlab-url": fake.URL, "pages-front": "pages.bench.test",
		}},
		Secrets: map[string]map[string][]byte{"atrium-pages-credentials": {"token": []byte(token)}},
	}, nil)
	if err != nil {
		return f, err
	}
	defer stop()
	member := fl.Members[0]
	c := member.Env.Client
	dep := member.Deployment(components.Pages)
	if dep == nil {
		return f, fmt.Errorf("no Deployment %s in %s", components.Pages.Deployment, pagesMemoryKustomization)
	}
	for ns := range namespaces {
		name := fmt.Sprintf("pages-%d", ns)
		if err := c.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenancyv1.ProjectSpec{Owner: "owner"}}); err != nil {
			return f, err
		}
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{tenancyv1.ProjectLabel: name}}}); err != nil {
			return f, err
		}
	}
	start := time.Now()
	if err := parallel(n, 10, func(i int) error {
		return c.Create(ctx, &pagesv1.GitLabPagesSite{
			ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("pages-%d", i/pagesMemorySitesPerNamespace), Name: fmt.Sprintf("site-%d", i)},
			Spec:       pagesv1.GitLabPagesSiteSpec{Project: benchGitLabProject(i / pagesMemorySitesPerProject), Hostname: benchSiteHost(i)},
		})
	}); err != nil {
		return f, err
	}
	f.fill = time.Since(start)
	fmt.Printf("      %s sites created in %s, waiting for Ready\n", thousands(n), f.fill.Round(time.Second))
	if err := waitAllReady(ctx, c, &pagesv1.GitLabPagesSiteList{}, n, 30*time.Minute); err != nil {
		return f, err
	}
	f.settle = time.Since(start) - f.fill
	if _, err := waitChecked(ctx, dep, pagesMetricsPort, pagesController, pagesLease, n, 5*time.Second, 5*time.Minute); err != nil {
		return f, err
	}
	f.serving, f.servingCPU = leaderFirst(ctx, dep, pagesMetricsPort, pagesController, pagesLease)
	if err := heapProfile(ctx, dep, pagesMetricsPort, pagesPprofPort, pagesController, pagesLease, "pages-serving"); err != nil {
		return f, err
	}
	fmt.Printf("      every site Ready %s later; serving: peak resident memory %s\n", f.settle.Round(time.Second), fmtReplicas(f.serving))

	fake.ResetCounts()
	if f.cold, f.reconciles, err = restartDeployment(ctx, dep, pagesMetricsPort, pagesController, pagesLease, n, 15*time.Minute); err != nil {
		return f, fmt.Errorf("cold start: %w", err)
	}
	f.coldRSS, f.coldCPU = leaderFirst(ctx, dep, pagesMetricsPort, pagesController, pagesLease)
	if err := heapProfile(ctx, dep, pagesMetricsPort, pagesPprofPort, pagesController, pagesLease, "pages-cold"); err != nil {
		return f, err
	}
	f.external = fake.Counts()
	fmt.Printf("      cold start: every site checked %s after the kill (%.0f reconciles; GitLab: %s); peak resident memory %s\n",
		f.cold.Round(time.Second), f.reconciles, routes(f.external), fmtReplicas(f.coldRSS))
	// Still every site Ready: the check changed nothing.
	return f, waitAllReady(ctx, c, &pagesv1.GitLabPagesSiteList{}, n, time.Minute)
}

// waitAllReady polls until n objects of the list's kind are Ready.
func waitAllReady(ctx context.Context, c client.Client, list client.ObjectList, n int, limit time.Duration) error {
	return waitCounted(ctx, c, list, n, limit, "Ready", func(o any) bool {
		return meta.IsStatusConditionTrue(conditionsOf(o), "Ready")
	})
}

// waitCounted polls until n objects of the list's kind are as ok says
// (what names it, for the error).
func waitCounted(ctx context.Context, c client.Client, list client.ObjectList, n int, limit time.Duration, what string, ok func(any) bool) error {
	deadline := time.Now().Add(limit)
	for {
		if err := c.List(ctx, list); err != nil {
			return err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		done := 0
		for _, o := range items {
			if ok(o) {
				done++
			}
		}
		if done >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d %s after %s", done, n, what, limit)
		}
		time.Sleep(3 * time.Second)
	}
}

// conditionsOf are an Atrium object's status conditions.
func conditionsOf(o any) []metav1.Condition {
	switch v := o.(type) {
	case *pagesv1.GitLabPagesSite:
		return v.Status.Conditions
	}
	return conditionsOfVolume(o)
}

// renderPagesMemory writes the memory part of the pages report.
func renderPagesMemory(b *strings.Builder, f footprint) {
	fmt.Fprintf(b, "\n### Memory: %s sites, the operator as shipped\n\n", thousands(f.n))
	fmt.Fprintf(b, "The operator's binary runs as its shipped Deployment's %d replicas (leader election on), with the Deployment's arguments, RBAC and admission policies (`%s`: the member overlay with the pages operator as its only Deployment, its --gitlab-qps lifted), against the GitLab fake with no added latency. "+
		"%s GitLabPagesSites in %d namespaces, %d to a GitLab project; GitLab already holds every site's domain, verified, with an automatic certificate, so the operator only checks GitLab but makes each site's Ingress (and each namespace's Service) and writes its status, as for a new site. "+
		"Peak resident memory (VmHWM) of each replica, the leader's first: *serving*, after the sites were created and every one was Ready; *cold start*, after both replicas were killed at once and started afresh, once the new leader had checked every site again.\n\n",
		len(f.serving), pagesMemoryKustomization, thousands(f.n), (f.n+pagesMemorySitesPerNamespace-1)/pagesMemorySitesPerNamespace, pagesMemorySitesPerProject)
	footprintRow(b, "sites", f)
	fmt.Fprintf(b, "Creating the sites took %s, every one Ready %s later. The cold start: every site checked %s after the kill (%.0f reconciles by the new leader, the lease taken over once the killed leader's had expired; GitLab: %s). The leader's CPU time: %.0f s serving, %.0f s over the cold start.\n",
		f.fill.Round(time.Second), f.settle.Round(time.Second), f.cold.Round(time.Second), f.reconciles, routes(f.external), f.servingCPU, f.coldCPU)
}
