package controllers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
)

// Verdict is what the hub makes of a MemberCluster's reports at one
// instant.
type Verdict struct {
	Ready, Stale metav1.Condition
	Summary      string
	// Next is how long until the freshest-to-expire entry turns stale:
	// when to look again; zero when no entry is fresh.
	Next time.Duration
}

// Judge is the pure decision: an entry is stale when its lastSeen is
// staleAfter old or older; the member is Ready when at least one
// component reports and every entry is fresh and ready.
func Judge(cs []fleetv1.ComponentVersion, now time.Time, staleAfter time.Duration) Verdict {
	var stale, unready []string
	ready := 0
	var next time.Duration
	for _, c := range cs {
		left := c.LastSeen.Add(staleAfter).Sub(now)
		switch {
		case left <= 0:
			stale = append(stale, fmt.Sprintf("%s (last seen %s ago)", c.Name, now.Sub(c.LastSeen.Time).Round(time.Second)))
		case !c.Ready:
			unready = append(unready, fmt.Sprintf("%s: %s", c.Name, orDefault(c.Message, "not ready")))
		default:
			ready++
		}
		if left > 0 && (next == 0 || left < next) {
			next = left
		}
	}
	slices.Sort(stale)
	slices.Sort(unready)
	v := Verdict{Next: next}
	v.Summary = fmt.Sprintf("%d components, %d ready", len(cs), ready)
	if len(stale) > 0 {
		v.Summary += fmt.Sprintf(", %d stale", len(stale))
	}
	v.Stale = metav1.Condition{Type: fleetv1.MemberStale, Status: metav1.ConditionFalse, Reason: fleetv1.ReasonAllFresh,
		Message: fmt.Sprintf("every component reported within %s", staleAfter)}
	if len(stale) > 0 {
		v.Stale.Status, v.Stale.Reason = metav1.ConditionTrue, fleetv1.ReasonComponentStale
		v.Stale.Message = fmt.Sprintf("not reported within %s: %s", staleAfter, strings.Join(stale, ", "))
	}
	v.Ready = metav1.Condition{Type: fleetv1.MemberReady, Status: metav1.ConditionTrue, Reason: fleetv1.ReasonAllReady, Message: v.Summary}
	switch {
	case len(cs) == 0:
		v.Ready.Status, v.Ready.Reason = metav1.ConditionFalse, fleetv1.ReasonNoReports
		v.Ready.Message = "no component of the member has reported yet"
	case len(stale) > 0:
		v.Ready.Status, v.Ready.Reason = metav1.ConditionFalse, fleetv1.ReasonComponentStale
		v.Ready.Message = v.Stale.Message
	case len(unready) > 0:
		v.Ready.Status, v.Ready.Reason = metav1.ConditionFalse, fleetv1.ReasonComponentUnready
		v.Ready.Message = "not ready: " + strings.Join(unready, "; ")
	}
	return v
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
