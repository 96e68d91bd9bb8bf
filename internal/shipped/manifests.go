package shipped

import (
	"fmt"
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

	"github.com/atrium-dev/atrium/internal/components"
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

// All returns copies of every object, in build order.
func (m *Manifests) All() []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(m.objects))
	for _, o := range m.objects {
		out = append(out, o.DeepCopy())
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
// image atrium/operators-dns is the binary atrium-operators-dns
// (components.Component.Binary, which `make build` follows too).
func Binary(image string) string {
	name := image[strings.LastIndex(image, "/")+1:]
	if i := strings.IndexAny(name, ":@"); i >= 0 {
		name = name[:i]
	}
	return "atrium-" + name
}

// BuildBinaries builds the binary of the component every shipped
// Deployment runs into binDir, with go build -ldflags ldflags (empty for
// none; version.LDFlags stamps a version); a Deployment that runs no
// component of internal/components is an error, so the list cannot miss
// one.
func (m *Manifests) BuildBinaries(root, binDir, ldflags string) error {
	deps, err := m.Deployments()
	if err != nil {
		return err
	}
	var cs []components.Component
	for _, d := range deps {
		c, err := components.ByDeployment(d.Name)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Path, err)
		}
		cs = append(cs, c)
	}
	return components.BuildWithLDFlags(root, binDir, ldflags, cs...)
}
