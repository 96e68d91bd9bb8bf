package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	specsv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"sigs.k8s.io/yaml"

	"github.com/atrium-dev/atrium/hack/images/base"
	"github.com/atrium-dev/atrium/internal/components"
)

// Stamp is what the binaries are stamped with (internal/version), as
// hack/version.sh makes it.
type Stamp struct {
	Version   string
	Revision  string
	BuildDate string // RFC 3339; also the images' creation time
}

// Options of one build.
type Options struct {
	// Root is the repository: where .ko.yaml is and ko runs.
	Root string
	// Ko is the ko binary (bin/ko, from hack/tools/ko).
	Ko string
	// Out is where the OCI layout (oci/) and kustomization.yaml go.
	Out string
	// Registry is where the images are pushed, as <Registry>/<name> (such
	// as registry.example.org/atrium/operators-volumes); empty writes them
	// into an OCI layout in Out instead.
	Registry string
	// Base is the base image's reference; empty builds package base's.
	Base string
	// Platforms are the images' platforms.
	Platforms []v1.Platform
	Stamp     Stamp
	// Components are the components to build.
	Components []components.Component
	// Log takes ko's progress.
	Log io.Writer
}

// Image is one component's built image.
type Image struct {
	Component components.Component
	// Ref is the image by digest: in the registry it was pushed to, or
	// atrium/<component>@sha256:… in the OCI layout.
	Ref name.Digest
}

// Layout is the OCI layout of Out when no registry is given.
const Layout = "oci"

// Kustomization is the kustomize Component of Out that pins the images.
const Kustomization = "kustomization.yaml"

// RefName is the annotation that names each image in the OCI layout.
const RefName = "org.opencontainers.image.ref.name"

// BaseName is how the images' annotations name the base built here
// (org.opencontainers.image.base.name): ko would name the loopback
// registry it read it from, whose port changes with every run.
const BaseName = "atrium/base:nonroot"

// Build builds o.Components' images with ko, then pushes them to
// o.Registry or writes them into the OCI layout, and writes the
// kustomization. ko builds into a registry on loopback in this process
// (it reads its base from a registry and knows no other place to write
// a multi-platform image); what it built is published from there.
func Build(ctx context.Context, o Options) ([]Image, error) {
	if o.Log == nil {
		o.Log = os.Stderr
	}
	date, err := time.Parse(time.RFC3339, o.Stamp.BuildDate)
	if err != nil {
		return nil, fmt.Errorf("build date %q: want RFC 3339, as hack/version.sh date prints it", o.Stamp.BuildDate)
	}
	if o.Stamp.Version == "" || o.Stamp.Revision == "" {
		return nil, fmt.Errorf("no version or revision to stamp (hack/version.sh prints them)")
	}
	if len(o.Platforms) == 0 || len(o.Components) == 0 {
		return nil, fmt.Errorf("nothing to build: %d platforms, %d components", len(o.Platforms), len(o.Components))
	}
	if err := checkKoBuilds(filepath.Join(o.Root, ".ko.yaml")); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	local, err := startRegistry()
	if err != nil {
		return nil, err
	}
	defer local.Close()
	baseRef := o.Base
	if baseRef == "" {
		if baseRef, err = pushBase(ctx, local.host+"/atrium/base:nonroot", o.Platforms); err != nil {
			return nil, err
		}
	}
	// Out holds what this run made: no layout of an earlier run stays
	// beside a kustomization that does not pin it.
	dir := filepath.Join(o.Out, Layout)
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	var lp layout.Path
	if o.Registry == "" {
		if lp, err = layout.Write(dir, empty.Index); err != nil {
			return nil, err
		}
	}
	tag := Tag(o.Stamp.Version)
	var out []Image
	for _, c := range o.Components {
		built, err := ko(ctx, o, c, baseRef, local.host+"/atrium/"+shortName(c), tag, date)
		if err != nil {
			return nil, err
		}
		a, err := pull(ctx, built, o.Base == "")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Folder, err)
		}
		digest, err := a.Digest()
		if err != nil {
			return nil, err
		}
		var ref name.Digest
		if o.Registry != "" {
			t, err := name.NewTag(o.Registry + "/" + shortName(c) + ":" + tag)
			if err != nil {
				return nil, err
			}
			opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
			if idx, ok := a.(v1.ImageIndex); ok {
				err = remote.WriteIndex(t, idx, opts...)
			} else {
				err = remote.Write(t, a.(v1.Image), opts...)
			}
			if err != nil {
				return nil, fmt.Errorf("pushing %s: %w", t, err)
			}
			ref = t.Context().Digest(digest.String())
		} else {
			ann := layout.WithAnnotations(map[string]string{RefName: c.Image() + ":" + tag})
			if idx, ok := a.(v1.ImageIndex); ok {
				err = lp.AppendIndex(idx, ann)
			} else {
				err = lp.AppendImage(a.(v1.Image), ann)
			}
			if err != nil {
				return nil, err
			}
			ref, err = name.NewDigest(c.Image() + "@" + digest.String())
			if err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(o.Log, "%s: %s\n", c.Image(), ref)
		out = append(out, Image{Component: c, Ref: ref})
	}
	return out, writeKustomization(filepath.Join(o.Out, Kustomization), out, o.Registry != "", o.Stamp.Version)
}

// artifact is an image index (several platforms) or an image (one).
type artifact interface {
	Digest() (v1.Hash, error)
	MediaType() (types.MediaType, error)
}

// pull reads what ko built; with localBase, the base annotations name
// BaseName instead of the loopback registry.
func pull(ctx context.Context, ref name.Reference, localBase bool) (artifact, error) {
	desc, err := remote.Get(ref, remote.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil || !localBase {
			return img, err
		}
		return renameBase(img), nil
	}
	idx, err := desc.ImageIndex()
	if err != nil || !localBase {
		return idx, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var adds []mutate.IndexAddendum
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: renameBase(img), Descriptor: v1.Descriptor{Platform: d.Platform, Annotations: d.Annotations}})
	}
	out := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, m.MediaType), adds...)
	if m.Annotations != nil {
		out = mutate.Annotations(out, baseAnnotation(m.Annotations)).(v1.ImageIndex)
	}
	return out, nil
}

func renameBase(img v1.Image) v1.Image {
	m, err := img.Manifest()
	if err != nil || m.Annotations == nil {
		return img
	}
	return mutate.Annotations(img, baseAnnotation(m.Annotations)).(v1.Image)
}

func baseAnnotation(a map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	if _, ok := out[specsv1.AnnotationBaseImageName]; ok {
		out[specsv1.AnnotationBaseImageName] = BaseName
	}
	return out
}

// shortName is the image's name without atrium/: operators-volumes.
func shortName(c components.Component) string { return strings.TrimPrefix(c.Image(), "atrium/") }

// Tag is the images' tag for a version: the version, with what a tag may
// not hold (a + of build metadata) as -.
func Tag(version string) string {
	t := regexp.MustCompile(`[^A-Za-z0-9_.-]`).ReplaceAllString(version, "-")
	if t == "" || t[0] == '.' || t[0] == '-' {
		t = "v" + t
	}
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}

// ko builds and pushes one component's image to repo and returns it by
// digest.
func ko(ctx context.Context, o Options, c components.Component, baseRef, repo, tag string, date time.Time) (name.Digest, error) {
	var platforms []string
	for _, p := range o.Platforms {
		platforms = append(platforms, p.String())
	}
	cmd := exec.CommandContext(ctx, o.Ko, "build", "--bare", "--sbom=none",
		"--image-user="+base.User, "--platform="+strings.Join(platforms, ","), "--tags="+tag, "./"+c.Folder)
	cmd.Dir = o.Root
	epoch := strconv.FormatInt(date.Unix(), 10)
	cmd.Env = append(os.Environ(),
		"KO_DOCKER_REPO="+repo,
		"KO_DEFAULTBASEIMAGE="+baseRef,
		"KO_CONFIG_PATH="+filepath.Join(o.Root, ".ko.yaml"),
		"VERSION="+o.Stamp.Version, "REVISION="+o.Stamp.Revision, "BUILD_DATE="+o.Stamp.BuildDate,
		// The images' and their files' times: the build date, which is
		// the commit's for a clean tree, so a commit builds one digest.
		"SOURCE_DATE_EPOCH="+epoch, "KO_DATA_DATE_EPOCH="+epoch,
	)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, o.Log
	if err := cmd.Run(); err != nil {
		return name.Digest{}, fmt.Errorf("ko build %s: %w", c.Folder, err)
	}
	// ko prints what it pushed: <repo>:<tag>@sha256:…
	line := strings.TrimSpace(stdout.String())
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	at := strings.LastIndexByte(line, '@')
	if at < 0 {
		return name.Digest{}, fmt.Errorf("ko build %s printed no digest: %q", c.Folder, stdout.String())
	}
	return name.NewDigest(repo + ":" + tag + line[at:])
}

// pushBase pushes package base's image for the platforms to ref and
// returns it by digest.
func pushBase(ctx context.Context, ref string, platforms []v1.Platform) (string, error) {
	idx, err := base.Index(base.Options{}, platforms...)
	if err != nil {
		return "", fmt.Errorf("base image: %w", err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	if err := remote.WriteIndex(r, idx, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing the base image: %w", err)
	}
	h, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return r.Context().Digest(h.String()).String(), nil
}

// kustomization is the file Out/kustomization.yaml: a kustomize Component
// whose images transformer pins each shipped name to its digest.
type kustomization struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Images     []kustomizeImage `json:"images"`
}

type kustomizeImage struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	Digest  string `json:"digest"`
}

func writeKustomization(path string, imgs []Image, pushed bool, version string) error {
	k := kustomization{APIVersion: "kustomize.config.k8s.io/v1alpha1", Kind: "Component"}
	for _, img := range imgs {
		i := kustomizeImage{Name: img.Component.Image(), Digest: img.Ref.DigestStr()}
		if pushed {
			i.NewName = img.Ref.Context().Name()
		}
		k.Images = append(k.Images, i)
	}
	b, err := yaml.Marshal(k)
	if err != nil {
		return err
	}
	where := "in the OCI layout " + Layout + "/ beside this file: push them (docs/images.md) and set each newName"
	if pushed {
		where = "as pushed"
	}
	head := fmt.Sprintf("# Written by make images (hack/images): Atrium %s's images by digest,\n# %s.\n# An overlay includes it as a Component (components: [<path to this folder>]).\n", version, where)
	return os.WriteFile(path, append([]byte(head), b...), 0o644)
}

// Every is every component that has an image: the members' and the
// hub's.
func Every() []components.Component {
	return append(append([]components.Component{}, components.All...), components.AtHub...)
}

// checkKoBuilds fails unless .ko.yaml has one build for each component
// of internal/components, and no other: a component left out would be
// built unstamped.
func checkKoBuilds(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg struct {
		Builds []struct {
			ID   string `json:"id"`
			Main string `json:"main"`
		} `json:"builds"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var have, want []string
	for _, bd := range cfg.Builds {
		have = append(have, strings.TrimPrefix(bd.Main, "./"))
	}
	for _, c := range Every() {
		want = append(want, c.Folder)
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		return fmt.Errorf("%s builds %v, but the components are %v", path, have, want)
	}
	return nil
}

// localRegistry is a registry on loopback, in this process, for what ko
// reads (the base) and writes (the images when there is no REGISTRY):
// ko knows no other place. Blobs are kept in a temporary directory.
type localRegistry struct {
	host string
	srv  *http.Server
	dir  string
}

func startRegistry() (*localRegistry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "atrium-images-")
	if err != nil {
		ln.Close()
		return nil, err
	}
	r := &localRegistry{host: ln.Addr().String(), dir: dir, srv: &http.Server{
		Handler:           registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithBlobHandler(registry.NewDiskBlobHandler(dir))),
		ReadHeaderTimeout: time.Minute,
	}}
	go func() {
		if err := r.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("local registry: %v", err)
		}
	}()
	return r, nil
}

func (r *localRegistry) Close() {
	r.srv.Close()
	os.RemoveAll(r.dir)
}

// ParsePlatforms reads linux/amd64,linux/arm64.
func ParsePlatforms(s string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := v1.ParsePlatform(f)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, nil
}
