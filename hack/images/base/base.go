package base

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The nonroot user (and group) every container of an Atrium image runs
// as, distroless's: a number, so that a pod's runAsNonRoot can be checked
// by the kubelet without reading /etc/passwd.
const (
	UID  = 65532
	User = "65532"
	Home = "/home/nonroot"
)

// CABundle is where the CA certificates are, in the image as on Debian
// (package ca-certificates); Go's crypto/x509 looks there on Linux.
const CABundle = "/etc/ssl/certs/ca-certificates.crt"

// ZoneInfo is the time zone database (Debian's tzdata), for time.LoadLocation.
const ZoneInfo = "/usr/share/zoneinfo"

// Options say where the host's files are; the zero value reads Debian's.
type Options struct {
	// CABundle is the host's CA bundle; CABundle by default.
	CABundle string
	// ZoneInfo is the host's time zone database; ZoneInfo by default.
	// Missing, the image has none.
	ZoneInfo string
}

// epoch is every file's and the image's time: fixed, so that the same
// files make the same digest.
var epoch = time.Unix(0, 0).UTC()

// Index is the base image for each platform (linux/amd64, linux/arm64,
// …): one layer that every platform shares (its files do not depend on
// the architecture) and a config per platform that runs as nonroot.
func Index(o Options, platforms ...v1.Platform) (v1.ImageIndex, error) {
	if len(platforms) == 0 {
		return nil, fmt.Errorf("no platform")
	}
	tarBytes, err := Files(o)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		img, err := image(layer, p)
		if err != nil {
			return nil, err
		}
		p := p
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.AppendManifests(idx, adds...), nil
}

func image(layer v1.Layer, p v1.Platform) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: epoch}, CreatedBy: "hack/images/base", Comment: "static nonroot base: users, /tmp, CA bundle, time zones",
	}})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant, cfg.OSVersion = p.OS, p.Architecture, p.Variant, p.OSVersion
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config = v1.Config{
		User:       User,
		WorkingDir: Home,
		Env: []string{
			"PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin",
			"SSL_CERT_FILE=" + CABundle,
		},
	}
	return mutate.ConfigFile(img, cfg)
}

// file is one entry of the layer.
type file struct {
	name     string // relative to /, without a leading ./
	mode     int64  // permission bits, with the sticky bit for /tmp
	uid      int
	dir      bool
	link     string // symlink target
	contents []byte
}

// Files is the layer's uncompressed tar: the same bytes for the same host
// files (sorted entries, owners by number, fixed times).
func Files(o Options) ([]byte, error) {
	if o.CABundle == "" {
		o.CABundle = CABundle
	}
	if o.ZoneInfo == "" {
		o.ZoneInfo = ZoneInfo
	}
	ca, err := os.ReadFile(o.CABundle)
	if err != nil {
		return nil, fmt.Errorf("the CA bundle (install Debian's ca-certificates): %w", err)
	}
	if !bytes.Contains(ca, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("%s holds no PEM certificate", o.CABundle)
	}
	files := []file{
		{name: "etc", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, contents: []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
		{name: "etc/nsswitch.conf", mode: 0o644, contents: []byte("hosts: files dns\n")},
		{name: "etc/passwd", mode: 0o644, contents: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
				"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/ssl", mode: 0o755, dir: true},
		{name: "etc/ssl/certs", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(CABundle, "/"), mode: 0o644, contents: ca},
		{name: "home", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(Home, "/"), mode: 0o700, uid: UID, dir: true},
		{name: "root", mode: 0o700, dir: true},
		{name: "tmp", mode: 0o1777, dir: true},
	}
	zones, err := zoneFiles(o.ZoneInfo)
	if err != nil {
		return nil, err
	}
	files = append(files, zones...)
	return tarOf(files)
}

// zoneFiles are the time zone database's files and symlinks under
// usr/share/zoneinfo, in lexical order; none when the host has none.
func zoneFiles(root string) ([]file, error) {
	if _, err := os.Stat(root); os.IsNotExist(err) {
		return nil, nil
	}
	out := []file{{name: "usr", mode: 0o755, dir: true}, {name: "usr/share", mode: 0o755, dir: true}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(ZoneInfo, "/")
		if rel != "." {
			name += "/" + filepath.ToSlash(rel)
		}
		switch t := d.Type(); {
		case t.IsDir():
			out = append(out, file{name: name, mode: 0o755, dir: true})
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			out = append(out, file{name: name, mode: 0o777, link: target})
		case t.IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out = append(out, file{name: name, mode: 0o644, contents: b})
		}
		return nil
	})
	return out, err
}

func tarOf(files []file) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.uid, ModTime: epoch}
		switch {
		case f.dir:
			h.Typeflag, h.Name = tar.TypeDir, f.name+"/"
		case f.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.contents))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.contents); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
