// Command devfleet is `make run`: it starts a local fleet from bin/ (a hub
// and two members, each etcd, kube-apiserver and kube-controller-manager)
// with BIND9 when installed, installs config/overlays/member on every member and
// runs each component from its shipped Deployment (arguments, environment,
// mounted Secrets, ServiceAccount, replicas) as local processes, applies the
// examples, prints where to look, and stays up until Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/internal/bind"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/gitlabfake"
	"github.com/atrium-dev/atrium/internal/openstackfake"
	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// exampleUser creates the example Projects, so that admission makes them
// owner as it would for a real user.
const exampleUser = "alice"

func main() {
	stateDir := flag.String("state-dir", ".devfleet", "Where kubeconfigs and component logs go.")
	flag.Parse()
	// The control planes' own messages, errors only (the components log
	// to their files); without a logger controller-runtime prints a stack.
	testenv.SetupLogging()
	if err := run(*stateDir); err != nil {
		fmt.Fprintln(os.Stderr, "devfleet:", err)
		os.Exit(1)
	}
}

func run(stateDir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	state := filepath.Join(root, stateDir)
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}

	dnsSettings, dnsHint, stopDNS, err := startDNS(ctx, state)
	if err != nil {
		return err
	}
	defer stopDNS()
	gitlab, err := startGitLab(root, dnsSettings.config["server"])
	if err != nil {
		return err
	}
	defer gitlab.Close()
	cloud, cloudProject, handedOver := startOpenStack()
	defer cloud.Close()

	step("building the components, starting the hub with docs/examples/hub (the fleet's domain policy) and two members (etcd, kube-apiserver, kube-controller-manager each; member-2 with the example tiers), running every component from its Deployment in config/overlays/member")
	var members []fleet.MemberOptions
	for i, name := range []string{"member-1", "member-2"} {
		// No ingress controller runs here: each member's ingress front is a
		// documentation address, published for hostnames whose objects'
		// status names none.
		settings := maps.Clone(dnsSettings.config)
		settings["default-targets"] = fmt.Sprintf("192.0.2.%d", i+1)
		credID, credSecret := cloud.AddApplicationCredential(cloudProject, name+"-volumes")
		mo := fleet.MemberOptions{
			Name: name,
			ConfigMaps: map[string]map[string]string{
				"atrium-dns":     settings,
				"atrium-pages":   {"gitlab-url": gitlab.URL, "pages-front": pagesFront},
				"atrium-volumes": {"cloud": "atrium-dev", "default-availability-zone": "nova"},
			},
			Secrets: map[string]map[string][]byte{
				"atrium-dns-credentials":     dnsSettings.credentials,
				"atrium-pages-credentials":   {"token": []byte(pagesBotToken)},
				"atrium-volumes-credentials": {"clouds.yaml": []byte(cloud.CloudsYAML("atrium-dev", credID, credSecret))},
			},
		}
		// member-1's tiers come with the other examples (applyExamples).
		if i > 0 {
			mo.Objects = fleet.ExampleTiers
		}
		members = append(members, mo)
	}
	fl, err := fleet.Start(ctx, fleet.Options{
		Kustomization: fleet.DefaultKustomization,
		Dir:           state,
		HubObjects:    []string{"docs/examples/hub"},
		Members:       members,
		// Stand-ins for the Route, HTTPRoute and DNSEndpoint APIs, so they
		// can be tried locally.
		ExtraCRDs: []string{testenv.StandInCRDs},
		// A component that exits before Ctrl-C stops the fleet, so a broken
		// build is noticed rather than half-running.
		OnExit: func(p *procs.Process, err error) {
			fmt.Fprintf(os.Stderr, "%s exited: %v; last lines of %s:\n%s\n", p.Name, err, p.LogPath, p.Tail(20))
			cancel()
		},
	})
	if err != nil {
		return err
	}
	defer func() { step("stopping the fleet"); fl.Stop() }()
	hubKubeconfig, err := writeFile(state, "hub.kubeconfig", fl.Hub.KubeConfig())
	if err != nil {
		return err
	}
	var kubeconfigs []string
	for _, m := range fl.Members {
		k, err := writeFile(state, m.Name+".kubeconfig", m.Env.KubeConfig())
		if err != nil {
			return err
		}
		kubeconfigs = append(kubeconfigs, k)
		for _, p := range m.Components.Processes() {
			fmt.Printf("    %s (pid %d), log %s\n", p.Name, p.Pid(), p.LogPath)
		}
	}
	firstMember := fl.Members[0].Env

	step("applying docs/examples to member-1")
	if err := applyExamples(ctx, firstMember, filepath.Join(root, "docs", "examples")); err != nil {
		return err
	}

	fmt.Printf(`
Atrium is running: a hub and two members. Ctrl-C stops it.

  kubeconfigs (cluster admin):  hub     %[1]s
                                member-1 %[2]s
                                member-2 %[3]s
  kubectl:                      %[4]s/bin/kubectl
  component logs:               %[5]s/<cluster>-<deployment>-<replica>.log

  What runs where (every component reports to its MemberCluster at the hub;
  docs/fleet-status.md):
    kubectl --kubeconfig %[1]s get memberclusters
    kubectl --kubeconfig %[1]s get mc member-1 -o yaml

  Look around member-1:
    export KUBECONFIG=%[2]s
    kubectl get projecttiers
    kubectl get proj -o wide                # proj: Atrium's Projects, also on OKD
    kubectl describe proj my-website
    kubectl get all,ingress,rolebindings,resourcequota,limitrange,networkpolicy -n my-website

  Act as a casual user (impersonation, the way a login would look):
    kubectl --as=carol --as-group=system:authenticated create -f - <<EOF
    apiVersion: tenancy.atrium.dev/v1alpha1
    kind: Project
    metadata: {name: carols-lab}
    EOF
    kubectl --as=carol --as-group=system:authenticated get proj carols-lab -w   # Ctrl-C once READY is True
    kubectl --as=carol --as-group=system:authenticated get myprojects            # carol's Projects, and only hers
    kubectl --as=carol --as-group=system:authenticated -n carols-lab create configmap hello
    kubectl --as=dave --as-group=system:authenticated -n carols-lab get configmaps   # refused
    kubectl --as=carol --as-group=system:authenticated delete proj carols-lab        # returns once it is all gone

  DNS: every admitted hostname is published in the fleet's zone by its cluster:
%[6]s
    kubectl --kubeconfig %[1]s get hostnameclaims      # the DNS column

  GitLab Pages: the example site publishes alice/homepage from a GitLab fake at %[7]s
  (seeded from docs/examples/gitlab/seed.yaml; its users' tokens are there):
    kubectl get pages -n my-website                   # Ready once GitLab has verified the domain
    kubectl describe gitlabpagessite homepage -n my-website
    curl -s -H 'PRIVATE-TOKEN: atrium-dev-alice-token' %[7]s/api/v4/projects/alice%%2Fhomepage/pages/domains
    kubectl --as=bob --as-group=system:authenticated -n my-website create -f - <<EOF
    apiVersion: pages.atrium.dev/v1alpha1
    kind: GitLabPagesSite
    metadata: {name: atlas}
    spec: {project: physics/atlas-site, hostname: atlas.web.atrium.test}
    EOF
    kubectl get pages atlas -n my-website             # DomainTaken: carol's GitLab project holds the domain
    kubectl --as=carol --as-group=system:authenticated -n carols-lab create -f - <<EOF   # carol, in a Project of hers (carols-lab, as above)
    apiVersion: pages.atrium.dev/v1alpha1
    kind: GitLabPagesSite
    metadata: {name: borrowed}
    spec: {project: alice/homepage, hostname: home.carols-lab.web.atrium.test}
    EOF
    kubectl get pages borrowed -n carols-lab          # NotMaintainer: carol is no Maintainer of alice/homepage

  OpenStack volumes: the example OpenStackVolume gets a Cinder volume from an OpenStack fake at %[8]s
  (volumes take 2s to create) and a bound claim:
    kubectl get osv,pvc -n my-website                 # data: Bound, its claim "data" Bound
    kubectl --as=alice --as-group=system:authenticated -n my-website patch osv data --type=merge -p '{"spec":{"sizeGiB":12}}'   # grows
    kubectl --as=alice --as-group=system:authenticated -n my-website patch osv data --type=merge -p '{"spec":{"sizeGiB":5}}'    # refused: no shrink
    kubectl --as=alice --as-group=system:authenticated -n my-website delete pvc data       # refused: the claim goes with its OpenStackVolume
    kubectl --as=alice --as-group=system:authenticated -n my-website create -f - <<EOF     # an admin handed old-data (%[9]s) to my-website: adopt it
    apiVersion: storage.atrium.dev/v1alpha1
    kind: OpenStackVolume
    metadata: {name: old-data}
    spec: {sizeGiB: 2, source: {volumeID: %[9]s}}
    EOF
    kubectl --as=alice --as-group=system:authenticated -n my-website delete osv old-data   # kept in Cinder (Retain), marked released
    kubectl get cm atrium-volumes-orphans -n atrium-system -o jsonpath='{.data.orphans\.yaml}'   # volumes nobody holds (the report runs every 10 min, the first a minute after start)

  Hostnames belong to one tenant across the fleet, in the domains the fleet's policy grants:
    kubectl --kubeconfig %[1]s get hostnameclaims,domainpolicies
    kubectl --kubeconfig %[3]s --as=eve --as-group=system:authenticated create -f - <<EOF
    apiVersion: tenancy.atrium.dev/v1alpha1
    kind: Project
    metadata: {name: copycat}
    EOF
    kubectl --kubeconfig %[3]s --as=eve --as-group=system:authenticated -n copycat create ingress copy --rule="www.my-website.web.atrium.test/=svc:80"   # refused: member-1 holds it
    kubectl --kubeconfig %[3]s create namespace outsider
    kubectl --kubeconfig %[3]s -n outsider create ingress site --rule="www.outsider.web.atrium.test/=svc:80"   # refused: the tenants' domain is for Projects

`, hubKubeconfig, kubeconfigs[0], kubeconfigs[1], root, fl.LogDir, dnsHint, gitlab.URL, cloud.URL, handedOver)
	<-ctx.Done()
	return nil
}

// pagesFront is where the members' Pages sites are routed, and
// pagesBotToken the seed's token of the Pages bot (a dev value).
const (
	pagesFront    = "pages.gitlab.atrium.test"
	pagesBotToken = "atrium-dev-pages-bot-token"
)

// startOpenStack starts the OpenStack fake the members' volumes operators
// use: one project for the fleet, volumes that take two seconds to create
// (so `kubectl get osv -w` shows them going), and a volume an OpenStack
// admin handed to my-website (metadata atrium.dev/adoptable-by), ready to
// be adopted.
func startOpenStack() (*openstackfake.Server, string, string) {
	step("starting an OpenStack fake (internal/openstackfake: Keystone and Cinder), one project for the fleet")
	cloud := openstackfake.Start(openstackfake.WithSettleReads(-1), openstackfake.WithSettleAfter(2*time.Second))
	project := cloud.AddProject("atrium-dev")
	cloud.AddVolumeType("standard")
	cloud.AddVolumeType("fast") // the large example tier offers these two
	id := cloud.AddVolume(project, openstackfake.VolumeSeed{Name: "old-data", Size: 2, Metadata: map[string]string{
		storagev1.MetaAdoptableBy: "member-1/my-website",
	}})
	return cloud, project, id
}

// startGitLab starts the GitLab fake seeded from docs/examples/gitlab,
// verifying Pages domains against the fleet's name server (when BIND runs).
func startGitLab(root, dnsServer string) (*gitlabfake.Server, error) {
	step("starting a GitLab fake (internal/gitlabfake) seeded from docs/examples/gitlab/seed.yaml")
	var opts []gitlabfake.Option
	if dnsServer != "" {
		opts = append(opts, gitlabfake.WithDNSServer(dnsServer))
	}
	gl := gitlabfake.Start(opts...)
	if err := gl.LoadSeed(filepath.Join(root, "docs", "examples", "gitlab", "seed.yaml")); err != nil {
		gl.Close()
		return nil, err
	}
	return gl, nil
}

// dnsZones are the zones the example tiers allow hostnames in.
var dnsZones = []string{"web.atrium.test", "apps.atrium.test"}

// dnsSettings are what every member's atrium-dns ConfigMap and
// atrium-dns-credentials Secret hold.
type dnsSettings struct {
	config      map[string]string
	credentials map[string][]byte
}

// startDNS starts BIND9 for the fleet's zones when it is installed and
// returns the DNS operators' settings, what to print about it, and how to
// stop it. Without BIND the operators keep records in memory.
func startDNS(ctx context.Context, state string) (dnsSettings, string, func(), error) {
	zones := strings.Join(dnsZones, ",")
	if !bind.Installed() {
		return dnsSettings{config: map[string]string{"provider": "inmemory", "zone": zones}},
			"    (named is not installed, so records live in the DNS operators' memory; `make tools` installs BIND9)", func() {}, nil
	}
	step("starting BIND9 for " + strings.Join(dnsZones, ", "))
	// The fleet's clusters are new on every run, so its zones are too:
	// records a previous run left would belong to clusters that are gone.
	dir := filepath.Join(state, "bind")
	if err := os.RemoveAll(dir); err != nil {
		return dnsSettings{}, "", nil, err
	}
	srv, err := bind.Start(ctx, bind.Options{Zones: dnsZones, Dir: dir})
	if err != nil {
		return dnsSettings{}, "", nil, err
	}
	settings := dnsSettings{
		config:      map[string]string{"provider": "rfc2136", "zone": zones, "server": srv.Addr, "tsig-key-name": srv.KeyName},
		credentials: map[string][]byte{"tsig-secret": []byte(srv.KeySecret)},
	}
	return settings, lookupHint(srv.Port), func() { step("stopping BIND9"); _ = srv.Close() }, nil
}

// lookupHint says how to query the fleet's name server with the tools this
// machine has: dig (Debian's bind9-dnsutils, which `make tools` installs
// with BIND), else host, else how to get dig.
func lookupHint(port int) string {
	names := [][2]string{
		{"www.my-website.web.atrium.test", "A"},
		{"blog.my-website.web.atrium.test", "CNAME"},
		{"_atrium-a.www.my-website.web.atrium.test", "TXT"},
	}
	notes := []string{"# the example Ingress", "# the example DNSEndpoint", "# who owns the record"}
	var lines []string
	for i, n := range names {
		switch {
		case commandExists("dig"):
			lines = append(lines, fmt.Sprintf("    dig @127.0.0.1 -p %d %s %s   %s", port, n[0], n[1], notes[i]))
		case commandExists("host"):
			lines = append(lines, fmt.Sprintf("    host -p %d -t %s %s 127.0.0.1   %s", port, n[1], n[0], notes[i]))
		}
	}
	if len(lines) == 0 {
		return fmt.Sprintf("    (no dig here: `apt-get install bind9-dnsutils`, then dig @127.0.0.1 -p %d www.my-website.web.atrium.test)", port)
	}
	return strings.Join(lines, "\n")
}

func commandExists(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

func writeFile(dir, name string, b []byte) (string, error) {
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, b, 0o600)
}

func step(msg string) { fmt.Printf("==> %s\n", msg) }

// applyExamples creates every example: tiers and other cluster-scoped
// objects as the admin, then Projects and the objects inside them as
// exampleUser, the way a casual user would.
func applyExamples(ctx context.Context, env *testenv.Env, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	user, err := env.ClientAs(exampleUser)
	if err != nil {
		return err
	}
	var projects, namespaced []*unstructured.Unstructured
	for _, f := range files {
		objs, err := testenv.ReadObjects(f)
		if err != nil {
			return err
		}
		for _, u := range objs {
			switch {
			case u.GetKind() == "Project":
				projects = append(projects, u)
			case u.GetNamespace() != "":
				namespaced = append(namespaced, u)
			default:
				if err := env.Client.Create(ctx, u); err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				fmt.Printf("    %s %s created\n", strings.ToLower(u.GetKind()), u.GetName())
			}
		}
	}
	for _, u := range append(projects, namespaced...) {
		// Retried while caches catch up: the webhook's with the tiers just
		// created, the Project's namespace and RBAC with the operator.
		if err := createWithRetry(ctx, user, u); err != nil {
			return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		fmt.Printf("    %s %s created as %s\n", strings.ToLower(u.GetKind()), u.GetName(), exampleUser)
	}
	return nil
}

// createWithRetry retries while the webhook's cache catches up with the
// tiers just created.
func createWithRetry(ctx context.Context, c client.Client, u *unstructured.Unstructured) error {
	return testenv.Eventually(ctx, 30*time.Second, func() error {
		return c.Create(ctx, u.DeepCopy())
	})
}
