package controllers

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/external-dns/endpoint"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/hostname"
	"github.com/atrium-dev/atrium/internal/sources"
)

// Record types a hostname is published with; other types in a DNSEndpoint
// are refused with an event.
var hostTypes = []string{endpoint.RecordTypeA, endpoint.RecordTypeAAAA, endpoint.RecordTypeCNAME}

// Record types the operator manages: a hostname's, and TXT records beside
// a hostname ("_<service>.<hostname>", such as GitLab's verification
// record). The registry's own TXT records are kept apart by the registry.
var managedTypes = append(slices.Clone(hostTypes), endpoint.RecordTypeTXT)

// Ref names one source object.
type Ref struct {
	APIVersion, Kind, Namespace, Name, UID string
}

func refOf(u *unstructured.Unstructured) Ref {
	return Ref{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName(), UID: string(u.GetUID())}
}

// object is a stand-in for the source object that events can refer to.
func (r Ref) object() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(r.APIVersion)
	u.SetKind(r.Kind)
	u.SetNamespace(r.Namespace)
	u.SetName(r.Name)
	u.SetUID(types.UID(r.UID))
	return u
}

func (r Ref) String() string {
	return fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name)
}

// resource is the value of external-dns's resource label, which the TXT
// registry writes into the zone so that an admin reading it sees where a
// record comes from.
func (r Ref) resource() string {
	return strings.ToLower(r.Kind) + "/" + r.Namespace + "/" + r.Name
}

// Want is what one source object asks to publish for one hostname.
type Want struct {
	Host hostname.Hostname
	// Name is the record's name when it lies beside Host rather than at it
	// ("_<service>.<host>"); such a record is TXT.
	Name   string
	Source Ref
	// Type is the record type a DNSEndpoint gives; empty means it follows
	// from the targets (A or AAAA for addresses, CNAME for names).
	Type    string
	Targets []string
	// TTL a DNSEndpoint gives; zero means the operator's default.
	TTL endpoint.TTL
}

// Problem is something wrong with one source that a user should be told.
type Problem struct {
	Source  Ref
	Host    string
	Reason  string
	Message string
}

// Fronts are where the cluster's traffic comes in (sources.Fronts).
type Fronts = sources.Fronts

// wantsOf reads what an object the cache holds, whole or slim
// (CacheTransform), asks to publish.
func wantsOf(kind sources.Source, u *unstructured.Unstructured, fronts Fronts) ([]Want, []Problem) {
	ref := refOf(u)
	records, invalid, err := sources.CachedRecords(kind, u, fronts)
	if err != nil {
		return nil, []Problem{{Source: ref, Reason: "InvalidObject", Message: err.Error()}}
	}
	var problems []Problem
	out := make([]Want, 0, len(records))
	for _, rec := range records {
		if msg := unsupported(rec); msg != "" {
			problems = append(problems, Problem{Source: ref, Host: rec.Host.Name, Reason: "UnsupportedRecordType", Message: msg})
			continue
		}
		out = append(out, Want{Host: rec.Host, Name: rec.Name, Source: ref, Type: rec.Type, Targets: rec.Targets, TTL: endpoint.TTL(rec.TTL)})
	}
	for _, in := range invalid {
		problems = append(problems, Problem{Source: ref, Host: in.Raw, Reason: "InvalidHostname", Message: in.Err.Error()})
	}
	return out, problems
}

// unsupported says why a record is not published, or "".
func unsupported(rec sources.Record) string {
	if rec.Name == "" {
		if rec.Type != "" && !slices.Contains(hostTypes, rec.Type) {
			return fmt.Sprintf("record type %s of %s is not published; supported types are %s", rec.Type, rec.Host.Name, strings.Join(hostTypes, ", "))
		}
		return ""
	}
	label, rest, _ := strings.Cut(rec.Name, ".")
	switch {
	case rec.Type != endpoint.RecordTypeTXT:
		return fmt.Sprintf("record %s beside %s is %s; only TXT records are published beside a hostname", rec.Name, rec.Host.Name, rec.Type)
	case rest != rec.Host.Name || !strings.HasPrefix(label, "_") || len(label) < 2 || strings.ContainsAny(label[1:], "_*"):
		return fmt.Sprintf("record %s does not lie beside %s as \"_<service>.%s\"", rec.Name, rec.Host.Name, rec.Host.Name)
	}
	return ""
}

// typeOf is the record type a target calls for.
func typeOf(target string) string {
	a, err := netip.ParseAddr(target)
	switch {
	case err != nil:
		return endpoint.RecordTypeCNAME
	case a.Is4() || a.Is4In6():
		return endpoint.RecordTypeA
	default:
		return endpoint.RecordTypeAAAA
	}
}

// Published is what the operator decides to publish for one hostname.
type Published struct {
	Host string
	// Sources are every object of the holding namespace that uses the
	// hostname, in a stable order.
	Sources []Ref
	// Endpoints are the record sets, one per type.
	Endpoints []*endpoint.Endpoint
	// Claim is the hub's claim this cluster holds for the hostname.
	Claim *fleetv1.HostnameClaim
	// Reason and Message say why nothing is published, when nothing is.
	Reason, Message string
}

// Options of the decision.
type Options struct {
	// Cluster is this cluster's name: the claim holder and the registry's owner id.
	Cluster string
	// TTL of records whose source gives none.
	TTL endpoint.TTL
	// InZones reports whether a name is inside the zones written to.
	InZones func(name string) bool
}

// decide groups the wants by hostname and decides, for each, what to
// publish: only a hostname whose claim at the hub is held by this cluster
// and the wanting object's namespace is published, with the targets of all
// of that namespace's objects that use it. Objects that use a hostname they
// do not hold come back as problems. Addresses win over names: a name
// cannot carry a CNAME beside other records.
func decide(wants []Want, claims map[string]*fleetv1.HostnameClaim, o Options) ([]Published, []Problem) {
	byHost := map[string][]Want{}
	for _, w := range wants {
		byHost[w.Host.Name] = append(byHost[w.Host.Name], w)
	}
	out := make([]Published, 0, len(byHost))
	var problems []Problem
	for host, ws := range byHost {
		claim := claims[hostname.ClaimName(ws[0].Host)]
		held := claim != nil && claim.InForce(o.Cluster)
		var mine []Want
		for _, w := range ws {
			if held && claim.HeldBy(o.Cluster, w.Source.Namespace) {
				mine = append(mine, w)
				continue
			}
			msg := fmt.Sprintf("hostname %s is not held by namespace %s in the fleet's hostname registry, so no DNS record is published for it", host, w.Source.Namespace)
			if held {
				msg = fmt.Sprintf("hostname %s is held by namespace %s of this cluster, not by namespace %s; no DNS record is published for this object", host, claim.Spec.Namespace, w.Source.Namespace)
			}
			problems = append(problems, Problem{Source: w.Source, Host: host, Reason: "NotClaimed", Message: msg})
		}
		if len(mine) == 0 {
			continue
		}
		p := Published{Host: host, Claim: claim, Sources: sortedRefs(mine)}
		switch {
		case o.InZones != nil && !o.InZones(host):
			p.Reason, p.Message = "OutsideZones", fmt.Sprintf("hostname %s is in none of the DNS zones this cluster writes to", host)
		default:
			p.Endpoints = endpointsFor(host, mine, p.Sources[0], o.TTL)
			if len(p.Endpoints) == 0 {
				p.Reason, p.Message = "NoTarget", fmt.Sprintf("no address is known for hostname %s: the status of its object names no load balancer and the cluster has no default ingress address", host)
			}
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Published) int { return cmp.Compare(a.Host, b.Host) })
	return out, problems
}

// endpointsFor merges the targets of every want of one hostname into one
// record set per type.
func endpointsFor(host string, ws []Want, first Ref, defaultTTL endpoint.TTL) []*endpoint.Endpoint {
	var at []Want
	beside := map[string][]Want{}
	for _, w := range ws {
		if w.Name == "" {
			at = append(at, w)
		} else {
			beside[w.Name] = append(beside[w.Name], w)
		}
	}
	out := endpointsAt(host, at, first, defaultTTL)
	for _, name := range slices.Sorted(maps.Keys(beside)) {
		out = append(out, besideEndpoint(name, beside[name], first, defaultTTL))
	}
	return out
}

// besideEndpoint is the TXT record set of one name beside a hostname.
func besideEndpoint(name string, ws []Want, first Ref, defaultTTL endpoint.TTL) *endpoint.Endpoint {
	var targets []string
	ttl := endpoint.TTL(0)
	for _, w := range ws {
		for _, t := range w.Targets {
			if t != "" && !slices.Contains(targets, t) {
				targets = append(targets, t)
			}
		}
		if w.TTL > 0 && (ttl == 0 || w.TTL < ttl) {
			ttl = w.TTL
		}
	}
	if ttl == 0 {
		ttl = defaultTTL
	}
	slices.Sort(targets)
	ep := endpoint.NewEndpointWithTTL(name, endpoint.RecordTypeTXT, ttl, targets...)
	ep.Labels[endpoint.ResourceLabelKey] = first.resource()
	return ep
}

// endpointsAt merges the targets of every want at a hostname into one
// record set per type.
func endpointsAt(host string, ws []Want, first Ref, defaultTTL endpoint.TTL) []*endpoint.Endpoint {
	targets := map[string][]string{}
	ttl := endpoint.TTL(0)
	for _, w := range ws {
		for _, t := range w.Targets {
			typ := w.Type
			if typ == "" {
				typ = typeOf(t)
			}
			t = strings.TrimSuffix(t, ".")
			if t != "" && !slices.Contains(targets[typ], t) {
				targets[typ] = append(targets[typ], t)
			}
		}
		if w.TTL > 0 && (ttl == 0 || w.TTL < ttl) {
			ttl = w.TTL
		}
	}
	if ttl == 0 {
		ttl = defaultTTL
	}
	if len(targets[endpoint.RecordTypeA]) > 0 || len(targets[endpoint.RecordTypeAAAA]) > 0 {
		delete(targets, endpoint.RecordTypeCNAME)
	}
	if c := targets[endpoint.RecordTypeCNAME]; len(c) > 1 {
		// One name, one canonical name: the first in order, so every
		// replica and every pass choose the same.
		slices.Sort(c)
		targets[endpoint.RecordTypeCNAME] = c[:1]
	}
	var out []*endpoint.Endpoint
	for _, typ := range hostTypes {
		if len(targets[typ]) == 0 {
			continue
		}
		slices.Sort(targets[typ])
		ep := endpoint.NewEndpointWithTTL(host, typ, ttl, targets[typ]...)
		ep.Labels[endpoint.ResourceLabelKey] = first.resource()
		out = append(out, ep)
	}
	return out
}

func sortedRefs(ws []Want) []Ref {
	var out []Ref
	for _, w := range ws {
		if !slices.Contains(out, w.Source) {
			out = append(out, w.Source)
		}
	}
	slices.SortFunc(out, func(a, b Ref) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}
