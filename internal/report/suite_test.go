package report_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// hub is the package's hub: config/hub installed as an admin installs it
// (the fleet CRDs, the hub roles, the policy atrium-fleet-identities),
// with the identities of members "a" and "a-b" minted from
// config/hub/member and their MemberClusters registered. It serves the
// members' CRDs too (testenv installs every CRD), so it plays a member
// where a test needs one.
var (
	hub   *testenv.Env
	creds = map[string]fleet.HubCredentials{}
)

var clusters = []string{"a", "a-b"}

func TestMain(m *testing.M) {
	testenv.Main(m, func() int { return run(m) })
}

func run(m *testing.M) int {
	ctx := context.Background()
	manifests, err := shipped.Build(mustRoot(), fleet.HubKustomization)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	crds, err := manifests.CRDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// With kube-controller-manager, which type-checks the policies.
	hub, err = testenv.Start(testenv.Options{CRDs: crds})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer hub.Stop()
	if err := shipped.Install(ctx, hub, manifests); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, c := range clusters {
		if creds[c], err = fleet.MintMember(ctx, hub, c); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := hub.WaitForAdmissionPolicies(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func mustRoot() string {
	root, err := testenv.RepoRoot()
	if err != nil {
		panic(err)
	}
	return root
}

// restConfig is a rest.Config from a kubeconfig.
func restConfig(t *testing.T, kubeconfig []byte) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
