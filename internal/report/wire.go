package report

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/atrium-dev/atrium/internal/hub"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/skew"
)

// HubDefaults are the hub flags of a component that reaches the hub only
// to report: one request each --report-interval.
var HubDefaults = hub.Flags{Timeout: 5 * time.Second, Limits: hub.Limits{QPS: 5, Burst: 10}}

// HubWhy is --hub-qps's reason for such a component.
const HubWhy = "The component sends the hub one report every --report-interval."

// RegisterFlags registers --report-interval on fs.
func RegisterFlags(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("report-interval", DefaultInterval, "How often this component reports its version and health to its MemberCluster at the hub (docs/fleet-status.md); the hub marks it stale after --stale-after there (2m by default, 4 reports).")
}

// Wire checks, before the component starts, that the CRDs it needs are
// the schema versions it was built for (skew.Check: an error means the
// binary must not start), then adds its Reporter to mgr, reporting what
// the component's /readyz on probeAddr says.
func Wire(ctx context.Context, mgr ctrlmanager.Manager, o Options, hubCfg *rest.Config, hubTimeout time.Duration, probeAddr string, needs ...skew.Need) error {
	newer, err := skew.Inspect(ctx, mgr.GetAPIReader(), o.Component.Folder, needs...)
	if err != nil {
		return err
	}
	r, err := New(o, hubCfg, hubTimeout)
	if err != nil {
		return err
	}
	r.Notes = newer
	if r.Ready == nil {
		r.Ready = Probe(probeAddr)
	}
	return mgr.Add(r)
}

// New is a Reporter with a direct client of the hub (a timeout on every
// request, so a slow hub holds no report up for long), its build from
// BuildInfo when o names none.
func New(o Options, hubCfg *rest.Config, hubTimeout time.Duration) (*Reporter, error) {
	if errs := validation.IsValidLabelValue(o.Cluster); o.Cluster == "" || len(errs) > 0 {
		return nil, fmt.Errorf("--cluster-name must be a non-empty label value, the name of this member's MemberCluster at the hub: %q %v", o.Cluster, errs)
	}
	if o.Version == "" {
		o.Version, o.Revision = BuildInfo()
	}
	cfg := rest.CopyConfig(hubCfg)
	cfg.Timeout = hubTimeout
	c, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return nil, fmt.Errorf("report: hub client: %w", err)
	}
	return &Reporter{Options: o, Hub: c}, nil
}

// Probe asks the component's own readiness endpoint (the manager's
// --health-probe-bind-address) and returns the checks that fail; with no
// probe served ("0") it has nothing to say and the component counts as
// ready.
func Probe(addr string) func(context.Context) error {
	if addr == "" || addr == "0" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return func(context.Context) error { return fmt.Errorf("readiness probe address %q: %w", addr, err) }
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	hc := &http.Client{Timeout: 2 * time.Second}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("readiness probe: %w", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		return fmt.Errorf("not ready: %s", failing(string(body)))
	}
}

// failing are the failing checks of a /readyz answer ("[-]caches failed:
// reason withheld" lines), or the answer itself.
func failing(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "[-]") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(l, "[-]"), " failed: reason withheld"))
		}
	}
	if len(out) == 0 {
		return strings.TrimSpace(body)
	}
	return strings.Join(out, ", ") + " failing"
}
