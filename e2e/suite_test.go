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
	kubecfgs map[string]string
	webhook  *procs.Process
}

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
	defer f.env.Stop()
	// Clients first: the API server waits for open watches when it stops.
	defer f.webhook.Stop(30 * time.Second)
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

func startFleet(tmp string) (*fleet, error) {
	fl := &fleet{binDir: filepath.Join(tmp, "bin"), logDir: filepath.Join(tmp, "logs")}
	for _, d := range []string{fl.binDir, fl.logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	for _, c := range []string{"operators/projects", "webhooks/projects"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(fl.binDir, filepath.Base(filepath.Dir(c))+"-"+filepath.Base(c)), "./"+c)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s: %v\n%s", c, err, out)
		}
	}
	fl.env, err = testenv.Start(testenv.Options{Webhooks: []string{"webhooks/projects"}})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
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
	for _, sa := range []string{"atrium-projects", "atrium-projects-webhook"} {
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
	url := "https://" + host + ":" + strconv.Itoa(port) + "/"
	if err := testenv.Eventually(ctx, time.Minute, func() error { return testenv.ProbeTLS(url) }); err != nil {
		return nil, fmt.Errorf("webhook did not come up: %w", err)
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
