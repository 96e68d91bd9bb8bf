package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"

	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// metricsSnapshot is one scrape: metric families by name.
type metricsSnapshot map[string]*dto.MetricFamily

// scrapeAPIServer reads an API server's own /metrics (as its admin).
func scrapeAPIServer(ctx context.Context, env *testenv.Env) (metricsSnapshot, error) {
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		return nil, err
	}
	raw, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("scraping the API server's metrics: %w", err)
	}
	return parseMetrics(bytes.NewReader(raw))
}

// parseMetrics reads Prometheus' text format.
func parseMetrics(r io.Reader) (metricsSnapshot, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}

// histogram is the sum and count of every series of the named histogram
// whose labels include all of match.
func (s metricsSnapshot) histogram(name string, match map[string]string) (sum float64, count uint64) {
	f := s[name]
	if f == nil {
		return 0, 0
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, match) || m.GetHistogram() == nil {
			continue
		}
		sum += m.GetHistogram().GetSampleSum()
		count += m.GetHistogram().GetSampleCount()
	}
	return sum, count
}

func hasLabels(m *dto.Metric, match map[string]string) bool {
	for k, v := range match {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k && l.GetValue() == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// series names one histogram of one source, for a breakdown row.
type series struct {
	what   string
	source string // "member", "hub" or "webhook" (every replica)
	name   string
	match  map[string]string
}

// breakdownSeries are the parts of an Ingress create through the member
// API server and its hostnames webhook, each as its own component counts
// it: the member's whole request, its call of the webhook (transport and
// TLS included), the webhook's handler, and the hub's side of the claim.
var breakdownSeries = []series{
	{"member API server: the whole create (server side)", "member", "apiserver_request_duration_seconds",
		map[string]string{"verb": "POST", "resource": "ingresses"}},
	{"of which: its call of the hostnames webhook", "member", "apiserver_admission_webhook_admission_duration_seconds",
		map[string]string{"name": "ingresses.hostnames.fleet.atrium.dev", "operation": "CREATE"}},
	{"of that: the webhook's handler (controller-runtime's count)", "webhook", "controller_runtime_webhook_latency_seconds",
		map[string]string{"webhook": "/validate-hostnames"}},
	{"of that: the hub creating the HostnameClaim (hub server side)", "hub", "apiserver_request_duration_seconds",
		map[string]string{"verb": "POST", "resource": "hostnameclaims"}},
	{"and: the hub reading a HostnameClaim (hub server side)", "hub", "apiserver_request_duration_seconds",
		map[string]string{"verb": "GET", "resource": "hostnameclaims"}},
	{"the webhook waiting on its claim's create (the webhook's count)", "webhook", "atrium_hostnames_hub_request_duration_seconds",
		map[string]string{"operation": "create"}},
	{"the webhook waiting on a claim's read (the webhook's count)", "webhook", "atrium_hostnames_hub_request_duration_seconds",
		map[string]string{"operation": "get"}},
	{"besides: the hub writing claims, not admission's (the releaser's status)", "hub", "apiserver_request_duration_seconds",
		map[string]string{"verb": "PATCH", "resource": "hostnameclaims"}},
}

// breakdownRow is one part's mean per create over a loop, and how many
// times it was counted per create.
type breakdownRow struct {
	what     string
	mean     time.Duration
	perCreat float64
}

// snapshots is one scrape of each source (of each replica, for the
// webhook).
type snapshots map[string][]metricsSnapshot

func takeSnapshots(ctx context.Context, member, hub *testenv.Env, dep *shipped.Deployment) (snapshots, error) {
	m, err := scrapeAPIServer(ctx, member)
	if err != nil {
		return nil, err
	}
	h, err := scrapeAPIServer(ctx, hub)
	if err != nil {
		return nil, err
	}
	w, err := scrapeReplicas(ctx, dep)
	if err != nil {
		return nil, err
	}
	return snapshots{"member": {m}, "hub": {h}, "webhook": w}, nil
}

// breakdown is, for each series, its time per create between two
// snapshots (the sum's growth divided by creates) and how often it was
// counted per create.
func breakdown(before, after snapshots, creates int) []breakdownRow {
	var out []breakdownRow
	for _, s := range breakdownSeries {
		s0, c0 := sumHistogram(before[s.source], s.name, s.match)
		s1, c1 := sumHistogram(after[s.source], s.name, s.match)
		out = append(out, breakdownRow{
			what:     s.what,
			mean:     time.Duration((s1 - s0) / float64(creates) * float64(time.Second)),
			perCreat: float64(c1-c0) / float64(creates),
		})
	}
	return out
}

// sumHistogram adds up a histogram over several scrapes (the replicas).
func sumHistogram(scrapes []metricsSnapshot, name string, match map[string]string) (sum float64, count uint64) {
	for _, s := range scrapes {
		ds, dc := s.histogram(name, match)
		sum, count = sum+ds, count+dc
	}
	return sum, count
}

// apiRequestCounts are an API server's requests by verb, resource and
// subresource between two scrapes, largest first, as "VERB resource[/sub]".
func apiRequestCounts(before, after metricsSnapshot) []countRow {
	count := func(s metricsSnapshot) map[string]float64 {
		out := map[string]float64{}
		f := s["apiserver_request_total"]
		if f == nil {
			return out
		}
		for _, m := range f.GetMetric() {
			var verb, resource, sub string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "verb":
					verb = l.GetValue()
				case "resource":
					resource = l.GetValue()
				case "subresource":
					sub = l.GetValue()
				}
			}
			if sub != "" {
				resource += "/" + sub
			}
			out[verb+" "+resource] += m.GetCounter().GetValue()
		}
		return out
	}
	b, a := count(before), count(after)
	var rows []countRow
	for k, v := range a {
		if d := v - b[k]; d > 0 {
			rows = append(rows, countRow{k, d})
		}
	}
	slices.SortFunc(rows, func(x, y countRow) int { return cmp.Compare(y.n, x.n) })
	return rows
}

// countRow is one kind of request and how many were made.
type countRow struct {
	what string
	n    float64
}

// counter is the sum of every series of the named counter whose labels
// include all of match.
func (s metricsSnapshot) counter(name string, match map[string]string) float64 {
	f := s[name]
	if f == nil {
		return 0
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if hasLabels(m, match) && m.GetCounter() != nil {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// gauge is the sum of every series of the named gauge.
func (s metricsSnapshot) gauge(name string) float64 {
	f := s[name]
	if f == nil {
		return 0
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if m.GetGauge() != nil {
			sum += m.GetGauge().GetValue()
		}
	}
	return sum
}

// buckets are the cumulative counts of every series of the named
// histogram whose labels include all of match, by upper bound.
func (s metricsSnapshot) buckets(name string, match map[string]string) map[float64]uint64 {
	out := map[float64]uint64{}
	f := s[name]
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, match) || m.GetHistogram() == nil {
			continue
		}
		for _, b := range m.GetHistogram().GetBucket() {
			out[b.GetUpperBound()] += b.GetCumulativeCount()
		}
	}
	return out
}

// histogramDelta is what the named histogram counted between two
// snapshots: the mean, and in stats the count and the p50 and p99 read off
// the buckets as Prometheus's histogram_quantile reads them (linear within
// a bucket; the largest finite bound when the quantile lies beyond it).
func histogramDelta(before, after metricsSnapshot, name string, match map[string]string) (mean time.Duration, s stats) {
	s0, c0 := before.histogram(name, match)
	s1, c1 := after.histogram(name, match)
	if c1 <= c0 {
		return 0, stats{}
	}
	n := c1 - c0
	mean = time.Duration((s1 - s0) / float64(n) * float64(time.Second))
	b0, b1 := before.buckets(name, match), after.buckets(name, match)
	bounds := make([]float64, 0, len(b1))
	for ub := range b1 {
		bounds = append(bounds, ub)
	}
	slices.Sort(bounds)
	quantile := func(q float64) time.Duration {
		rank := q * float64(n)
		lower, below := 0.0, uint64(0)
		for _, ub := range bounds {
			cum := b1[ub] - b0[ub]
			if float64(cum) >= rank {
				if math.IsInf(ub, 1) {
					return time.Duration(lower * float64(time.Second))
				}
				in := float64(cum - below)
				frac := 1.0
				if in > 0 {
					frac = (rank - float64(below)) / in
				}
				return time.Duration((lower + (ub-lower)*frac) * float64(time.Second))
			}
			lower, below = ub, cum
		}
		return time.Duration(lower * float64(time.Second))
	}
	return mean, stats{n: int(n), p50: quantile(0.5), p99: quantile(0.99), mean: mean}
}
