package hub

import (
	"flag"
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"
)

// Limits are a component's client-side rate limit of requests to the hub.
type Limits struct {
	// QPS is the steady rate of requests per second; zero or less means no
	// client-side limit.
	QPS float64
	// Burst is how many requests may go at once above the steady rate.
	Burst int
}

// Apply returns a copy of cfg carrying the limits: one token bucket that
// every client built from the copy shares (the claims cache and the direct
// client alike), so the limit is the component's whole budget at the hub,
// which serves the fleet. Without a limit the copy has none at all, rather
// than client-go's default of 5 requests a second.
func (l Limits) Apply(cfg *rest.Config) *rest.Config {
	out := rest.CopyConfig(cfg)
	if l.QPS <= 0 {
		out.QPS, out.Burst, out.RateLimiter = -1, 0, nil
		return out
	}
	qps, burst := float32(l.QPS), max(l.Burst, 1)
	out.QPS, out.Burst = qps, burst
	out.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(qps, burst)
	return out
}

// Flags are how a member component reaches the hub: --hub-kubeconfig,
// --hub-timeout, --hub-qps and --hub-burst, shared by every component that
// talks to the hub so they mean the same everywhere.
type Flags struct {
	// Kubeconfig is the hub's kubeconfig file; empty means this cluster is
	// also the hub.
	Kubeconfig string
	// Timeout bounds one request of the direct client (see Connect).
	Timeout time.Duration
	Limits
}

// RegisterFlags registers the hub flags on fs with the component's defaults;
// why says, for --hub-qps's help, what the component sends to the hub and
// why its default is what it is.
func RegisterFlags(fs *flag.FlagSet, defaults Flags, why string) *Flags {
	f := &Flags{Limits: defaults.Limits}
	fs.StringVar(&f.Kubeconfig, "hub-kubeconfig", defaults.Kubeconfig, "Kubeconfig of the hub with this member's own identity there (<cluster>-<component> in atrium-fleet, such as <cluster>-hostnames, minted from config/hub/member; see docs/security.md). Empty uses this cluster's own credentials, which the shipped roles give no fleet rights: a hub that is also a member mints identities for itself like any member.")
	fs.DurationVar(&f.Timeout, "hub-timeout", defaults.Timeout, "Timeout of one request to the hub.")
	fs.Float64Var(&f.QPS, "hub-qps", defaults.QPS, "Client-side limit of requests per second to the hub, one budget for all of this component's hub requests; 0 means no limit. "+why)
	fs.IntVar(&f.Burst, "hub-burst", defaults.Burst, "Requests to the hub allowed at once above --hub-qps.")
	return f
}

// RESTConfig is the hub's rest.Config with the limits applied: from
// --hub-kubeconfig, or a copy of member's when this cluster is the hub (the
// copy has its own limits, apart from the member clients').
func (f *Flags) RESTConfig(member *rest.Config) (*rest.Config, error) {
	cfg := member
	if f.Kubeconfig != "" {
		var err error
		if cfg, err = clientcmd.BuildConfigFromFlags("", f.Kubeconfig); err != nil {
			return nil, fmt.Errorf("hub kubeconfig: %w", err)
		}
	}
	return f.Limits.Apply(cfg), nil
}
