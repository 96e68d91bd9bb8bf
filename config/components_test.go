package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/shipped"
)

// TestComponentsAreWhatShips: internal/components, from which the fleet,
// the benchmarks and the tests name the components, lists exactly the
// binaries that config/default ships and the Makefile builds, each as it
// ships: its kustomization and image in config/default, its Deployment
// and ServiceAccount, its webhooks, and its part at the hub.
func TestComponentsAreWhatShips(t *testing.T) {
	objs := index(t, build(t))
	hub := buildAt(t, "hub")
	ids := memberIdentities(t, "member-x")
	def := readKustomization(t, "default")
	hubResources := readKustomization(t, "hub").Resources

	deployments := 0
	for key := range objs {
		if strings.HasPrefix(key, "Deployment/") {
			deployments++
		}
	}
	if deployments != len(components.All) {
		t.Errorf("config/default ships %d Deployments, internal/components lists %d components", deployments, len(components.All))
	}
	mains, err := filepath.Glob("../*/*/main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mains {
		folder, _ := filepath.Rel("..", filepath.Dir(m))
		listed := func(c components.Component) bool { return c.Folder == folder }
		if top := filepath.Dir(folder); top != "hack" && !slices.ContainsFunc(components.All, listed) && !slices.ContainsFunc(components.AtHub, listed) {
			t.Errorf("%s is a binary (the Makefile builds it) missing from internal/components", folder)
		}
	}

	for _, c := range components.All {
		t.Run(c.Folder, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join("..", c.Folder, "main.go")); err != nil {
				t.Errorf("no binary: %v", err)
			}
			if !slices.Contains(def.Resources, "../../"+c.Folder+"/config") {
				t.Errorf("config/default does not include ../../%s/config", c.Folder)
			}
			if !slices.ContainsFunc(def.Images, func(i image) bool { return i.Name == c.Image() }) {
				t.Errorf("config/default does not tag image %s", c.Image())
			}
			u := objs["Deployment/"+fleet.Namespace+"/"+c.Deployment]
			if u == nil {
				t.Fatalf("config/default ships no Deployment %s", c.Deployment)
			}
			d := &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, d); err != nil {
				t.Fatal(err)
			}
			pod := d.Spec.Template.Spec
			if pod.ServiceAccountName != c.Deployment {
				t.Errorf("runs as ServiceAccount %s, want %s", pod.ServiceAccountName, c.Deployment)
			}
			if got := shipped.Binary(pod.Containers[0].Image); got != c.Binary() {
				t.Errorf("image %s runs binary %s, want %s", pod.Containers[0].Image, got, c.Binary())
			}
			_, err := os.Stat(filepath.Join("..", c.Folder, "config", "webhook", "manifests.yaml"))
			if webhooks := err == nil; webhooks != c.Webhook {
				t.Errorf("has webhook configurations: %v, listed as a webhook: %v", webhooks, c.Webhook)
			}
			atHub := slices.Contains(hubResources, "../../"+c.Folder+"/config/hub")
			ownRole := c.Hub != nil && c.Hub.Role != components.ReportRole
			if atHub != ownRole {
				t.Errorf("config/hub includes its config/hub: %v, listed with a hub role of its own: %v", atHub, ownRole)
			}
			if c.Hub == nil {
				return
			}
			if hub["ClusterRole//"+c.Hub.Role] == nil {
				t.Errorf("config/hub has no ClusterRole %s", c.Hub.Role)
			}
			if ids["ServiceAccount/"+fleet.HubNamespace+"/"+c.Hub.Account("member-x")] == nil {
				t.Errorf("config/hub/member mints no ServiceAccount %s", c.Hub.Account("member-x"))
			}
			if !slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == c.Hub.Secret }) {
				t.Errorf("the Deployment mounts no Secret %s (its hub kubeconfig)", c.Hub.Secret)
			}
		})
	}
}

// kustomization is what these tests read of a kustomization.yaml.
type kustomization struct {
	Resources []string
	Images    []image
}

type image struct{ Name string }

func readKustomization(t *testing.T, dir string) kustomization {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	return k
}
