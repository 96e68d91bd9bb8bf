package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// CreateFromFiles creates every object in the given YAML files or folders
// (relative to the repo root; kustomization.yaml files are skipped) as the
// admin, leaving objects that already exist alone.
func (e *Env) CreateFromFiles(ctx context.Context, paths ...string) error {
	for _, p := range paths {
		files, err := yamlFiles(filepath.Join(e.Root, p))
		if err != nil {
			return err
		}
		for _, f := range files {
			objs, err := ReadObjects(f)
			if err != nil {
				return err
			}
			for _, u := range objs {
				if err := e.Client.Create(ctx, u); err != nil && !apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("%s: creating %s %s: %w", f, u.GetKind(), u.GetName(), err)
				}
			}
		}
	}
	return nil
}

// ReadObjects reads every object of a multi-document YAML file, skipping
// documents that hold only comments.
func ReadObjects(path string) ([]*unstructured.Unstructured, error) {
	docs, err := ReadYAMLDocuments(path)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, doc := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
	return out, nil
}

func yamlFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || n == "kustomization.yaml" || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			continue
		}
		out = append(out, filepath.Join(path, n))
	}
	return out, nil
}
