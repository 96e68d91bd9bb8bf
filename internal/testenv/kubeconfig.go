package testenv

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// serviceAccountTokenLifetime is how long the tokens of
// ServiceAccountKubeConfig last: longer than any test run or a day of
// `make run`.
const serviceAccountTokenLifetime = 48 * 60 * 60

// ServiceAccountKubeConfig is a kubeconfig holding a token of the given
// ServiceAccount, issued by the API server's TokenRequest API as the
// kubelet would for a pod, so a component run against the test control
// plane authenticates as that ServiceAccount (with its groups) and has
// exactly the permissions its shipped RBAC grants it. The ServiceAccount
// must exist (shipped.Install and shipped.InstallRBAC create the shipped ones).
func (e *Env) ServiceAccountKubeConfig(namespace, name string) ([]byte, error) {
	token, err := e.ServiceAccountToken(context.Background(), namespace, name)
	if err != nil {
		return nil, err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: e.Config.Host, CertificateAuthorityData: e.Config.CAData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "test", AuthInfo: name, Namespace: namespace}
	cfg.CurrentContext = name
	return clientcmd.Write(*cfg)
}

// ServiceAccountToken issues a token for a ServiceAccount.
func (e *Env) ServiceAccountToken(ctx context.Context, namespace, name string) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](serviceAccountTokenLifetime)}}
	if err := e.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("token for ServiceAccount %s/%s (is the shipped RBAC installed?): %w", namespace, name, err)
	}
	return tr.Status.Token, nil
}
