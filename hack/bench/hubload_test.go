package main

import (
	"strings"
	"testing"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
)

// TestJudgeHubload checks the benchmark's judge of decisions on made-up
// runs: the benchmark must fail on a wrong decision and only on one.
func TestJudgeHubload(t *testing.T) {
	plan, err := planHubload(hubloadShape{members: 4, perMember: 20, contested: 0.2, contenders: 2})
	if err != nil {
		t.Fatal(err)
	}
	members := []string{memberName(0), memberName(1), memberName(2), memberName(3)}
	claim := func(h string, m, p int) fleetv1.HostnameClaim {
		return fleetv1.HostnameClaim{Spec: fleetv1.HostnameClaimSpec{Hostname: h, Cluster: members[m], Namespace: benchNamespace,
			Sources: []fleetv1.SourceRef{{Kind: ingressKind.Kind, Name: hubloadIngress(p), UID: string(hubloadUID(m, p))}}}}
	}
	held := func(m int) string {
		return "hostname x is already in use by namespace " + benchNamespace + " of cluster " + members[m] + "; choose another"
	}
	const slow = "the fleet's hostname registry (hub) cannot be reached, so new hostnames cannot be reserved now"
	// A run as it should go: the first asker of each contested hostname wins.
	good := func() ([][]hubloadOutcome, map[string][]fleetv1.HostnameClaim) {
		outcomes := make([][]hubloadOutcome, len(members))
		byHost := map[string][]fleetv1.HostnameClaim{}
		for m := range members {
			byHost[warmHost(members[m])] = []fleetv1.HostnameClaim{{Spec: fleetv1.HostnameClaimSpec{Cluster: members[m]}}}
			outcomes[m] = make([]hubloadOutcome, len(plan.hosts[m]))
			for p, h := range plan.hosts[m] {
				if a := plan.askers[h]; a != nil && a[0] != m {
					outcomes[m][p] = hubloadOutcome{message: held(a[0])}
					continue
				}
				outcomes[m][p] = hubloadOutcome{allowed: true}
				byHost[h] = []fleetv1.HostnameClaim{claim(h, m, p)}
			}
		}
		return outcomes, byHost
	}
	var contested string
	for h := range plan.askers {
		contested = h
		break
	}
	askers := plan.askers[contested]
	pos := func(m int, h string) int {
		for p, x := range plan.hosts[m] {
			if x == h {
				return p
			}
		}
		t.Fatalf("%s does not ask for %s", members[m], h)
		return -1
	}
	own := plan.hosts[0][1] // position 0 is contested, 1 is its own
	if plan.askers[own] != nil {
		t.Fatalf("%s is contested", own)
	}
	for _, tc := range []struct {
		name   string
		change func(o [][]hubloadOutcome, c map[string][]fleetv1.HostnameClaim)
		want   string // "" for no error
		check  func(r hubloadRun) bool
	}{
		{name: "good", change: func([][]hubloadOutcome, map[string][]fleetv1.HostnameClaim) {},
			check: func(r hubloadRun) bool { return r.contestedOK == len(plan.askers) && r.slow == 0 }},
		{name: "a loser's answer lost", change: func(o [][]hubloadOutcome, _ map[string][]fleetv1.HostnameClaim) {
			o[askers[1]][pos(askers[1], contested)] = hubloadOutcome{message: slow}
		}, check: func(r hubloadRun) bool { return r.contestedOK == len(plan.askers) && r.slow == 1 }},
		{name: "no winner, a stray claim", change: func(o [][]hubloadOutcome, _ map[string][]fleetv1.HostnameClaim) {
			o[askers[0]][pos(askers[0], contested)] = hubloadOutcome{message: slow}
		}, check: func(r hubloadRun) bool { return r.contestedNone == 1 && r.stray == 1 && r.slow == 1 }},
		{name: "own hostname's answer lost, no claim", change: func(o [][]hubloadOutcome, c map[string][]fleetv1.HostnameClaim) {
			o[0][1] = hubloadOutcome{message: slow}
			delete(c, own)
		}, check: func(r hubloadRun) bool { return r.slow == 1 && r.stray == 0 }},
		{name: "two winners", change: func(o [][]hubloadOutcome, _ map[string][]fleetv1.HostnameClaim) {
			o[askers[1]][pos(askers[1], contested)] = hubloadOutcome{allowed: true}
		}, want: "admitted for 2"},
		{name: "winner without its claim", change: func(_ [][]hubloadOutcome, c map[string][]fleetv1.HostnameClaim) {
			c[contested] = []fleetv1.HostnameClaim{claim(contested, askers[1], pos(askers[1], contested))}
		}, want: "not one held by it"},
		{name: "loser names another holder", change: func(o [][]hubloadOutcome, _ map[string][]fleetv1.HostnameClaim) {
			o[askers[1]][pos(askers[1], contested)] = hubloadOutcome{message: held(askers[1])}
		}, want: "refused, wrongly"},
		{name: "own hostname refused as held", change: func(o [][]hubloadOutcome, _ map[string][]fleetv1.HostnameClaim) {
			o[0][1] = hubloadOutcome{message: held(1)}
		}, want: "refused, wrongly"},
		{name: "a claim nobody asked for", change: func(_ [][]hubloadOutcome, c map[string][]fleetv1.HostnameClaim) {
			c["other."+benchDomain] = []fleetv1.HostnameClaim{claim("other."+benchDomain, 0, 0)}
		}, want: "not one of the run's hostnames"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, c := good()
			tc.change(o, c)
			var r hubloadRun
			_, err := judgeHubload(&r, plan, members, o, c)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want no error, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			case tc.check != nil && !tc.check(r):
				t.Fatalf("counts: %+v", r)
			}
		})
	}
}
