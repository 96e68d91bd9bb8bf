package testenv

import (
	"context"
	"fmt"
	"path/filepath"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// rbacKinds are what InstallRBAC takes from a kustomization: the identities
// and permissions of the components, not their Deployments.
var rbacKinds = map[string]bool{
	"Namespace": true, "ServiceAccount": true,
	"ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true,
}

// InstallRBAC builds a kustomization (relative to the repo root, normally
// config/default) as `kubectl apply -k` would and creates its namespaces,
// ServiceAccounts and RBAC, so components can run as their ServiceAccounts
// with exactly the permissions they ship with, and users get what the
// shipped roles aggregate into admin, edit and view.
func (e *Env) InstallRBAC(ctx context.Context, kustomization string) error {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(e.Root, kustomization))
	if err != nil {
		return fmt.Errorf("kustomize build %s: %w", kustomization, err)
	}
	for _, r := range m.Resources() {
		if !rbacKinds[r.GetKind()] {
			continue
		}
		obj, err := r.Map()
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{Object: obj}
		if err := e.Client.Create(ctx, u); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	// Roles the kustomization aggregates into admin, edit and view are
	// aggregated by kube-controller-manager; wait until they are.
	if e.kcm == nil {
		return nil
	}
	return e.WaitForAggregation(ctx)
}
