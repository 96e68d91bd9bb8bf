package shipped

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Manifests are the objects of one kustomization, built as `kubectl apply
// -k` builds them.
type Manifests struct {
	// Path is the kustomization, relative to the repository root.
	Path    string
	objects []*unstructured.Unstructured
}

// Build builds the kustomization at path (relative to root).
func Build(root, path string) (*Manifests, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(root, path))
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", path, err)
	}
	out := &Manifests{Path: path}
	for _, r := range m.Resources() {
		// Through JSON, so numbers are int64 as in objects read from
		// the API server.
		b, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err)
		}
		out.objects = append(out.objects, u)
	}
	return out, nil
}

// Of returns copies of the objects of the given kinds, in build order.
func (m *Manifests) Of(kinds ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range m.objects {
		if slices.Contains(kinds, o.GetKind()) {
			out = append(out, o.DeepCopy())
		}
	}
	return out
}

// Deployments are the components: one Deployment each.
func (m *Manifests) Deployments() ([]*appsv1.Deployment, error) {
	var out []*appsv1.Deployment
	for _, u := range m.Of("Deployment") {
		d := &appsv1.Deployment{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, d, true); err != nil {
			return nil, fmt.Errorf("Deployment %s: %w", u.GetName(), err)
		}
		out = append(out, d)
	}
	return out, nil
}

// CRDs are the shipped CustomResourceDefinitions, typed, for
// testenv.Options.CRDs.
func (m *Manifests) CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, u := range m.Of("CustomResourceDefinition") {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, crd, true); err != nil {
			return nil, fmt.Errorf("CRD %s: %w", u.GetName(), err)
		}
		out = append(out, crd)
	}
	return out, nil
}

// WebhookConfigurations are the shipped admission webhook configurations,
// typed, for testenv.Options.ServiceWebhooks.
func (m *Manifests) WebhookConfigurations() ([]client.Object, error) {
	var out []client.Object
	for _, u := range m.Of("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration") {
		var obj client.Object = &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if u.GetKind() == "MutatingWebhookConfiguration" {
			obj = &admissionregistrationv1.MutatingWebhookConfiguration{}
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, obj, true); err != nil {
			return nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// Binary is the file name of a component's binary, from its image:
// image atrium/operators-dns is the binary atrium-operators-dns, built from
// the folder operators/dns (`make build` names them alike).
func Binary(image string) string {
	name := image[strings.LastIndex(image, "/")+1:]
	if i := strings.IndexAny(name, ":@"); i >= 0 {
		name = name[:i]
	}
	return "atrium-" + name
}

// Package is the Go package a component's binary is built from.
func Package(image string) string {
	name := strings.TrimPrefix(Binary(image), "atrium-")
	return "./" + strings.Replace(name, "-", "/", 1)
}

// BuildBinaries builds the binary of every shipped Deployment into binDir,
// named as Binary says.
func (m *Manifests) BuildBinaries(root, binDir string) error {
	deps, err := m.Deployments()
	if err != nil {
		return err
	}
	for _, d := range deps {
		for _, c := range d.Spec.Template.Spec.Containers {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, Binary(c.Image)), Package(c.Image))
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("building %s: %v\n%s", Package(c.Image), err, out)
			}
		}
	}
	return nil
}
