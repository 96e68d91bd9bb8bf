package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/atrium-dev/atrium/internal/bind"
	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// fleet is what the suite runs: one control plane and the component
// binaries built from this checkout.
type fleet struct {
	env    *testenv.Env
	binDir string
	logDir string
	// kubecfgs are per ServiceAccount.
	kubecfgs  map[string]string
	webhook   *procs.Process
	hostnames *procs.Process
	dnsOp     *procs.Process
	hub       *testenv.Env
	// dns is the fleet's name server, primary for dnsZone.
	dns *bind.Server
}

// dnsZone is the zone the member's DNS operator publishes in: the domain
// the example tiers allow.
const dnsZone = "web.atrium.test"

var f *fleet

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "atrium-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	f, err = startFleet(tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.stop()
	code := m.Run()
	if code != 0 {
		// Keep the component logs where a person can read them.
		keep := filepath.Join(os.TempDir(), "atrium-e2e-logs")
		_ = os.RemoveAll(keep)
		_ = os.Rename(f.logDir, keep)
		fmt.Fprintln(os.Stderr, "component logs kept in", keep)
	}
	return code
}

// stop stops whatever of the fleet runs: clients first, since an API server
// waits for open watches when it stops.
func (fl *fleet) stop() {
	for _, p := range []*procs.Process{fl.dnsOp, fl.hostnames, fl.webhook} {
		if p != nil {
			p.Stop(30 * time.Second)
		}
	}
	for _, e := range []*testenv.Env{fl.env, fl.hub} {
		if e != nil {
			_ = e.Stop()
		}
	}
	if fl.dns != nil {
		_ = fl.dns.Close()
	}
}

func startFleet(tmp string) (_ *fleet, err error) {
	fl := &fleet{binDir: filepath.Join(tmp, "bin"), logDir: filepath.Join(tmp, "logs")}
	defer func() {
		if err != nil {
			fl.stop()
		}
	}()
	for _, d := range []string{fl.binDir, fl.logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	for _, c := range []string{"operators/projects", "operators/dns", "webhooks/projects", "webhooks/hostnames"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(fl.binDir, filepath.Base(filepath.Dir(c))+"-"+filepath.Base(c)), "./"+c)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s: %v\n%s", c, err, out)
		}
	}
	ctx := context.Background()
	// The hub, which the member's hostnames webhook reaches as its
	// ServiceAccount there.
	if fl.hub, err = testenv.Start(testenv.Options{}); err != nil {
		return nil, err
	}
	if err := fl.hub.InstallRBAC(ctx, "config/default"); err != nil {
		return nil, err
	}
	hubCfg, err := fl.hub.ServiceAccountKubeConfig("atrium-system", "atrium-hostnames")
	if err != nil {
		return nil, err
	}
	hubKubeconfig := filepath.Join(tmp, "hub.kubeconfig")
	if err := os.WriteFile(hubKubeconfig, hubCfg, 0o600); err != nil {
		return nil, err
	}
	// The DNS operator reaches the hub as its own ServiceAccount there.
	dnsHubCfg, err := fl.hub.ServiceAccountKubeConfig("atrium-system", "atrium-dns")
	if err != nil {
		return nil, err
	}
	dnsHubKubeconfig := filepath.Join(tmp, "dns-hub.kubeconfig")
	if err := os.WriteFile(dnsHubKubeconfig, dnsHubCfg, 0o600); err != nil {
		return nil, err
	}
	if fl.dns, err = bind.Start(ctx, bind.Options{Zones: []string{dnsZone}, Dir: filepath.Join(tmp, "bind")}); err != nil {
		return nil, err
	}
	tsig := filepath.Join(tmp, "tsig-secret")
	if err := os.WriteFile(tsig, []byte(fl.dns.KeySecret), 0o600); err != nil {
		return nil, err
	}
	fl.env, err = testenv.Start(testenv.Options{
		Webhooks:  []string{"webhooks/projects", "webhooks/hostnames"},
		ExtraCRDs: []string{testenv.StandInCRDs, "config/crd/policy"},
	})
	if err != nil {
		return nil, err
	}
	// The components run as their ServiceAccounts with the RBAC they ship
	// with, so a missing permission marker fails here as it would in a
	// cluster.
	if err := fl.env.InstallRBAC(ctx, "config/default"); err != nil {
		return nil, err
	}
	if err := fl.env.CreateFromFiles(ctx, "docs/examples/projecttier-standard.yaml", "docs/examples/projecttier-large.yaml"); err != nil {
		return nil, err
	}
	fl.kubecfgs = map[string]string{}
	for _, sa := range []string{"atrium-projects", "atrium-projects-webhook", "atrium-hostnames", "atrium-dns"} {
		b, err := fl.env.ServiceAccountKubeConfig("atrium-system", sa)
		if err != nil {
			return nil, err
		}
		fl.kubecfgs[sa] = filepath.Join(tmp, sa+".kubeconfig")
		if err := os.WriteFile(fl.kubecfgs[sa], b, 0o600); err != nil {
			return nil, err
		}
	}
	host, port, certDir := fl.env.WebhookServing()
	if fl.webhook, err = fl.start("projects-webhook", "webhooks-projects", "atrium-projects-webhook",
		"--cert-dir="+certDir, "--webhook-port="+strconv.Itoa(port), "--health-probe-bind-address=0", "--metrics-bind-address=0"); err != nil {
		return nil, err
	}
	hostnamesPort := fl.env.WebhookPort("webhooks/hostnames")
	if fl.hostnames, err = fl.start("hostnames-webhook", "webhooks-hostnames", "atrium-hostnames",
		"--cluster-name=member-e2e", "--hub-kubeconfig="+hubKubeconfig, "--grace-period=2s", "--leader-elect=false",
		"--cert-dir="+certDir, "--webhook-port="+strconv.Itoa(hostnamesPort), "--health-probe-bind-address=0", "--metrics-bind-address=0"); err != nil {
		return nil, err
	}
	if fl.dnsOp, err = fl.start("dns-operator", "operators-dns", "atrium-dns",
		"--cluster-name=member-e2e", "--hub-kubeconfig="+dnsHubKubeconfig, "--leader-elect=false",
		"--provider=rfc2136", "--zone="+dnsZone, "--server="+fl.dns.Addr, "--tsig-key-name="+fl.dns.KeyName,
		"--tsig-secret-file="+tsig, "--default-targets=192.0.2.80", "--batch=200ms", "--zap-log-level=debug",
		"--health-probe-bind-address=0", "--metrics-bind-address=0"); err != nil {
		return nil, err
	}
	for _, p := range []int{port, hostnamesPort} {
		url := "https://" + host + ":" + strconv.Itoa(p) + "/"
		if err := testenv.Eventually(ctx, time.Minute, func() error { return testenv.ProbeTLS(url) }); err != nil {
			return nil, fmt.Errorf("webhook on port %d did not come up: %w", p, err)
		}
	}
	return fl, nil
}

// start runs one of the built binaries against the control plane.
func (fl *fleet) start(name, bin, serviceAccount string, args ...string) (*procs.Process, error) {
	args = append([]string{"--kubeconfig=" + fl.kubecfgs[serviceAccount]}, args...)
	return procs.Start(name, filepath.Join(fl.binDir, bin), args, fl.logDir, func(p *procs.Process, err error) {
		fmt.Fprintf(os.Stderr, "%s exited unexpectedly: %v\n%s\n", p.Name, err, p.Tail(30))
	})
}

// startOperator runs one replica of the projects operator with leader
// election, as a Deployment with several replicas would.
func (fl *fleet) startOperator(t *testing.T, replica string) *procs.Process {
	t.Helper()
	p, err := fl.start("projects-operator-"+replica, "operators-projects", "atrium-projects",
		"--leader-elect=true", "--leader-election-namespace=atrium-system",
		// Short leases so a killed leader is replaced within seconds.
		"--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms",
		"--health-probe-bind-address=0", "--metrics-bind-address=0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(30 * time.Second) })
	return p
}
