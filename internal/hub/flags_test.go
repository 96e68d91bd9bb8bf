package hub

import (
	"flag"
	"io"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func kubeconfig(t *testing.T, server string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["hub"] = &clientcmdapi.Cluster{Server: server}
	cfg.AuthInfos["hub"] = &clientcmdapi.AuthInfo{Token: "t"}
	cfg.Contexts["hub"] = &clientcmdapi.Context{Cluster: "hub", AuthInfo: "hub"}
	cfg.CurrentContext = "hub"
	path := filepath.Join(t.TempDir(), "hub.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func parse(t *testing.T, defaults Flags, args ...string) *Flags {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f := RegisterFlags(fs, defaults, "why")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFlagDefaultsAreTheComponents(t *testing.T) {
	f := parse(t, Flags{Timeout: 3 * time.Second, Limits: Limits{QPS: 200, Burst: 400}})
	if f.QPS != 200 || f.Burst != 400 || f.Timeout != 3*time.Second || f.Kubeconfig != "" {
		t.Fatalf("defaults %+v", f)
	}
}

func TestHubConfigFromKubeconfigCarriesTheLimits(t *testing.T) {
	path := kubeconfig(t, "https://hub.example:6443")
	f := parse(t, Flags{Timeout: 3 * time.Second, Limits: Limits{QPS: 200, Burst: 400}},
		"--hub-kubeconfig="+path, "--hub-qps=250.5", "--hub-burst=500", "--hub-timeout=2s")
	member := &rest.Config{Host: "https://member.example:6443", QPS: 500, Burst: 1000}
	cfg, err := f.RESTConfig(member)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://hub.example:6443" || cfg.BearerToken != "t" {
		t.Fatalf("not the hub's kubeconfig: %s", cfg.Host)
	}
	if cfg.QPS != 250.5 || cfg.Burst != 500 {
		t.Fatalf("QPS %v, Burst %d", cfg.QPS, cfg.Burst)
	}
	if cfg.RateLimiter == nil || cfg.RateLimiter.QPS() != 250.5 {
		t.Fatalf("rate limiter %v", cfg.RateLimiter)
	}
	// The direct client has the timeout and the same budget: one limiter
	// shared with the cache, not one each.
	direct := directConfig(cfg, f.Timeout)
	if direct.Timeout != 2*time.Second || direct.RateLimiter != cfg.RateLimiter {
		t.Fatalf("direct client: timeout %v, shared limiter %v", direct.Timeout, direct.RateLimiter == cfg.RateLimiter)
	}
	if cfg.Timeout != 0 {
		t.Fatalf("the cache's config has a timeout (%v): it would cut its watches", cfg.Timeout)
	}
}

func TestHubIsThisClusterGetsItsOwnLimits(t *testing.T) {
	f := parse(t, Flags{Limits: Limits{QPS: 50, Burst: 100}})
	member := &rest.Config{Host: "https://member.example:6443", QPS: 500, Burst: 1000}
	cfg, err := f.RESTConfig(member)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != member.Host || cfg.QPS != 50 || cfg.Burst != 100 || cfg.RateLimiter == nil {
		t.Fatalf("hub config %s QPS %v Burst %d", cfg.Host, cfg.QPS, cfg.Burst)
	}
	if member.QPS != 500 || member.Burst != 1000 || member.RateLimiter != nil {
		t.Fatalf("the member's config was changed: %v %d", member.QPS, member.Burst)
	}
}

func TestZeroQPSMeansNoLimit(t *testing.T) {
	f := parse(t, Flags{Limits: Limits{QPS: 50, Burst: 100}}, "--hub-qps=0")
	cfg, err := f.RESTConfig(&rest.Config{Host: "https://member.example:6443"})
	if err != nil {
		t.Fatal(err)
	}
	// client-go reads QPS 0 as its default of 5 a second; negative is none.
	if cfg.QPS >= 0 || cfg.RateLimiter != nil {
		t.Fatalf("QPS %v, limiter %v", cfg.QPS, cfg.RateLimiter)
	}
}

func TestBadKubeconfig(t *testing.T) {
	f := parse(t, Flags{}, "--hub-kubeconfig="+filepath.Join(t.TempDir(), "missing"))
	if _, err := f.RESTConfig(&rest.Config{}); err == nil {
		t.Fatal("no error for a missing kubeconfig")
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	RegisterFlags(fs, Flags{}, "")
	if err := fs.Parse([]string{"--hub-qps=fast"}); err == nil {
		t.Fatal("--hub-qps=fast accepted")
	}
}
