package manager

import (
	"flag"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/atrium-dev/atrium/internal/version"
)

// Every manager-based binary exports atrium_build_info on its metrics
// endpoint, which serves controller-runtime's registry.
func TestManagerExportsBuildInfo(t *testing.T) {
	// A kubeconfig to build the manager from; nothing is sent to it.
	setKubeconfig(t)
	if _, err := flags.NewManager(ctrl.Options{}); err != nil {
		t.Fatal(err)
	}
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := version.Get()
	for _, f := range families {
		if f.GetName() != version.BuildInfoName {
			continue
		}
		if len(f.GetMetric()) != 1 {
			t.Fatalf("%d series of %s", len(f.GetMetric()), version.BuildInfoName)
		}
		got := map[string]string{}
		for _, l := range f.GetMetric()[0].GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if got["component"] != want.Component || got["version"] != want.Version || got["revision"] != want.Revision || got["goversion"] != want.GoVersion {
			t.Errorf("labels %v, want those of %+v", got, want)
		}
		if v := f.GetMetric()[0].GetGauge().GetValue(); v != 1 {
			t.Errorf("value %v, want 1", v)
		}
		return
	}
	t.Fatalf("%s is not in controller-runtime's registry", version.BuildInfoName)
}

// --version is one of the shared flags.
func TestVersionFlag(t *testing.T) {
	if f := flag.CommandLine.Lookup("version"); f == nil || f.DefValue != "false" {
		t.Fatalf("--version: %+v", f)
	}
}
