package main

import (
	"context"
	"io"
	"log"
	"math/rand"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	specsv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// What ko built on the base of the loopback registry names that registry
// as the base, whose port changes every run; published, it names
// BaseName, so two runs give one digest. The platforms and the base's
// digest stay.
func TestBaseIsNamedStably(t *testing.T) {
	ctx := context.Background()
	var digests []v1.Hash
	for _, port := range []string{"127.0.0.1:40001", "127.0.0.1:40002"} {
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		host := strings.TrimPrefix(srv.URL, "http://")
		ann := map[string]string{specsv1.AnnotationBaseImageName: port + "/atrium/base@sha256:0000000000000000000000000000000000000000000000000000000000000000",
			specsv1.AnnotationBaseImageDigest: "sha256:1111111111111111111111111111111111111111111111111111111111111111"}
		idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
		for i, arch := range []string{"amd64", "arm64"} {
			img, err := random.Image(100, 1, random.WithSource(rand.NewSource(int64(i))))
			if err != nil {
				t.Fatal(err)
			}
			img = mutate.Annotations(img, ann).(v1.Image)
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
		}
		idx = mutate.Annotations(idx, ann).(v1.ImageIndex)
		ref, err := name.NewTag(host + "/atrium/operators-projects:v1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(ref, idx); err != nil {
			t.Fatal(err)
		}
		a, err := pull(ctx, ref, true)
		if err != nil {
			t.Fatal(err)
		}
		got := a.(v1.ImageIndex)
		m, err := got.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.Annotations[specsv1.AnnotationBaseImageName] != BaseName || m.Annotations[specsv1.AnnotationBaseImageDigest] != ann[specsv1.AnnotationBaseImageDigest] {
			t.Errorf("index annotations %v", m.Annotations)
		}
		if len(m.Manifests) != 2 || m.Manifests[0].Platform.Architecture != "amd64" || m.Manifests[1].Platform.Architecture != "arm64" {
			t.Fatalf("manifests %+v", m.Manifests)
		}
		for _, d := range m.Manifests {
			img, err := got.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			im, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if im.Annotations[specsv1.AnnotationBaseImageName] != BaseName {
				t.Errorf("%s: annotations %v", d.Platform, im.Annotations)
			}
		}
		h, err := got.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, h)
		srv.Close()
	}
	if digests[0] != digests[1] {
		t.Errorf("the same build read from two registries: %v", digests)
	}
}
