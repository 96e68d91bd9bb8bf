package testenv

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

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
			docs, err := ReadYAMLDocuments(f)
			if err != nil {
				return err
			}
			for _, doc := range docs {
				u := &unstructured.Unstructured{}
				if err := yaml.Unmarshal(doc, &u.Object); err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				if len(u.Object) == 0 { // a document of comments only
					continue
				}
				if err := e.Client.Create(ctx, u); err != nil && !apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("%s: creating %s %s: %w", f, u.GetKind(), u.GetName(), err)
				}
			}
		}
	}
	return nil
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

// Eventually polls check until it returns nil or the timeout passes, and
// returns the last error. Tests use it to wait for controllers, never to
// assert on time.
func Eventually(ctx context.Context, timeout time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still failing after %s: %w", timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ProbeTLS returns nil once something serves TLS at url (any HTTP answer).
// The certificate is not checked: this only asks whether a server is up.
func ProbeTLS(url string) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a liveness probe, no data
	}}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
