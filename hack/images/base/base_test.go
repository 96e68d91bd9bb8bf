package base

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/atrium-dev/atrium/hack/images/internal/imagefs"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

func TestIndex(t *testing.T) {
	idx, err := Index(Options{}, amd64, arm64)
	if err != nil {
		t.Fatal(err)
	}
	if mt, err := idx.MediaType(); err != nil || mt != types.OCIImageIndex {
		t.Fatalf("media type %s, %v", mt, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 2 {
		t.Fatalf("%d manifests, want 2", len(m.Manifests))
	}
	var layers []v1.Hash
	for i, want := range []v1.Platform{amd64, arm64} {
		d := m.Manifests[i]
		if d.Platform == nil || !d.Platform.Equals(want) {
			t.Fatalf("manifest %d is for %v, want %v", i, d.Platform, want)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.OS != want.OS || cfg.Architecture != want.Architecture {
			t.Errorf("%v: config says %s/%s", want, cfg.OS, cfg.Architecture)
		}
		if cfg.Config.User != "65532" || cfg.Config.WorkingDir != "/home/nonroot" {
			t.Errorf("%v: user %q, working directory %q", want, cfg.Config.User, cfg.Config.WorkingDir)
		}
		ls, err := img.Layers()
		if err != nil || len(ls) != 1 {
			t.Fatalf("%v: %d layers, %v", want, len(ls), err)
		}
		h, _ := ls[0].Digest()
		layers = append(layers, h)
		files := read(t, img)
		for _, name := range []string{"etc/passwd", "etc/group", "etc/ssl/certs/ca-certificates.crt", "usr/share/zoneinfo/Europe/Zurich"} {
			if _, ok := files[name]; !ok {
				t.Errorf("%v: no /%s", want, name)
			}
		}
	}
	if layers[0] != layers[1] {
		t.Errorf("the platforms' layers differ: %v", layers)
	}
}

func TestFilesAsInDistrolessStatic(t *testing.T) {
	b, err := Files(Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]*tar.Header{}
	contents := map[string][]byte{}
	err = imagefs.Tar(bytes.NewReader(b), func(h *tar.Header, b []byte) {
		entries[h.Name] = h
		contents[h.Name] = b
		if h.ModTime.Unix() != 0 {
			t.Errorf("%s: time %v, want the epoch", h.Name, h.ModTime)
		}
		if base := h.Name[strings.LastIndex(strings.TrimSuffix(h.Name, "/"), "/")+1:]; base == "sh" || base == "sh/" || base == "busybox" {
			t.Errorf("%s in a static base", h.Name)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		typ      byte
		mode     int64
		uid, gid int
	}{
		{"etc/passwd", tar.TypeReg, 0o644, 0, 0},
		{"etc/group", tar.TypeReg, 0o644, 0, 0},
		{"home/nonroot/", tar.TypeDir, 0o700, 65532, 65532},
		{"root/", tar.TypeDir, 0o700, 0, 0},
		{"tmp/", tar.TypeDir, 0o1777, 0, 0},
		{"etc/ssl/certs/ca-certificates.crt", tar.TypeReg, 0o644, 0, 0},
	} {
		h, ok := entries[tc.name]
		if !ok {
			t.Errorf("no %s", tc.name)
			continue
		}
		if h.Typeflag != tc.typ || h.Mode != tc.mode || h.Uid != tc.uid || h.Gid != tc.gid {
			t.Errorf("%s: type %c mode %o owner %d:%d, want %c %o %d:%d", tc.name, h.Typeflag, h.Mode, h.Uid, h.Gid, tc.typ, tc.mode, tc.uid, tc.gid)
		}
	}
	if !strings.Contains(string(contents["etc/passwd"]), "\nnonroot:x:65532:65532:nonroot:/home/nonroot:") ||
		!strings.HasPrefix(string(contents["etc/passwd"]), "root:x:0:0:") ||
		!strings.Contains(string(contents["etc/passwd"]), "\nnobody:x:65534:65534:") {
		t.Errorf("/etc/passwd:\n%s", contents["etc/passwd"])
	}
	if !strings.Contains(string(contents["etc/group"]), "\nnonroot:x:65532:") {
		t.Errorf("/etc/group:\n%s", contents["etc/group"])
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(contents["etc/ssl/certs/ca-certificates.crt"]) {
		t.Error("the CA bundle holds no certificate")
	}
	// Debian's tzdata links aliases to the zone they name.
	if h := entries["usr/share/zoneinfo/Cuba"]; h != nil && (h.Typeflag != tar.TypeSymlink || h.Linkname == "") {
		t.Errorf("zoneinfo/Cuba: %+v", h)
	}
}

func TestReproducible(t *testing.T) {
	digest := func() v1.Hash {
		idx, err := Index(Options{}, amd64, arm64)
		if err != nil {
			t.Fatal(err)
		}
		h, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if a, b := digest(), digest(); a != b {
		t.Fatalf("two builds of the same files: %s and %s", a, b)
	}
}

func TestMissingCABundle(t *testing.T) {
	if _, err := Files(Options{CABundle: "/nonexistent/ca.crt"}); err == nil || !strings.Contains(err.Error(), "ca-certificates") {
		t.Fatalf("got %v, want an error naming Debian's package", err)
	}
}

// read is the image's file system (one layer here): name to contents.
func read(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := imagefs.Walk(img, func(h *tar.Header, b []byte) { out[h.Name] = b })
	if err != nil {
		t.Fatal(err)
	}
	return out
}
