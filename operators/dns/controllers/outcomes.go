package controllers

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/plan"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
)

// ConditionDNSRegistered is the condition the operator keeps on each
// HostnameClaim of its cluster at the hub.
const ConditionDNSRegistered = "DNSRegistered"

// Outcome is what the last sync did for one claimed hostname.
type Outcome struct {
	Host    string
	Status  metav1.ConditionStatus
	Reason  string
	Message string
	// Sources are the objects that use the hostname; events go to them.
	Sources []Ref
}

func (o Outcome) equal(p Outcome) bool {
	return o.Host == p.Host && o.Status == p.Status && o.Reason == p.Reason && o.Message == p.Message && slices.Equal(o.Sources, p.Sources)
}

// Outcomes is the latest outcome per claim name, written by the zone
// controller after each sync and read by the claim status controller, which
// reports them at the hub at its own pace, so that a slow hub never holds
// back DNS.
type Outcomes struct {
	mu     sync.RWMutex
	byName map[string]Outcome
	synced bool
}

// Get returns the outcome for a claim and whether a sync has completed yet.
func (s *Outcomes) Get(claim string) (o Outcome, found, synced bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, found = s.byName[claim]
	return o, found, s.synced
}

// Synced reports whether a sync has completed yet.
func (s *Outcomes) Synced() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.synced
}

// Replace installs the outcomes of a sync and returns the claims whose
// outcome changed, appeared or went away (all of them after the first sync).
func (s *Outcomes) Replace(next map[string]Outcome) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var changed []string
	for name, o := range next {
		if prev, ok := s.byName[name]; !s.synced || !ok || !prev.equal(o) {
			changed = append(changed, name)
		}
	}
	for name := range s.byName {
		if _, ok := next[name]; !ok {
			changed = append(changed, name)
		}
	}
	s.byName = maps.Clone(next)
	s.synced = true
	return changed
}

// recordName is the hostname an endpoint is for, as claims spell it: a
// record beside a hostname ("_<service>.<hostname>") is for that
// hostname, since no hostname starts with "_".
func recordName(ep *endpoint.Endpoint) string {
	name := strings.ToLower(strings.TrimSuffix(ep.DNSName, "."))
	if strings.HasPrefix(name, "_") {
		if _, host, ok := strings.Cut(name, "."); ok {
			return host
		}
	}
	return name
}

// outcomesOf says, per claimed hostname, what the sync achieved (failed
// holds the write error of each hostname whose changes did not go
// through), and counts the hostnames blocked by another owner's records.
func outcomesOf(published []Published, current []*endpoint.Endpoint, changes *plan.Changes, failed map[string]error, owner string) (map[string]Outcome, int) {
	foreign := map[string][]string{}
	for _, ep := range current {
		if !slices.Contains(managedTypes, ep.RecordType) {
			continue
		}
		o := ep.Labels[endpoint.OwnerLabelKey]
		if o == owner {
			continue
		}
		// A hostname's records conflict with any other record set at it; a
		// TXT record only with one at its own name that this operator
		// writes (a hand-made SPF or "_dmarc" record is no conflict).
		name := recordName(ep)
		if ep.RecordType == endpoint.RecordTypeTXT {
			name = txtKey(ep)
		}
		if o == "" {
			o = "nobody (no ownership record: made by hand or by another tool)"
		} else {
			o = fmt.Sprintf("%q", o)
		}
		if !slices.Contains(foreign[name], o) {
			foreign[name] = append(foreign[name], o)
		}
	}
	pending := map[string]bool{}
	for _, list := range [][]*endpoint.Endpoint{changes.Create, changes.UpdateNew, changes.Delete} {
		for _, ep := range list {
			pending[recordName(ep)] = true
		}
	}
	out := make(map[string]Outcome, len(published))
	conflicts := 0
	for _, p := range published {
		o := Outcome{Host: p.Host, Sources: p.Sources, Status: metav1.ConditionFalse}
		switch {
		case p.Reason != "":
			o.Reason, o.Message = p.Reason, p.Message
		case len(foreignFor(p, foreign)) > 0:
			conflicts++
			o.Reason = "Conflict"
			o.Message = fmt.Sprintf("the zone already has records for %s owned by %s; they are left alone and this hostname is not published until they are removed", p.Host, strings.Join(foreignFor(p, foreign), ", "))
		case failed[p.Host] != nil && len(failed) < len(pending):
			// The others' changes went through: this record set is the
			// one the server will not take.
			o.Reason, o.Message = "Refused", fmt.Sprintf("the DNS server refused the records for %s, and wrote the zone's other changes (retried with backoff): %v", p.Host, failed[p.Host])
		case failed[p.Host] != nil:
			o.Reason, o.Message = "ProviderError", fmt.Sprintf("writing records for %s failed (retried with backoff): %v", p.Host, failed[p.Host])
		default:
			o.Status, o.Reason = metav1.ConditionTrue, "Registered"
			o.Message = "published " + describe(p.Endpoints)
		}
		out[p.Claim.Name] = o
	}
	return out, conflicts
}

// txtKey keys a TXT record set by its exact name, apart from hostnames.
func txtKey(ep *endpoint.Endpoint) string {
	return "TXT " + strings.ToLower(strings.TrimSuffix(ep.DNSName, "."))
}

// foreignFor returns the owners of other records in the way of what is
// published for a hostname.
func foreignFor(p Published, foreign map[string][]string) []string {
	out := slices.Clone(foreign[p.Host])
	for _, ep := range p.Endpoints {
		if ep.RecordType == endpoint.RecordTypeTXT {
			for _, o := range foreign[txtKey(ep)] {
				if !slices.Contains(out, o) {
					out = append(out, o)
				}
			}
		}
	}
	return out
}

// outcomesAfterFailure keeps what was registered (its records are most
// likely still served) and marks every other hostname as failed. What was
// registered is known from the last sync or, after a restart, from the
// claim's condition, so a DNS outage at start does not flip every claim.
func outcomesAfterFailure(published []Published, prev *Outcomes, msg string) map[string]Outcome {
	out := make(map[string]Outcome, len(published))
	for _, p := range published {
		o, ok, _ := prev.Get(p.Claim.Name)
		switch {
		case ok && o.Status == metav1.ConditionTrue && slices.Equal(o.Sources, p.Sources):
			out[p.Claim.Name] = o
		case !ok && p.Reason == "" && isRegistered(p.Claim):
			c := meta.FindStatusCondition(p.Claim.Status.Conditions, ConditionDNSRegistered)
			out[p.Claim.Name] = Outcome{Host: p.Host, Sources: p.Sources, Status: c.Status, Reason: c.Reason, Message: c.Message}
		default:
			out[p.Claim.Name] = Outcome{Host: p.Host, Sources: p.Sources, Status: metav1.ConditionFalse, Reason: "ProviderError", Message: msg}
		}
	}
	return out
}

// isRegistered reports whether a claim says its hostname is published.
func isRegistered(c *fleetv1.HostnameClaim) bool {
	cond := meta.FindStatusCondition(c.Status.Conditions, ConditionDNSRegistered)
	return cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == c.Generation
}

// describe writes record sets the way a person reads them: "A 192.0.2.1, 192.0.2.2 (TTL 300s)".
func describe(eps []*endpoint.Endpoint) string {
	parts := make([]string, 0, len(eps))
	for _, ep := range eps {
		parts = append(parts, fmt.Sprintf("%s %s", ep.RecordType, strings.Join(ep.Targets, ", ")))
	}
	ttl := ""
	if len(eps) > 0 && eps[0].RecordTTL.IsConfigured() {
		ttl = fmt.Sprintf(" (TTL %ds)", eps[0].RecordTTL)
	}
	return strings.Join(parts, "; ") + ttl
}
