package controllers

import (
	"maps"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
