package controllers

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
)

func TestJudge(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	seen := func(ago time.Duration, ready bool, msg string, name string) fleetv1.ComponentVersion {
		return fleetv1.ComponentVersion{Name: name, Version: "v1", Ready: ready, Message: msg, LastSeen: metav1.NewTime(now.Add(-ago))}
	}
	for _, tc := range []struct {
		name         string
		cs           []fleetv1.ComponentVersion
		ready, stale metav1.ConditionStatus
		reason       string
		summary      string
		next         time.Duration
		readyMessage string
	}{
		{name: "no reports", ready: metav1.ConditionFalse, stale: metav1.ConditionFalse, reason: fleetv1.ReasonNoReports, summary: "0 components, 0 ready"},
		{name: "all fresh and ready", cs: []fleetv1.ComponentVersion{seen(10*time.Second, true, "", "a"), seen(90*time.Second, true, "", "b")},
			ready: metav1.ConditionTrue, stale: metav1.ConditionFalse, reason: fleetv1.ReasonAllReady, summary: "2 components, 2 ready", next: 30 * time.Second},
		{name: "one not ready", cs: []fleetv1.ComponentVersion{seen(10*time.Second, true, "", "a"), seen(10*time.Second, false, "caches failing", "b")},
			ready: metav1.ConditionFalse, stale: metav1.ConditionFalse, reason: fleetv1.ReasonComponentUnready, summary: "2 components, 1 ready", next: 110 * time.Second, readyMessage: "b: caches failing"},
		// Exactly staleAfter old is stale: the hub comes back at that instant.
		{name: "one stale", cs: []fleetv1.ComponentVersion{seen(2*time.Minute, true, "", "a"), seen(time.Minute, true, "", "b")},
			ready: metav1.ConditionFalse, stale: metav1.ConditionTrue, reason: fleetv1.ReasonComponentStale, summary: "2 components, 1 ready, 1 stale", next: time.Minute, readyMessage: "a (last seen 2m0s ago)"},
		{name: "stale beats not ready", cs: []fleetv1.ComponentVersion{seen(time.Hour, false, "x", "a"), seen(time.Second, false, "y", "b")},
			ready: metav1.ConditionFalse, stale: metav1.ConditionTrue, reason: fleetv1.ReasonComponentStale, summary: "2 components, 0 ready, 1 stale", next: 119 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(tc.cs, now, 2*time.Minute)
			if v.Ready.Status != tc.ready || v.Stale.Status != tc.stale || v.Ready.Reason != tc.reason || v.Summary != tc.summary || v.Next != tc.next {
				t.Fatalf("got Ready %s (%s), Stale %s, %q, next %v", v.Ready.Status, v.Ready.Reason, v.Stale.Status, v.Summary, v.Next)
			}
			if !strings.Contains(v.Ready.Message, tc.readyMessage) {
				t.Fatalf("Ready message %q, want …%s…", v.Ready.Message, tc.readyMessage)
			}
		})
	}
}
