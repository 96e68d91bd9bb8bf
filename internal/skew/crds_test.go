package skew

import (
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/atrium-dev/atrium/internal/testenv"
)

// shippedCRDs are the generated CRDs of config/crd.
func shippedCRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, dir := range []string{"bases", "fleet"} {
		files, err := filepath.Glob(filepath.Join(root, "config", "crd", dir, "*.atrium.dev_*.yaml"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			docs, err := testenv.ReadYAMLDocuments(f)
			if err != nil {
				return nil, err
			}
			for _, d := range docs {
				c := &apiextensionsv1.CustomResourceDefinition{}
				if err := yaml.Unmarshal(d, c); err != nil {
					return nil, err
				}
				out = append(out, c)
			}
		}
	}
	return out, nil
}
