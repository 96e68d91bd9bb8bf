package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/procs"
)

// ControllerManagerControllers are the kube-controller-manager controllers
// the test control plane runs: the ones a cluster's users and Atrium's
// components rely on without a kubelet or nodes. Garbage collection (owned
// objects go with their owner), namespace deletion (a deleted namespace is
// really gone), ClusterRole aggregation (the roles Atrium ships add to
// admin/edit/view), ServiceAccounts and their tokens, the kube-root-ca.crt
// ConfigMap in every namespace, ResourceQuota usage (without it, quota
// admission refuses what it cannot count), binding claims to their
// PersistentVolumes and the finalizers that keep both while in use (so a
// deleted claim really goes), and ValidatingAdmissionPolicy type checking.
var ControllerManagerControllers = []string{
	"garbage-collector-controller",
	"namespace-controller",
	"clusterrole-aggregation-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"root-ca-certificate-publisher-controller",
	"resourcequota-controller",
	"persistentvolume-binder-controller",
	"persistentvolume-protection-controller",
	"persistentvolumeclaim-protection-controller",
	"validatingadmissionpolicy-status-controller",
}

// startControllerManager runs kube-controller-manager from bin/ against
// the env's API server, as cluster admin, and waits until it acts (the
// built-in admin role has been aggregated and the default namespace has
// its ServiceAccount).
func (e *Env) startControllerManager(ctx context.Context, assets string, extra []string) error {
	bin := filepath.Join(assets, "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("kube-controller-manager not found in %s: run `make tools` first", assets)
	}
	dir, err := os.MkdirTemp("", "atrium-kcm-")
	if err != nil {
		return err
	}
	e.kcmDir = dir
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, e.KubeConfig(), 0o600); err != nil {
		return err
	}
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, e.Config.CAData, 0o600); err != nil {
		return err
	}
	certDir := e.env.ControlPlane.APIServer.CertDir
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=" + strings.Join(ControllerManagerControllers, ","),
		// No serving endpoint: nothing scrapes it here, and several
		// control planes run side by side.
		"--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		// The key the API server verifies ServiceAccount tokens with.
		"--service-account-private-key-file=" + filepath.Join(certDir, "sa-signer.key"),
		"--root-ca-file=" + caFile,
		// Garbage collection and namespace deletion act within a second
		// or so, as on a quiet cluster.
		"--concurrent-gc-syncs=10",
		"--concurrent-namespace-syncs=5",
		"--v=1",
	}
	args = append(args, extra...)
	p, err := procs.Start("kube-controller-manager", bin, args, dir, func(p *procs.Process, err error) {
		fmt.Fprintf(os.Stderr, "kube-controller-manager exited: %v\n%s\n", err, p.Tail(20))
	})
	if err != nil {
		return err
	}
	e.kcm = p
	err = Eventually(ctx, time.Minute, func() error {
		admin := &rbacv1.ClusterRole{}
		if err := e.Client.Get(ctx, client.ObjectKey{Name: "admin"}, admin); err != nil {
			return err
		}
		if len(admin.Rules) == 0 {
			return fmt.Errorf("the admin ClusterRole is not aggregated yet")
		}
		return e.Client.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceDefault, Name: "default"}, &corev1.ServiceAccount{})
	})
	if err != nil {
		return fmt.Errorf("kube-controller-manager did not start acting: %w\n%s", err, p.Tail(20))
	}
	return nil
}

// stopControllerManager stops kube-controller-manager before the API
// server goes, so it does not hold watches open on it.
func (e *Env) stopControllerManager() {
	if e.kcm != nil {
		e.kcm.Stop(10 * time.Second)
		e.kcm = nil
	}
	if e.kcmDir != "" {
		_ = os.RemoveAll(e.kcmDir)
		e.kcmDir = ""
	}
}

// WaitForAggregation waits until kube-controller-manager has added to
// every aggregated ClusterRole the rules of each role its selectors match,
// so that a role just installed (such as one aggregated into admin) is in
// effect before a test acts on it. Without kube-controller-manager
// (Options.NoControllerManager) nothing aggregates and it returns at once.
func (e *Env) WaitForAggregation(ctx context.Context) error {
	if e.kcm == nil {
		return nil
	}
	return Eventually(ctx, time.Minute, func() error {
		var roles rbacv1.ClusterRoleList
		if err := e.Client.List(ctx, &roles); err != nil {
			return err
		}
		for _, role := range roles.Items {
			if role.AggregationRule == nil {
				continue
			}
			for _, sel := range role.AggregationRule.ClusterRoleSelectors {
				s, err := metav1.LabelSelectorAsSelector(&sel)
				if err != nil {
					return err
				}
				for _, other := range roles.Items {
					if other.Name == role.Name || !s.Matches(labels.Set(other.Labels)) {
						continue
					}
					for _, r := range other.Rules {
						if !slices.ContainsFunc(role.Rules, func(have rbacv1.PolicyRule) bool { return equality.Semantic.DeepEqual(have, r) }) {
							return fmt.Errorf("ClusterRole %s does not have the rules of %s yet", role.Name, other.Name)
						}
					}
				}
			}
		}
		return nil
	})
}
