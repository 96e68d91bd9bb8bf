package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/atrium-dev/atrium/internal/components"
)

func TestInfo(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name         string
		bi           *debug.BuildInfo
		v, rev, date string
		want         Info
	}{{
		name: "stamped by make build or ko",
		bi:   &debug.BuildInfo{Path: Module + "/operators/volumes", Main: debug.Module{Version: "(devel)"}, Settings: vcs("vcs.revision", "ffff")},
		v:    "v0.1.0-12-gabc1234", rev: rev, date: "2026-12-01T10:00:00Z",
		want: Info{Component: "atrium-operators-volumes", Version: "v0.1.0-12-gabc1234", Revision: rev, BuildDate: "2026-12-01T10:00:00Z"},
	}, {
		name: "plain go build in a git checkout",
		bi: &debug.BuildInfo{Path: Module + "/webhooks/hostnames", Main: debug.Module{Version: "v0.0.0-20261201100000-0123456789ab+dirty"},
			Settings: vcs("vcs", "git", "vcs.revision", rev, "vcs.modified", "true")},
		want: Info{Component: "atrium-webhooks-hostnames", Version: "v0.0.0-20261201100000-0123456789ab+dirty", Revision: rev, BuildDate: Unknown},
	}, {
		name: "go build outside git, or go test",
		bi:   &debug.BuildInfo{Path: Module + "/internal/version.test", Main: debug.Module{Version: "(devel)"}},
		want: Info{Component: "atrium", Version: Dev, Revision: Unknown, BuildDate: Unknown},
	}, {
		name: "modified checkout the toolchain gave no version",
		bi:   &debug.BuildInfo{Path: Module + "/operators/dns", Settings: vcs("vcs.revision", rev, "vcs.modified", "true")},
		want: Info{Component: "atrium-operators-dns", Version: Dev + "+dirty", Revision: rev, BuildDate: Unknown},
	}, {
		name: "no build information",
		want: Info{Component: "atrium", Version: Dev, Revision: Unknown, BuildDate: Unknown},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := info(tc.bi, tc.v, tc.rev, tc.date)
			tc.want.GoVersion, tc.want.Platform = runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	i := Info{Component: "atrium-operators-volumes", Version: "v0.1.0", Revision: "0123456789abcdef0123456789abcdef01234567",
		BuildDate: "2026-12-01T10:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64"}
	want := "atrium-operators-volumes v0.1.0 (revision 0123456789ab, built 2026-12-01T10:00:00Z, go1.26.8 linux/amd64)"
	if got := i.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	i.Revision = Unknown
	if got, want := i.String(), "atrium-operators-volumes v0.1.0 (revision unknown, built"; !strings.HasPrefix(got, want) {
		t.Errorf("got %s, want it to start with %s", got, want)
	}
}

// The name a binary gives itself is the one internal/components gives it
// (which make build names the file, and internal/shipped runs).
func TestComponentIsTheBinaryName(t *testing.T) {
	for _, c := range append(components.All[:len(components.All):len(components.All)], components.AtHub...) {
		if got := component(Module + "/" + c.Folder); got != c.Binary() {
			t.Errorf("%s: %q, want %q", c.Folder, got, c.Binary())
		}
	}
}

func TestBuildInfoMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	// A second manager in the same process registers it again.
	if err := Register(reg); err != nil {
		t.Fatalf("registering again: %v", err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	checkBuildInfo(t, families, Get())
}

// checkBuildInfo fails t unless families hold exactly one atrium_build_info
// of value 1 labelled with i.
func checkBuildInfo(t testing.TB, families []*dto.MetricFamily, i Info) {
	t.Helper()
	for _, f := range families {
		if f.GetName() != BuildInfoName {
			continue
		}
		if f.GetType() != dto.MetricType_GAUGE || len(f.GetMetric()) != 1 {
			t.Fatalf("%s: type %v, %d series; want one gauge", BuildInfoName, f.GetType(), len(f.GetMetric()))
		}
		m := f.GetMetric()[0]
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		want := map[string]string{"component": i.Component, "version": i.Version, "revision": i.Revision, "goversion": i.GoVersion}
		if len(got) != len(want) {
			t.Errorf("%s labels %v, want %v", BuildInfoName, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s label %s=%q, want %q", BuildInfoName, k, got[k], v)
			}
		}
		if v := m.GetGauge().GetValue(); v != 1 {
			t.Errorf("%s = %v, want 1", BuildInfoName, v)
		}
		return
	}
	t.Fatalf("no %s among the gathered metrics", BuildInfoName)
}

// One real binary, stamped as the Makefile stamps it: --version prints
// the stamped build and exits 0 without a kubeconfig or the flags the
// binary otherwise requires. (The images test runs every component's
// --version from its image.)
func TestStampedBinaryPrintsItsVersion(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	const (
		v    = "v9.8.7-6-gabcdef0-dirty"
		rev  = "0123456789abcdef0123456789abcdef01234567"
		date = "2026-12-01T10:00:00Z"
	)
	bin := filepath.Join(t.TempDir(), "atrium-operators-projects")
	build := exec.Command("go", "build", "-o", bin, "-ldflags", LDFlags(v, rev, date), "./operators/projects")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--version")
	cmd.Env = append(os.Environ(), "KUBECONFIG=/nonexistent")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	want := "atrium-operators-projects v9.8.7-6-gabcdef0-dirty (revision 0123456789ab, built 2026-12-01T10:00:00Z, " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if string(out) != want {
		t.Errorf("--version printed\n%q, want\n%q", out, want)
	}
}
