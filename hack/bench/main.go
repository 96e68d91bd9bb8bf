// Command bench is `make bench`: it measures Atrium against the floors of
// the real servers it drives and writes the figures into docs/benchmarks.md.
// Each benchmark owns one section of that file, between markers, so
// benchmarks can be run and rewritten one at a time.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/atrium-dev/atrium/internal/manager"
)

type benchmark struct {
	name string
	run  func(cfg config) (string, error)
}

type config struct {
	// out is the report being rewritten.
	out      string
	projects int
	// projectsMemoryOnly skips the Projects floor (for a memory run at a
	// larger count); operatorProfiles is where the operator's heap
	// profiles go.
	projectsMemoryOnly bool
	operatorProfiles   string
	operatorGOGC       string
	operatorWatchList  bool
	clients            int
	concurrency        int
	hostnames          int
	// dnsMemory is how many claimed Ingresses the DNS benchmark's memory
	// part puts in the cluster (0 leaves the part out).
	dnsMemory int
	// ingresses are the sizes of the hostnames benchmark's end-to-end
	// runs; inProcess runs its in-process and Gatekeeper parts too.
	ingresses []int
	inProcess bool
	// sameHub are the hub topologies of each end-to-end run: false, a
	// separate hub; true, the member its own hub.
	sameHub []bool
	// sites, pagesConcurrency and gitlabLatency size the Pages benchmark.
	sites            int
	pagesConcurrency int
	gitlabLatencies  []time.Duration
	// pagesMemory is how many sites the pages benchmark's memory part
	// puts in the cluster (0 leaves the part out).
	pagesMemory int
	// volumes … cinderQPS size the volumes benchmark.
	volumes            int
	volumeNamespaces   int
	volumesConcurrency int
	cinderInFlight     int
	cinderCreateDelay  time.Duration
	cinderLatencies    []time.Duration
	cinderQPS          float64
	stockBinder        bool
	// volumesMemory is how many OpenStackVolumes the volumes benchmark's
	// memory part puts in the cluster (0 leaves the part out).
	volumesMemory int
	// hubloadMembers … hubloadWorkers size the hub-under-a-fleet
	// benchmark: one run, on a fresh hub, per member count.
	hubloadMembers    []int
	hubloadHostnames  int
	hubloadContested  float64
	hubloadContenders int
	hubloadWorkers    int
}

// noControllerManager leaves kube-controller-manager out of the control
// planes (-no-controller-manager).
var noControllerManager bool

// apiServerProfile is where the volumes benchmark writes its API server's
// CPU profile (-apiserver-cpuprofile).
var apiServerProfile string

// memoryProfiles is where the DNS, pages and volumes benchmarks' memory parts
// write heap profiles of the operator's leader (-memory-profiles).
var memoryProfiles string

var benchmarks = []benchmark{
	{"projects", benchProjects},
	{"hostnames", benchHostnames},
	{"dns", benchDNS},
	{"pages", benchPages},
	{"volumes", benchVolumes},
	{"controlplane", benchControlPlane},
	{"hubload", benchHubload},
}

func main() {
	out := flag.String("out", "docs/benchmarks.md", "Report to update.")
	only := flag.String("only", "", "Run only the benchmark with this name.")
	projects := flag.Int("projects", 1000, "Projects to provision.")
	projectsMemoryOnly := flag.Bool("projects-memory-only", false, "Measure only the projects operator's memory, serving and after a restart, without the floor (for larger -projects; the report's ratio is from a full run at 1,000).")
	operatorProfiles := flag.String("operator-heap-profiles", "", "Write the projects operator's heap profiles (go tool pprof) into this directory: once all Projects are Ready, and after a restart once it has reconciled them all.")
	operatorGOGC := flag.String("operator-gogc", "", "GOGC of the projects operator (its default when empty), to measure the GC's share of its peak.")
	operatorWatchList := flag.Bool("operator-watch-list", false, "Run the projects operator with --watch-list-client (its caches filled from a stream, not one list), to measure what a restart's lists cost.")
	clients := flag.Int("clients", 10, "Concurrent API clients.")
	concurrency := flag.Int("concurrency", 32, "The operator's --concurrency.")
	hostnames := flag.Int("hostnames", 10000, "Hostnames the DNS operator publishes; 0 leaves the timed part out and keeps the report's figures of it.")
	dnsMemoryN := flag.Int("dns-memory", 10000, "Claimed Ingresses in the cluster for the DNS benchmark's memory part (the operator as shipped); 0 leaves it out.")
	sites := flag.Int("sites", 1000, "GitLabPagesSites to publish; 0 leaves the timed part out and keeps the report's figures of it.")
	pagesConcurrency := flag.Int("pages-concurrency", 8, "The pages operator's --concurrency (its default).")
	gitlabLatency := flag.String("gitlab-latency", "50ms,200ms", "Latencies of every request to the GitLab fake, one run each (comma-separated).")
	pagesMemory := flag.Int("pages-memory-sites", 10000, "GitLabPagesSites in the cluster for the pages benchmark's memory part (the operator as shipped); 0 leaves it out.")
	volumes := flag.Int("volumes", 500, "OpenStackVolumes to provision; 0 leaves the timed part out and keeps the report's figures of it.")
	volumesMemory := flag.Int("volumes-memory", 10000, "OpenStackVolumes in the cluster for the volumes benchmark's memory part (the operator as shipped); 0 leaves it out.")
	volumeNamespaces := flag.Int("volume-namespaces", 5, "Project namespaces the OpenStackVolumes are spread over.")
	volumesConcurrency := flag.Int("volumes-concurrency", 32, "The volumes operator's --concurrency (its default).")
	cinderInFlight := flag.Int("cinder-in-flight", 8, "The volumes operator's --cinder-in-flight (its default), and the floor's requests in flight.")
	cinderCreateDelay := flag.Duration("cinder-create-delay", 2*time.Second, "How long every Cinder volume is creating.")
	cinderLatency := flag.String("cinder-latency", "50ms,200ms,500ms", "Latencies of every request to the OpenStack fake, one run each (comma-separated).")
	cinderQPS := flag.Float64("cinder-qps", 0, "The volumes operator's --cinder-qps, the floor paced alike; 0 lifts it (the report's figures).")
	stockBinder := flag.Bool("stock-binder", true, "Run the volumes benchmark once more, at the first latency, with kube-controller-manager's own client limit.")
	ingresses := flag.String("ingresses", "10000,100000", "Ingresses in the member for each end-to-end run of the hostnames benchmark (comma-separated).")
	hubs := flag.String("hubs", "separate,same", "Hub topologies of the hostnames benchmark's end-to-end runs: separate (a hub API server of its own), same (the member its own hub), or both.")
	inProcess := flag.Bool("hostnames-in-process", true, "Run the hostnames benchmark's in-process and Gatekeeper parts too; when not, the report keeps them as it has them.")
	hubloadMembers := flag.String("hubload-members", "20", "Member clusters claiming at once at one hub, one run each on a fresh hub (comma-separated).")
	hubloadHostnames := flag.Int("hubload-hostnames", 5000, "Hostnames each member claims, one Ingress create each.")
	hubloadContested := flag.Float64("hubload-contested", 0.1, "Fraction of each member's hostnames that other members ask for too.")
	hubloadContenders := flag.Int("hubload-contenders", 2, "Members asking for each contested hostname.")
	hubloadWorkers := flag.Int("hubload-workers", 2, "Admissions each member has in flight.")
	cpuProfile := flag.String("cpuprofile", "", "Write a CPU profile of the whole run here (go tool pprof).")
	flag.StringVar(&apiServerProfile, "apiserver-cpuprofile", "", "Write a CPU profile of the volumes benchmark's API server, over its first operator run, here (go tool pprof).")
	flag.StringVar(&memoryProfiles, "memory-profiles", "", "Run the DNS, pages and volumes operators of the memory parts with their pprof endpoints on and write heap profiles of each leader here, serving and after the cold start (go tool pprof); the report's figures are without.")
	flag.BoolVar(&noControllerManager, "no-controller-manager", false, "Run the control planes without kube-controller-manager (to tell its cost from the components'); the report's figures are with it.")
	flag.Parse()
	ctrl.SetLogger(logr.Discard())
	// The components' default (internal/manager), for what runs in process.
	manager.SetWatchListClient(false)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	cfg := config{out: *out, projects: *projects, projectsMemoryOnly: *projectsMemoryOnly, operatorProfiles: *operatorProfiles, operatorGOGC: *operatorGOGC, operatorWatchList: *operatorWatchList,
		clients: *clients, concurrency: *concurrency, hostnames: *hostnames, dnsMemory: *dnsMemoryN,
		sites: *sites, pagesConcurrency: *pagesConcurrency, pagesMemory: *pagesMemory,
		volumes: *volumes, volumesMemory: *volumesMemory, volumeNamespaces: *volumeNamespaces, volumesConcurrency: *volumesConcurrency, cinderInFlight: *cinderInFlight,
		cinderCreateDelay: *cinderCreateDelay, cinderQPS: *cinderQPS, stockBinder: *stockBinder,
		hubloadHostnames: *hubloadHostnames, hubloadContested: *hubloadContested, hubloadContenders: *hubloadContenders, hubloadWorkers: *hubloadWorkers}
	cfg.ingresses, cfg.inProcess = counts("-ingresses", *ingresses), *inProcess
	for _, h := range strings.Split(*hubs, ",") {
		switch strings.TrimSpace(h) {
		case "separate":
			cfg.sameHub = append(cfg.sameHub, false)
		case "same":
			cfg.sameHub = append(cfg.sameHub, true)
		default:
			fmt.Fprintf(os.Stderr, "-hubs: %q is neither separate nor same\n", h)
			os.Exit(2)
		}
	}
	cfg.gitlabLatencies = durations("-gitlab-latency", *gitlabLatency)
	cfg.cinderLatencies = durations("-cinder-latency", *cinderLatency)
	cfg.hubloadMembers = counts("-hubload-members", *hubloadMembers)
	for _, b := range benchmarks {
		if *only != "" && *only != b.name {
			continue
		}
		fmt.Printf("==> benchmark %s\n", b.name)
		section, err := b.run(cfg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchmark %s: %v\n", b.name, err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
		fmt.Println(section)
		name := b.name
		if name == "projects" && cfg.projectsMemoryOnly {
			// A memory-only run has a section of its own per count
			// and operator setting.
			name = fmt.Sprintf("projects-memory-%d", cfg.projects)
			if cfg.operatorWatchList {
				name += "-watch-list"
			}
			if cfg.operatorGOGC != "" {
				name += "-gogc-" + cfg.operatorGOGC
			}
		}
		if err := writeSection(*out, name, section); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// durations parses a comma-separated list of durations, or exits.
func durations(name, list string) []time.Duration {
	var out []time.Duration
	for _, l := range strings.Split(list, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(l))
		if err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
			os.Exit(2)
		}
		out = append(out, d)
	}
	return out
}

// counts parses a comma-separated list of positive integers, or exits.
func counts(name, list string) []int {
	var out []int
	for _, l := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(l))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "%s: %q is not a positive count\n", name, l)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

// writeSection replaces the named section of the report, or appends it.
func writeSection(path, name, body string) error {
	begin, end := "<!-- bench:"+name+" -->", "<!-- /bench:"+name+" -->"
	block := begin + "\n" + strings.TrimSpace(body) + "\n" + end
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	text := string(old)
	if text == "" {
		text = "# Benchmarks\n\nWritten by `make bench` (hack/bench). Each section is rewritten by its benchmark.\n"
	}
	re := regexp.MustCompile("(?s)" + regexp.QuoteMeta(begin) + ".*?" + regexp.QuoteMeta(end))
	if re.MatchString(text) {
		text = re.ReplaceAllLiteralString(text, block)
	} else {
		text = strings.TrimRight(text, "\n") + "\n\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// memoryHeading starts the memory part of a benchmark's section.
const memoryHeading = "\n### Memory"

// keptPart is the named section of the report as it stands, up to its
// memory part: the figures of a part not run this time, kept.
func keptPart(path, name string) (string, error) { return keptUpTo(path, name, memoryHeading) }

// keptUpTo is the named section of the report as it stands, up to heading
// (whole when it has none).
func keptUpTo(path, name, heading string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	begin, end := "<!-- bench:"+name+" -->", "<!-- /bench:"+name+" -->"
	text := string(b)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("%s has no section %s to keep", path, name)
	}
	body := text[i+len(begin) : j]
	if k := strings.Index(body, heading); k >= 0 {
		body = body[:k]
	}
	return strings.TrimSpace(body) + "\n", nil
}
