// Command devfleet is `make run`: it starts a local control plane from bin/
// (etcd and kube-apiserver) with Atrium's CRDs, RBAC and webhooks installed,
// runs every component as its own process against it, applies the examples,
// prints where to look, and stays up until Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/bind"
	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// exampleUser creates the example Projects, so that admission makes them
// owner as it would for a real user.
const exampleUser = "alice"

func main() {
	stateDir := flag.String("state-dir", ".devfleet", "Where kubeconfigs and component logs go.")
	flag.Parse()
	if err := run(*stateDir); err != nil {
		fmt.Fprintln(os.Stderr, "devfleet:", err)
		os.Exit(1)
	}
}

func run(stateDir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	state := filepath.Join(root, stateDir)
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}

	step("starting the hub (etcd, kube-apiserver)")
	hub, err := testenv.Start(testenv.Options{})
	if err != nil {
		return err
	}
	defer stopEnv("hub", hub)
	hubKubeconfig, err := writeFile(state, "hub.kubeconfig", hub.KubeConfig())
	if err != nil {
		return err
	}
	// The members' hostnames webhooks reach the hub as its ServiceAccount.
	if err := hub.InstallRBAC(ctx, "config/default"); err != nil {
		return err
	}
	b, err := hub.ServiceAccountKubeConfig("atrium-system", "atrium-hostnames")
	if err != nil {
		return err
	}
	hubForMembers, err := writeFile(state, "hub-for-members.kubeconfig", b)
	if err != nil {
		return err
	}

	// The DNS operators reach the hub as their own ServiceAccount there.
	b, err = hub.ServiceAccountKubeConfig("atrium-system", "atrium-dns")
	if err != nil {
		return err
	}
	dnsHub, err := writeFile(state, "hub-for-dns.kubeconfig", b)
	if err != nil {
		return err
	}
	dnsArgs, dnsHint, stopDNS, err := startDNS(ctx, state)
	if err != nil {
		return err
	}
	defer stopDNS()

	var firstMember *testenv.Env
	var kubeconfigs []string
	for i, name := range []string{"member-1", "member-2"} {
		step("starting " + name)
		// No ingress controller runs here: each member's ingress front is a
		// documentation address, published for hostnames whose objects'
		// status names none.
		memberDNS := append(slices.Clone(dnsArgs), "--hub-kubeconfig="+dnsHub, fmt.Sprintf("--default-targets=192.0.2.%d", i+1))
		env, procsOf, err := startMember(ctx, cancel, root, state, name, hubForMembers, memberDNS, 8080+10*i)
		// Whatever started is stopped, also when the rest failed.
		if env != nil {
			defer stopEnv(name, env)
		}
		for _, p := range procsOf {
			defer p.Stop(30 * time.Second)
		}
		if err != nil {
			return err
		}
		if firstMember == nil {
			firstMember = env
		}
		kubeconfigs = append(kubeconfigs, filepath.Join(state, name+".kubeconfig"))
	}

	step("applying docs/examples to member-1")
	if err := applyExamples(ctx, firstMember, filepath.Join(root, "docs", "examples")); err != nil {
		return err
	}

	fmt.Printf(`
Atrium is running: a hub and two members. Ctrl-C stops it.

  kubeconfigs (cluster admin):  hub     %[1]s
                                member-1 %[2]s
                                member-2 %[3]s
  kubectl:                      %[4]s/bin/kubectl
  component logs:               %[5]s/*.log

  Look around member-1:
    export KUBECONFIG=%[2]s
    kubectl get projecttiers
    kubectl get projects -o wide
    kubectl describe project my-website
    kubectl get all,ingress,rolebindings,resourcequota,limitrange,networkpolicy -n my-website

  Act as a casual user (impersonation, the way a login would look):
    kubectl --as=carol --as-group=system:authenticated create -f - <<EOF
    apiVersion: tenancy.atrium.dev/v1alpha1
    kind: Project
    metadata: {name: carols-lab}
    EOF
    kubectl --as=carol --as-group=system:authenticated get project carols-lab
    kubectl --as=carol --as-group=system:authenticated -n carols-lab create configmap hello
    kubectl --as=dave --as-group=system:authenticated -n carols-lab get configmaps   # refused

  DNS: every admitted hostname is published in the fleet's zone by its cluster:
%[6]s
    kubectl --kubeconfig %[1]s get hostnameclaims      # the DNS column

  Hostnames belong to one tenant across the fleet:
    kubectl --kubeconfig %[1]s get hostnameclaims
    kubectl --kubeconfig %[3]s create namespace copycat
    kubectl --kubeconfig %[3]s -n copycat create ingress copy --rule="www.my-website.web.atrium.test/=svc:80"   # refused: member-1 holds it

`, hubKubeconfig, kubeconfigs[0], kubeconfigs[1], root, state, dnsHint)
	<-ctx.Done()
	return nil
}

// startMember starts one member cluster with its components running as
// their ServiceAccounts. Ports for metrics and probes start at basePort.
func startMember(ctx context.Context, fail func(), root, state, name, hubKubeconfig string, dnsArgs []string, basePort int) (*testenv.Env, []*procs.Process, error) {
	env, err := testenv.Start(testenv.Options{
		Webhooks: []string{"webhooks/projects", "webhooks/hostnames"},
		// Stand-ins for the Route, HTTPRoute and DNSEndpoint APIs, so they
		// can be tried locally.
		ExtraCRDs: []string{testenv.StandInCRDs, "config/crd/policy"},
	})
	if err != nil {
		return nil, nil, err
	}
	if _, err := writeFile(state, name+".kubeconfig", env.KubeConfig()); err != nil {
		return env, nil, err
	}
	if err := env.InstallRBAC(ctx, "config/default"); err != nil {
		return env, nil, err
	}
	sa := func(account string) (string, error) {
		b, err := env.ServiceAccountKubeConfig("atrium-system", account)
		if err != nil {
			return "", err
		}
		return writeFile(state, name+"-"+account+".kubeconfig", b)
	}
	operatorCfg, err := sa("atrium-projects")
	if err != nil {
		return env, nil, err
	}
	projectsCfg, err := sa("atrium-projects-webhook")
	if err != nil {
		return env, nil, err
	}
	hostnamesCfg, err := sa("atrium-hostnames")
	if err != nil {
		return env, nil, err
	}
	dnsCfg, err := sa("atrium-dns")
	if err != nil {
		return env, nil, err
	}
	host, projectsPort, certDir := env.WebhookServing()
	hostnamesPort := env.WebhookPort("webhooks/hostnames")
	addr := func(off int) string { return "127.0.0.1:" + strconv.Itoa(basePort+off) }
	comps := []struct {
		name, bin string
		args      []string
	}{
		{name: name + "-projects-operator", bin: "atrium-operators-projects", args: []string{
			"--kubeconfig=" + operatorCfg, "--leader-elect=false",
			"--metrics-bind-address=" + addr(0), "--health-probe-bind-address=" + addr(1)}},
		{name: name + "-projects-webhook", bin: "atrium-webhooks-projects", args: []string{
			"--kubeconfig=" + projectsCfg, "--cert-dir=" + certDir, "--webhook-port=" + strconv.Itoa(projectsPort),
			"--metrics-bind-address=" + addr(2), "--health-probe-bind-address=" + addr(3)}},
		{name: name + "-hostnames-webhook", bin: "atrium-webhooks-hostnames", args: []string{
			"--kubeconfig=" + hostnamesCfg, "--hub-kubeconfig=" + hubKubeconfig, "--cluster-name=" + name,
			"--leader-elect=false", "--cert-dir=" + certDir, "--webhook-port=" + strconv.Itoa(hostnamesPort),
			"--metrics-bind-address=" + addr(4), "--health-probe-bind-address=" + addr(5)}},
		{name: name + "-dns-operator", bin: "atrium-operators-dns", args: append([]string{
			"--kubeconfig=" + dnsCfg, "--cluster-name=" + name, "--leader-elect=false",
			"--metrics-bind-address=" + addr(6), "--health-probe-bind-address=" + addr(7)}, dnsArgs...)},
	}
	var running []*procs.Process
	for _, c := range comps {
		// A component that exits before Ctrl-C stops the fleet, so a broken
		// build is noticed rather than half-running.
		p, err := procs.Start(c.name, filepath.Join(root, "bin", c.bin), c.args, state, func(p *procs.Process, err error) {
			fmt.Fprintf(os.Stderr, "%s exited: %v; last lines of %s:\n%s\n", p.Name, err, p.LogPath, p.Tail(20))
			fail()
		})
		if err != nil {
			return env, running, err
		}
		running = append(running, p)
		fmt.Printf("    %s (pid %d), log %s\n", c.name, p.Pid(), p.LogPath)
	}
	for _, port := range []int{projectsPort, hostnamesPort} {
		url := "https://" + host + ":" + strconv.Itoa(port) + "/"
		if err := testenv.Eventually(ctx, time.Minute, func() error { return testenv.ProbeTLS(url) }); err != nil {
			return env, running, fmt.Errorf("%s: webhook on port %d did not come up: %w", name, port, err)
		}
	}
	return env, running, nil
}

// dnsZones are the zones the example tiers allow hostnames in.
var dnsZones = []string{"web.atrium.test", "apps.atrium.test"}

// startDNS starts BIND9 for the fleet's zones when it is installed and
// returns the DNS operators' provider flags, what to print about it, and
// how to stop it. Without BIND the operators keep records in memory.
func startDNS(ctx context.Context, state string) ([]string, string, func(), error) {
	zones := "--zone=" + strings.Join(dnsZones, ",")
	if !bind.Installed() {
		return []string{"--provider=inmemory", zones},
			"    (named is not installed, so records live in the DNS operators' memory; `make tools` installs BIND9)", func() {}, nil
	}
	step("starting BIND9 for " + strings.Join(dnsZones, ", "))
	srv, err := bind.Start(ctx, bind.Options{Zones: dnsZones, Dir: filepath.Join(state, "bind")})
	if err != nil {
		return nil, "", nil, err
	}
	secret, err := writeFile(state, "dns-tsig-secret", []byte(srv.KeySecret))
	if err != nil {
		_ = srv.Close()
		return nil, "", nil, err
	}
	args := []string{"--provider=rfc2136", zones, "--server=" + srv.Addr, "--tsig-key-name=" + srv.KeyName, "--tsig-secret-file=" + secret}
	hint := fmt.Sprintf("    dig @127.0.0.1 -p %[1]d www.my-website.web.atrium.test          # the example Ingress\n"+
		"    dig @127.0.0.1 -p %[1]d blog.my-website.web.atrium.test CNAME   # the example DNSEndpoint\n"+
		"    dig @127.0.0.1 -p %[1]d a-www.my-website.web.atrium.test TXT    # who owns the record", srv.Port)
	return args, hint, func() { step("stopping BIND9"); _ = srv.Close() }, nil
}

func writeFile(dir, name string, b []byte) (string, error) {
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, b, 0o600)
}

func stopEnv(name string, env *testenv.Env) {
	step("stopping " + name)
	_ = env.Stop()
}

func step(msg string) { fmt.Printf("==> %s\n", msg) }

// applyExamples creates every example: tiers and other cluster-scoped
// objects as the admin, then Projects and the objects inside them as
// exampleUser, the way a casual user would.
func applyExamples(ctx context.Context, env *testenv.Env, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	user, err := env.ClientAs(exampleUser)
	if err != nil {
		return err
	}
	var projects, namespaced []*unstructured.Unstructured
	for _, f := range files {
		objs, err := testenv.ReadObjects(f)
		if err != nil {
			return err
		}
		for _, u := range objs {
			switch {
			case u.GetKind() == "Project":
				projects = append(projects, u)
			case u.GetNamespace() != "":
				namespaced = append(namespaced, u)
			default:
				if err := env.Client.Create(ctx, u); err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				fmt.Printf("    %s %s created\n", strings.ToLower(u.GetKind()), u.GetName())
			}
		}
	}
	for _, u := range append(projects, namespaced...) {
		// Retried while caches catch up: the webhook's with the tiers just
		// created, the Project's namespace and RBAC with the operator.
		if err := createWithRetry(ctx, user, u); err != nil {
			return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		fmt.Printf("    %s %s created as %s\n", strings.ToLower(u.GetKind()), u.GetName(), exampleUser)
	}
	return nil
}

// createWithRetry retries while the webhook's cache catches up with the
// tiers just created.
func createWithRetry(ctx context.Context, c client.Client, u *unstructured.Unstructured) error {
	return testenv.Eventually(ctx, 30*time.Second, func() error {
		return c.Create(ctx, u.DeepCopy())
	})
}
