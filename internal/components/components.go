package components

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Component is one of Atrium's binaries as config/default ships it: one
// folder, one Deployment. What it reads per member (its ConfigMap, its
// credentials' Secret) is not listed here: the admin's settings are
// ConfigMaps and Secrets by name, whatever the component (see
// fleet.MemberOptions), so a new component's settings need no new field.
type Component struct {
	// Folder holds the binary's main package and its kustomization,
	// <Folder>/config, which config/default includes. The image is named
	// after it (Image), and so is the binary (Binary).
	Folder string
	// Deployment is the name of its Deployment and of the ServiceAccount
	// it runs as, in atrium-system.
	Deployment string
	// Webhook says it serves admission webhooks, whose configurations
	// controller-gen writes into <Folder>/config/webhook/manifests.yaml
	// (what testenv.Options.Webhooks installs for a component run in a
	// test's process).
	Webhook bool
	// Hub is what it needs at the hub: every member component reaches it,
	// at least to report to its MemberCluster (internal/report).
	Hub *Hub
}

// Hub is a component's part at the hub: one identity per member, minted
// from config/hub/member and bound to a hub role of config/hub, whose
// kubeconfig the member's Deployment mounts from a Secret.
type Hub struct {
	// Identity names the ServiceAccount of atrium-fleet that a member's
	// component acts as: <cluster>-<Identity> (Account). The hub's policies
	// read the cluster from that name.
	Identity string
	// Role is the hub ClusterRole the identity is bound to, generated from
	// <Folder>/hubrbac into <Folder>/config/hub, or ReportRole for the
	// components that reach the hub only to report to their MemberCluster.
	Role string
	// Secret is the member's Secret in atrium-system holding the
	// identity's kubeconfig (key kubeconfig), which the Deployment mounts.
	Secret string
}

// ReportRole is the hub role of the components that reach the hub only to
// report (internal/report/hubrbac, generated into config/hub/report).
const ReportRole = "atrium-hub-report"

// reporter is the part at the hub of a component that only reports.
func reporter(identity, secret string) *Hub {
	return &Hub{Identity: identity, Role: ReportRole, Secret: secret}
}

// Atrium's components. A new one is a variable here, an entry in All, and
// its kustomization in config/default; config/components_test.go checks
// that the list and what ships agree.
var (
	Projects = Component{Folder: "operators/projects", Deployment: "atrium-projects",
		Hub: reporter("projects", "atrium-projects-hub-kubeconfig")}
	DNS = Component{Folder: "operators/dns", Deployment: "atrium-dns",
		Hub: &Hub{Identity: "dns", Role: "atrium-hub-dns", Secret: "atrium-dns-hub-kubeconfig"}}
	ProjectsWebhook = Component{Folder: "webhooks/projects", Deployment: "atrium-projects-webhook", Webhook: true,
		Hub: reporter("projects-webhook", "atrium-projects-webhook-hub-kubeconfig")}
	Hostnames = Component{Folder: "webhooks/hostnames", Deployment: "atrium-hostnames", Webhook: true,
		Hub: &Hub{Identity: "hostnames", Role: "atrium-hub-hostnames", Secret: "atrium-hub-kubeconfig"}}
	MyProjects = Component{Folder: "apiservers/myprojects", Deployment: "atrium-myprojects",
		Hub: reporter("myprojects", "atrium-myprojects-hub-kubeconfig")}
	Pages = Component{Folder: "operators/pages", Deployment: "atrium-pages",
		Hub: reporter("pages", "atrium-pages-hub-kubeconfig")}
	Volumes = Component{Folder: "operators/volumes", Deployment: "atrium-volumes",
		Hub: reporter("volumes", "atrium-volumes-hub-kubeconfig")}
)

// All are every component of a member.
var All = []Component{Projects, DNS, ProjectsWebhook, Hostnames, MyProjects, Pages, Volumes}

// Fleet is the hub's own component (config/hub ships it, in the hub's
// atrium-system): it turns the members' reports into each MemberCluster's
// conditions and summary.
var Fleet = Component{Folder: "operators/fleet", Deployment: "atrium-fleet"}

// AtHub are the components that run at the hub.
var AtHub = []Component{Fleet}

// ByDeployment is the component a shipped Deployment runs.
func ByDeployment(name string) (Component, error) {
	for _, c := range append(All[:len(All):len(All)], AtHub...) {
		if c.Deployment == name {
			return c, nil
		}
	}
	return Component{}, fmt.Errorf("Deployment %s runs no component of internal/components", name)
}

// Image is the component's image without registry or tag, as
// config/default's images name it.
func (c Component) Image() string { return "atrium/" + c.dashed() }

// Binary is the file name of the component's binary; `make build` and
// internal/shipped (from the image) name it alike.
func (c Component) Binary() string { return "atrium-" + c.dashed() }

func (c Component) dashed() string { return strings.ReplaceAll(c.Folder, "/", "-") }

// Account is the name of the component's identity at the hub for one
// member cluster.
func (h *Hub) Account(cluster string) string { return cluster + "-" + h.Identity }

// Build builds the components' binaries into dir, each named as Binary
// says, from the repository at root.
func Build(root, dir string, cs ...Component) error {
	return BuildWithLDFlags(root, dir, "", cs...)
}

// BuildWithLDFlags builds as Build does, with go build -ldflags ldflags
// (none when empty).
func BuildWithLDFlags(root, dir, ldflags string, cs ...Component) error {
	for _, c := range cs {
		args := []string{"build", "-o", filepath.Join(dir, c.Binary())}
		if ldflags != "" {
			args = append(args, "-ldflags", ldflags)
		}
		cmd := exec.Command("go", append(args, "./"+c.Folder)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", c.Folder, err, out)
		}
	}
	return nil
}
