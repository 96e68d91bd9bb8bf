package e2e

import (
	"testing"

	"k8s.io/client-go/discovery"
)

// TestControlPlaneVersion: `make tools` stamps the kube-apiserver it builds,
// so the test control plane reports the Kubernetes release it was built from.
func TestControlPlaneVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	dc, err := discovery.NewDiscoveryClientForConfig(f.env.Config)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != "v1.36.3" || v.Major != "1" || v.Minor != "36" {
		t.Fatalf("control plane reports %+v, want v1.36.3", v)
	}
}
