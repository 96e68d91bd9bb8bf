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
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

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

	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	state := filepath.Join(root, stateDir)
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}

	step("starting the control plane (etcd, kube-apiserver)")
	env, err := testenv.Start(testenv.Options{Webhooks: []string{"webhooks/projects"}})
	if err != nil {
		return err
	}
	defer func() {
		step("stopping the control plane")
		_ = env.Stop()
	}()
	kubeconfig := filepath.Join(state, "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig(), 0o600); err != nil {
		return err
	}
	// Components run as their ServiceAccounts, with the RBAC they ship with.
	if err := env.InstallRBAC(ctx, "config/default"); err != nil {
		return err
	}
	saKubeconfig := func(sa string) (string, error) {
		b, err := env.ServiceAccountKubeConfig("atrium-system", sa)
		if err != nil {
			return "", err
		}
		path := filepath.Join(state, sa+".kubeconfig")
		return path, os.WriteFile(path, b, 0o600)
	}
	operatorCfg, err := saKubeconfig("atrium-projects")
	if err != nil {
		return err
	}
	webhookCfg, err := saKubeconfig("atrium-projects-webhook")
	if err != nil {
		return err
	}

	step("starting the components")
	host, port, certDir := env.WebhookServing()
	comps := []struct {
		name, bin string
		args      []string
	}{
		{name: "projects-operator", bin: "atrium-operators-projects", args: []string{
			"--kubeconfig=" + operatorCfg, "--leader-elect=false",
			"--metrics-bind-address=127.0.0.1:8080", "--health-probe-bind-address=127.0.0.1:8081"}},
		{name: "projects-webhook", bin: "atrium-webhooks-projects", args: []string{
			"--kubeconfig=" + webhookCfg, "--cert-dir=" + certDir, "--webhook-port=" + strconv.Itoa(port),
			"--metrics-bind-address=127.0.0.1:8082", "--health-probe-bind-address=127.0.0.1:8083"}},
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, c := range comps {
		// A component that exits before Ctrl-C stops the fleet, so a broken
		// build is noticed rather than half-running.
		p, err := procs.Start(c.name, filepath.Join(root, "bin", c.bin), c.args, state, func(p *procs.Process, err error) {
			fmt.Fprintf(os.Stderr, "%s exited: %v; last lines of %s:\n%s\n", p.Name, err, p.LogPath, p.Tail(20))
			cancel()
		})
		if err != nil {
			return err
		}
		defer p.Stop(30 * time.Second)
		fmt.Printf("    %s (pid %d), log %s\n", c.name, p.Pid(), p.LogPath)
	}
	webhookURL := "https://" + host + ":" + strconv.Itoa(port) + "/"
	if err := testenv.Eventually(ctx, time.Minute, func() error { return testenv.ProbeTLS(webhookURL) }); err != nil {
		return fmt.Errorf("projects webhook did not come up: %w", err)
	}

	step("applying docs/examples")
	if err := applyExamples(ctx, env, filepath.Join(root, "docs", "examples")); err != nil {
		return err
	}

	fmt.Printf(`
Atrium is running. Ctrl-C stops it.

  kubeconfig (cluster admin):   export KUBECONFIG=%[1]s
  kubectl:                      %[2]s/bin/kubectl
  component logs:               %[3]s/*.log

  Look around:
    kubectl get projecttiers
    kubectl get projects -o wide
    kubectl describe project my-website
    kubectl get all,rolebindings,resourcequota,limitrange,networkpolicy -n my-website

  Act as a casual user (impersonation, the way a login would look):
    kubectl --as=carol --as-group=system:authenticated create -f - <<EOF
    apiVersion: tenancy.atrium.dev/v1alpha1
    kind: Project
    metadata: {name: carols-lab}
    EOF
    kubectl --as=carol --as-group=system:authenticated get project carols-lab
    kubectl --as=carol --as-group=system:authenticated -n carols-lab create configmap hello
    kubectl --as=dave --as-group=system:authenticated -n carols-lab get configmaps   # refused

`, kubeconfig, root, state)
	<-ctx.Done()
	return nil
}

func step(msg string) { fmt.Printf("==> %s\n", msg) }

// applyExamples creates every example: tiers and other cluster objects as
// the admin, Projects as exampleUser.
func applyExamples(ctx context.Context, env *testenv.Env, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	user, err := env.ClientAs(exampleUser)
	if err != nil {
		return err
	}
	// Tiers first: Projects name them.
	var later []*unstructured.Unstructured
	for _, f := range files {
		docs, err := testenv.ReadYAMLDocuments(f)
		if err != nil {
			return err
		}
		for _, doc := range docs {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(doc, &u.Object); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			if u.GetKind() == "Project" {
				later = append(later, u)
				continue
			}
			if err := env.Client.Create(ctx, u); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			fmt.Printf("    %s %s created\n", strings.ToLower(u.GetKind()), u.GetName())
		}
	}
	for _, u := range later {
		if err := createWithRetry(ctx, user, u); err != nil {
			return fmt.Errorf("project %s: %w", u.GetName(), err)
		}
		fmt.Printf("    project %s created as %s\n", u.GetName(), exampleUser)
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
