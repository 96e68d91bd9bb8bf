package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"sigs.k8s.io/yaml"

	"github.com/atrium-dev/atrium/hack/images/internal/imagefs"
	"github.com/atrium-dev/atrium/internal/components"
)

// The stamp of the test's builds: the --version the images' binaries must
// print.
var stamp = Stamp{
	Version:   "v9.8.7-6-gabcdef0",
	Revision:  "0123456789abcdef0123456789abcdef01234567",
	BuildDate: "2026-12-01T10:00:00Z",
}

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

// make images as a user runs it, with ko: every component for this
// machine's platform into an OCI layout (no REGISTRY), served back from a
// registry and checked; then one component for both platforms pushed to
// a registry (REGISTRY), reproducing the same image for this platform.
// Building each component for one platform and one for both keeps the
// cost down (docs/images.md says what it costs).
func TestImages(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ko := buildKo(t, root)
	host := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	other := arm64
	if host.Architecture == arm64.Architecture {
		other = amd64
	}
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	regHost := strings.TrimPrefix(reg.URL, "http://")

	// 1. Every component (with -short, one), into an OCI layout. ko's
	// progress goes to the test's output (go test -v shows it as it
	// comes).
	all := Every()
	if testing.Short() {
		all = []components.Component{components.Projects}
	}
	kolog := t.Output()
	out := t.TempDir()
	start := time.Now()
	imgs, err := Build(ctx, Options{Root: root, Ko: ko, Out: out, Platforms: []v1.Platform{host}, Stamp: stamp, Components: all, Log: kolog})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d components built for %v in %v", len(imgs), host, time.Since(start).Round(time.Second))
	served := serveLayout(t, filepath.Join(out, Layout), regHost+"/atrium")
	pinned := readKustomization(t, filepath.Join(out, Kustomization))
	hostImages := map[string]v1.Hash{}
	for _, c := range all {
		t.Run(shortName(c), func(t *testing.T) {
			ref, ok := served[c.Image()+":"+Tag(stamp.Version)]
			if !ok {
				t.Fatalf("no %s:%s in the OCI layout; it has %v", c.Image(), Tag(stamp.Version), keys(served))
			}
			if k := pinned[c.Image()]; k.Digest != ref.DigestStr() || k.NewName != "" {
				t.Errorf("kustomization pins %s to %+v, want digest %s and no newName (not pushed)", c.Image(), k, ref.DigestStr())
			}
			img, desc := pullPlatform(t, ref, host)
			hostImages[c.Image()] = desc.Digest
			checkImage(t, c, img, host, true)
		})
	}

	// 2. One component for both platforms, pushed to a registry.
	out = t.TempDir()
	start = time.Now()
	imgs, err = Build(ctx, Options{Root: root, Ko: ko, Out: out, Registry: regHost + "/lab", Platforms: []v1.Platform{amd64, arm64}, Stamp: stamp,
		Components: []components.Component{components.Projects}, Log: kolog})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s built for %v and %v in %v", components.Projects.Folder, amd64, arm64, time.Since(start).Round(time.Second))
	if _, err := os.Stat(filepath.Join(out, Layout)); !os.IsNotExist(err) {
		t.Errorf("an OCI layout was written although the images were pushed: %v", err)
	}
	ref := imgs[0].Ref
	if want := regHost + "/lab/operators-projects"; ref.Context().Name() != want {
		t.Errorf("pushed to %s, want %s", ref.Context().Name(), want)
	}
	if k, want := readKustomization(t, filepath.Join(out, Kustomization))[components.Projects.Image()], (kustomizeImage{
		Name: components.Projects.Image(), NewName: regHost + "/lab/operators-projects", Digest: ref.DigestStr(),
	}); k != want {
		t.Errorf("kustomization: %+v, want %+v", k, want)
	}
	// Pulled by tag, as a registry serves it to a cluster.
	idx, err := remote.Index(ref.Context().Tag(Tag(stamp.Version)))
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := idx.Digest(); h.String() != ref.DigestStr() {
		t.Errorf("the tag %s is %s, the build said %s", Tag(stamp.Version), h, ref.DigestStr())
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range m.Manifests {
		platforms = append(platforms, d.Platform.String())
	}
	slices.Sort(platforms)
	if want := []string{"linux/amd64", "linux/arm64"}; !slices.Equal(platforms, want) {
		t.Fatalf("index of %s is for %v, want %v", ref, platforms, want)
	}
	img, desc := platformImage(t, idx, host)
	if want := hostImages[components.Projects.Image()]; desc.Digest != want {
		t.Errorf("the same build for %v is %s here and %s in the OCI layout: not reproducible", host, desc.Digest, want)
	}
	checkImage(t, components.Projects, img, host, true)
	img, _ = platformImage(t, idx, other)
	checkImage(t, components.Projects, img, other, false)
}

// buildKo builds bin/ko as make images does (hack/tools.sh ko; a no-op
// once built).
func buildKo(t *testing.T, root string) string {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(filepath.Join(root, "hack/tools.sh"), "ko")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/tools.sh ko: %v\n%s", err, out)
	}
	t.Logf("hack/tools.sh ko: %v", time.Since(start).Round(time.Second))
	return filepath.Join(root, "bin", "ko")
}

// checkImage checks one platform's image of c: it runs the component's
// binary as nonroot on a static base with the CA bundle and nothing
// else, and the binary is c's, for p, stamped with stamp (run is whether
// it can run here).
func checkImage(t *testing.T, c components.Component, img v1.Image, p v1.Platform, run bool) {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != p.OS || cfg.Architecture != p.Architecture {
		t.Errorf("%v: the config says %s/%s", p, cfg.OS, cfg.Architecture)
	}
	// A number, so the kubelet can hold it to the Deployments'
	// runAsNonRoot.
	if cfg.Config.User != "65532" {
		t.Errorf("%v: user %q, want 65532 (nonroot)", p, cfg.Config.User)
	}
	entry := "/ko-app/" + path.Base(c.Folder)
	if !slices.Equal(cfg.Config.Entrypoint, []string{entry}) || len(cfg.Config.Cmd) != 0 {
		t.Errorf("%v: entrypoint %q, cmd %q; want [%s] and none", p, cfg.Config.Entrypoint, cfg.Config.Cmd, entry)
	}
	if want, _ := time.Parse(time.RFC3339, stamp.BuildDate); !cfg.Created.Time.Equal(want) {
		t.Errorf("%v: created %v, want the build date %v", p, cfg.Created.Time, want)
	}
	files := extract(t, img)
	for name, f := range files {
		base := path.Base(name)
		if slices.Contains([]string{"sh", "bash", "dash", "ash", "busybox"}, base) || strings.HasPrefix(name, "bin/") || strings.HasPrefix(name, "usr/bin/") {
			t.Errorf("%v: /%s (%c) in an image that should hold no shell or tools", p, name, f.typ)
		}
	}
	ca, ok := files["etc/ssl/certs/ca-certificates.crt"]
	if !ok || !x509.NewCertPool().AppendCertsFromPEM(ca.contents) {
		t.Errorf("%v: no CA bundle at /etc/ssl/certs/ca-certificates.crt", p)
	}
	if passwd := string(files["etc/passwd"].contents); !strings.Contains(passwd, "nonroot:x:65532:65532:nonroot:/home/nonroot:") {
		t.Errorf("%v: /etc/passwd has no nonroot 65532:\n%s", p, passwd)
	}
	if tmp, ok := files["tmp"]; !ok || tmp.mode != 0o1777 {
		t.Errorf("%v: /tmp %+v, want mode 1777", p, tmp.mode)
	}
	bin, ok := files[strings.TrimPrefix(entry, "/")]
	if !ok || bin.typ != tar.TypeReg || bin.mode&0o111 == 0 {
		t.Fatalf("%v: the entrypoint %s is no executable file in the image", p, entry)
	}
	e, err := elf.NewFile(bytes.NewReader(bin.contents))
	if err != nil {
		t.Fatalf("%v: %s: %v", p, entry, err)
	}
	if want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[p.Architecture]; e.Machine != want {
		t.Errorf("%v: %s is for %v", p, entry, e.Machine)
	}
	// Static: a binary that needs a dynamic loader does not start here.
	for _, prog := range e.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("%v: %s is dynamically linked", p, entry)
		}
	}
	if !run {
		return
	}
	exe := filepath.Join(t.TempDir(), c.Binary())
	if err := os.WriteFile(exe, bin.contents, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(exe, "--version").Output()
	if err != nil {
		t.Fatalf("%v: %s --version: %v", p, entry, err)
	}
	want := fmt.Sprintf("%s %s (revision %s, built %s, %s %s)\n", c.Binary(), stamp.Version, stamp.Revision[:12], stamp.BuildDate, runtime.Version(), p.OS+"/"+p.Architecture)
	if string(got) != want {
		t.Errorf("%v: --version printed\n%q, want\n%q", p, got, want)
	}
}

type file struct {
	typ      byte
	mode     int64
	contents []byte
}

// extract is the image's flattened file system.
func extract(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	out := map[string]file{}
	err := imagefs.Walk(img, func(h *tar.Header, b []byte) {
		out[strings.TrimSuffix(strings.TrimPrefix(h.Name, "/"), "/")] = file{typ: h.Typeflag, mode: h.Mode, contents: b}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pullPlatform is ref's image for p, from an index or, for one platform, the
// image itself.
func pullPlatform(t *testing.T, ref name.Reference, p v1.Platform) (v1.Image, v1.Descriptor) {
	t.Helper()
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		return platformImage(t, idx, p)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	return img, desc.Descriptor
}

// platformImage is the index's image for p.
func platformImage(t *testing.T, idx v1.ImageIndex, p v1.Platform) (v1.Image, v1.Descriptor) {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.Satisfies(p) {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img, d
		}
	}
	t.Fatalf("no image for %v in the index", p)
	return nil, v1.Descriptor{}
}

// serveLayout pushes every image of the OCI layout at dir to repo, each
// under its name in the layout, and returns them by name and digest.
func serveLayout(t *testing.T, dir, repo string) map[string]name.Digest {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]name.Digest{}
	for _, d := range m.Manifests {
		n := d.Annotations[RefName]
		short, tag, ok := strings.Cut(strings.TrimPrefix(n, "atrium/"), ":")
		if !ok {
			t.Fatalf("layout entry %q: want atrium/<name>:<tag>", n)
		}
		ref, err := name.NewTag(repo + "/" + short + ":" + tag)
		if err != nil {
			t.Fatal(err)
		}
		// An index for several platforms, an image for one (ko's way).
		if d.MediaType.IsIndex() {
			idx, err := top.ImageIndex(d.Digest)
			if err == nil {
				err = remote.WriteIndex(ref, idx)
			}
			if err != nil {
				t.Fatal(err)
			}
		} else {
			img, err := top.Image(d.Digest)
			if err == nil {
				err = remote.Write(ref, img)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		out[n] = ref.Context().Digest(d.Digest.String())
	}
	return out
}

func readKustomization(t *testing.T, file string) map[string]kustomizeImage {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		t.Fatal(err)
	}
	if k.Kind != "Component" || k.APIVersion != "kustomize.config.k8s.io/v1alpha1" {
		t.Errorf("%s is a %s %s, want a kustomize Component", file, k.APIVersion, k.Kind)
	}
	out := map[string]kustomizeImage{}
	for _, i := range k.Images {
		out[i.Name] = i
	}
	return out
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
