package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/atrium-dev/atrium/internal/shipped"
)

// A cluster's kustomization of config/overlays/hub-and-member (every
// component, the members' and the hub's) that includes the kustomization
// make images writes runs every shipped Deployment from its image by
// digest.
func TestKustomizationPinsTheShippedImages(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var imgs []Image
	want := map[string]string{}
	for i, c := range Every() {
		digest := "sha256:" + strings.Repeat(string("0123456789abcdef"[i]), 64)
		ref, err := name.NewDigest("registry.example.org/atrium/" + shortName(c) + ":v0.1.0@" + digest)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, Image{Component: c, Ref: ref})
		want[c.Deployment] = "registry.example.org/atrium/" + shortName(c) + "@" + digest
	}
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeKustomization(filepath.Join(dir, "images", Kustomization), imgs, true, "v0.1.0"); err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(dir, "overlay")
	if err := os.MkdirAll(overlay, 0o755); err != nil {
		t.Fatal(err)
	}
	def, err := filepath.Rel(overlay, filepath.Join(root, "config/overlays/hub-and-member"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte("resources:\n- "+def+"\ncomponents:\n- ../images\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := shipped.Build("", overlay)
	if err != nil {
		t.Fatal(err)
	}
	deps, err := m.Deployments()
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != len(Every()) {
		t.Fatalf("%d Deployments, want one per component (%d)", len(deps), len(Every()))
	}
	for _, d := range deps {
		for _, c := range append(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers...) {
			if c.Image != want[d.Name] {
				t.Errorf("Deployment %s, container %s: image %s, want %s", d.Name, c.Name, c.Image, want[d.Name])
			}
		}
	}
}

func TestTag(t *testing.T) {
	for v, want := range map[string]string{
		"v0.1.0":                          "v0.1.0",
		"v0.1.0-12-gabc1234-dirty":        "v0.1.0-12-gabc1234-dirty",
		"v0.0.0-20261201100000-abc+dirty": "v0.0.0-20261201100000-abc-dirty",
		"-x":                              "v-x",
	} {
		if got := Tag(v); got != want {
			t.Errorf("Tag(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestKoBuildsAreTheComponents(t *testing.T) {
	if err := checkKoBuilds("../../.ko.yaml"); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), ".ko.yaml")
	if err := os.WriteFile(bad, []byte("builds:\n- id: operators-projects\n  main: ./operators/projects\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkKoBuilds(bad); err == nil {
		t.Fatal("a .ko.yaml missing components passed")
	}
}
