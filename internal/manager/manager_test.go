package manager

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllertest"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// flags registers the shared flags once: they live on the default FlagSet.
var flags = Flags("atrium-test", "0", "0", false)

func TestMemberClientsAreLimitedByDefault(t *testing.T) {
	if flags.QPS != DefaultQPS || flags.Burst != DefaultBurst {
		t.Fatalf("defaults: --kube-api-qps %v, --kube-api-burst %d", flags.QPS, flags.Burst)
	}
	// The manager's own config, built as every binary builds it.
	setKubeconfig(t)
	mgr, err := flags.NewManager(ctrl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := mgr.GetConfig(); cfg.QPS != DefaultQPS || cfg.Burst != DefaultBurst {
		t.Fatalf("manager config: QPS %v, Burst %d", cfg.QPS, cfg.Burst)
	}
}

func TestLimitFlags(t *testing.T) {
	for _, tc := range []struct {
		qps       float64
		burst     int
		wantQPS   float32
		wantBurst int
	}{
		{qps: 100, burst: 300, wantQPS: 100, wantBurst: 300},
		{qps: 100, burst: 0, wantQPS: 100, wantBurst: 1},
		// Off: negative for client-go, which would read 0 as 5 a second.
		{qps: 0, burst: 10, wantQPS: -1, wantBurst: 0},
		{qps: -1, burst: 10, wantQPS: -1, wantBurst: 0},
	} {
		o := &Options{QPS: tc.qps, Burst: tc.burst}
		c := &rest.Config{}
		o.limit(c)
		if c.QPS != tc.wantQPS || c.Burst != tc.wantBurst {
			t.Errorf("--kube-api-qps=%v --kube-api-burst=%d: QPS %v, Burst %d", tc.qps, tc.burst, c.QPS, c.Burst)
		}
	}
}

func TestInformersSynced(t *testing.T) {
	nsInformer := controllertest.NewFakeInformer()
	c := &informertest.FakeInformers{Scheme: Scheme(), InformersByGVK: map[schema.GroupVersionKind]toolscache.SharedIndexInformer{
		corev1.SchemeGroupVersion.WithKind("Namespace"): nsInformer,
	}}
	ready, err := InformersSynced(context.Background(), c, &corev1.Namespace{}, &tenancyv1.Project{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ready(nil); err == nil {
		t.Fatal("ready before the Namespace cache was filled")
	} else if want := "cache of Namespace not filled yet"; err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	nsInformer.Synced()
	if err := ready(nil); err != nil {
		t.Fatal(err)
	}
}

// A binary is ready once its cache is filled, and stays ready.
func TestCacheSynced(t *testing.T) {
	synced := false
	ready := CacheSynced(&informertest.FakeInformers{Scheme: Scheme(), Synced: &synced})
	req := httptest.NewRequest(http.MethodGet, "/readyz", nil)
	if err := ready(req); err == nil {
		t.Fatal("ready before the cache was filled")
	}
	synced = true
	if err := ready(req); err != nil {
		t.Fatal(err)
	}
	synced = false
	if err := ready(req); err != nil {
		t.Fatalf("not ready again after it was: %v", err)
	}
}

// setKubeconfig points KUBECONFIG at a kubeconfig of a server nothing
// listens on, to build a manager from as every binary does; nothing is
// sent to it.
func setKubeconfig(t *testing.T) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	kc.AuthInfos["c"] = &clientcmdapi.AuthInfo{Token: "t"}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "c"}
	kc.CurrentContext = "c"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", path)
}

// The container's limit gives the runtime a soft limit below it; an
// explicit GOMEMLIMIT, a missing or malformed variable leave the runtime's
// own alone.
func TestSetMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	for _, tc := range []struct {
		name       string
		env        string
		gomemlimit bool
		want       int64
	}{
		{"from the container's limit", "1073741824", false, 966367641},
		{"GOMEMLIMIT wins", "1073741824", true, 0},
		{"missing", "", false, 0},
		{"not a number", "1Gi", false, 0},
		{"zero", "0", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			t.Setenv(MemoryLimitEnv, tc.env)
			if tc.gomemlimit {
				t.Setenv("GOMEMLIMIT", "2GiB")
			} else {
				t.Setenv("GOMEMLIMIT", "")
				os.Unsetenv("GOMEMLIMIT")
			}
			if got := SetMemoryLimit(); got != tc.want {
				t.Fatalf("SetMemoryLimit() = %d, want %d", got, tc.want)
			}
			want := tc.want
			if want == 0 {
				want = math.MaxInt64
			}
			if got := debug.SetMemoryLimit(-1); got != want {
				t.Fatalf("the runtime's limit is %d, want %d", got, want)
			}
		})
	}
}
