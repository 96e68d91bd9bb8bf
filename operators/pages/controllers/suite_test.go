package controllers_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	"github.com/atrium-dev/atrium/internal/gitlabfake"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/sources"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/pages/controllers"
	"github.com/atrium-dev/atrium/operators/pages/gitlab"
)

var (
	env      *testenv.Env
	gl       *gitlabfake.Server
	botToken string
	// logs holds everything the operator logged.
	logs testenv.LogBuffer
	// dnsDown stops the stand-in DNS from answering, as if the DNS
	// operator had not published the verification record yet.
	dnsDown sync.Mutex
	down    bool
)

const (
	resync  = 3 * time.Second
	timeout = 30 * time.Second
	front   = "pages.gitlab.example.test"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(&logs), zap.Level(zapcore.DebugLevel)))
	var err error
	if env, err = testenv.Start(testenv.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	gl = gitlabfake.Start(gitlabfake.WithResolver(verificationRecords))
	defer gl.Close()
	if err := seed(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stop, err := startOperator()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	return m.Run()
}

// seed makes the GitLab of the tests: alice owns alice/homepage and is a
// Maintainer of physics/atlas-site through the group, bob a Developer,
// and carol's project holds atlas.web.example.test.
func seed() error {
	var bot gitlabfake.User
	bot, botToken = gl.AddUser("atrium-pages-bot", true)
	_ = bot
	for _, u := range []string{"alice", "bob", "carol", "mallory"} {
		gl.AddUser(u, false)
	}
	if _, err := gl.AddGroup("physics"); err != nil {
		return err
	}
	if err := gl.AddGroupMember("physics", "alice", gitlabfake.Maintainer); err != nil {
		return err
	}
	if err := gl.AddGroupMember("physics", "bob", gitlabfake.Developer); err != nil {
		return err
	}
	for _, p := range [][3]string{{"alice", "homepage", "public"}, {"physics", "atlas-site", "private"}, {"carol", "atlas-mirror", "public"}, {"alice", "blog", "public"}, {"physics", "cms-site", "private"}} {
		if _, err := gl.AddProject(p[0], p[1], gitlabfake.Visibility(p[2])); err != nil {
			return err
		}
	}
	_, err := gl.AddDomain("carol/atlas-mirror", "atlas.web.example.test")
	return err
}

// verificationRecords stands in for the fleet's DNS: it answers the TXT
// record the DNS operator publishes from each site's status.
func verificationRecords(ctx context.Context, name string) ([]string, error) {
	dnsDown.Lock()
	d := down
	dnsDown.Unlock()
	if d {
		return nil, fmt.Errorf("no such host")
	}
	list := &pagesv1.GitLabPagesSiteList{}
	if err := env.Client.List(ctx, list); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range list.Items {
		if v := s.Status.Verification; v != nil && v.Code != "" && strings.TrimSuffix(name, ".") == sources.VerificationRecordPrefix+s.Spec.Hostname {
			out = append(out, "gitlab-pages-verification-code="+v.Code)
		}
	}
	return out, nil
}

// startOperator runs the operator as its shipped ServiceAccount, with its
// shipped ClusterRole.
func startOperator() (func(), error) {
	ctx := context.Background()
	manifests, err := shipped.Build(env.Root, "operators/pages/controllers/testdata")
	if err != nil {
		return nil, err
	}
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metaName("atrium-system")}); err != nil {
		return nil, err
	}
	if err := shipped.InstallRBAC(ctx, env, manifests); err != nil {
		return nil, err
	}
	kubeconfig, err := env.ServiceAccountKubeConfig("atrium-system", "atrium-pages")
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	// The cache main.go gives the operator, so that every test runs on
	// what it keeps of each object.
	cacheOpts, err := controllers.CacheOptions()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Cache: cacheOpts,
	})
	if err != nil {
		return nil, err
	}
	api, err := gitlab.New(gitlab.Config{URL: gl.URL, Token: botToken, Timeout: 2 * time.Second, QPS: 200, Burst: 200})
	if err != nil {
		return nil, err
	}
	recorder, err := manager.EventRecorder(mgr, "atrium-pages")
	if err != nil {
		return nil, err
	}
	r := &controllers.SiteReconciler{
		Client: &countingClient{Client: mgr.GetClient()}, Secrets: mgr.GetAPIReader(),
		// Owners' roles are read once for the whole suite, so that
		// the resync test counts only what a resync reads.
		State:      &controllers.State{GitLab: api, Fresh: resync, AccessFresh: time.Hour},
		Identities: controllers.Identities{Users: map[string]string{"dave@example.org": "alice"}},
		Front:      controllers.Front{Host: front, Port: 443},
		Recorder:   recorder,
		Resync:     resync, VerifyAfter: 300 * time.Millisecond, MinBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second,
	}
	if err := r.SetupWithManager(mgr, 4); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "pages operator stopped: %v\n", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// countingClient counts the operator's writes of objects (not of status)
// by kind, namespace and name.
type countingClient struct{ client.Client }

var written = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func count(obj client.Object) {
	written.Lock()
	defer written.Unlock()
	written.n[fmt.Sprintf("%T %s/%s", obj, obj.GetNamespace(), obj.GetName())]++
}

// writesOf is how many times the operator wrote the object.
func writesOf(obj client.Object) int {
	written.Lock()
	defer written.Unlock()
	return written.n[fmt.Sprintf("%T %s/%s", obj, obj.GetNamespace(), obj.GetName())]
}

func (c *countingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	count(obj)
	return c.Client.Create(ctx, obj, opts...)
}

func (c *countingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	count(obj)
	return c.Client.Update(ctx, obj, opts...)
}

func (c *countingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	count(obj)
	return c.Client.Patch(ctx, obj, patch, opts...)
}

func (c *countingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	count(obj)
	return c.Client.Delete(ctx, obj, opts...)
}
