package testenv

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
)

// ServiceAccountKubeConfig is a kubeconfig that acts as the given
// ServiceAccount (by impersonation), so a component run against the test
// control plane has exactly the permissions its shipped RBAC grants it.
func (e *Env) ServiceAccountKubeConfig(namespace, name string) ([]byte, error) {
	cfg, err := clientcmd.Load(e.KubeConfig())
	if err != nil {
		return nil, err
	}
	if len(cfg.AuthInfos) == 0 {
		return nil, fmt.Errorf("test kubeconfig has no user")
	}
	for _, u := range cfg.AuthInfos {
		u.Impersonate = fmt.Sprintf("system:serviceaccount:%s:%s", namespace, name)
		u.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	}
	return clientcmd.Write(*cfg)
}
