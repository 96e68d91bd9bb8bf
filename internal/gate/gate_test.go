package gate

import (
	"fmt"
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	now := time.Unix(1000, 0)
	g := New(1, 2, func() time.Time { return now })
	for i := range 2 {
		if wait, _ := g.Admit(); wait != 0 {
			t.Fatalf("call %d of the burst waits %v", i, wait)
		}
	}
	if wait, closed := g.Admit(); wait <= 0 || closed {
		t.Fatalf("beyond the burst: wait %v closed %v, want paced", wait, closed)
	}
	now = now.Add(time.Second)
	g.Close(30 * time.Second)
	g.Close(5 * time.Second) // a shorter ask does not open it earlier
	if wait, closed := g.Admit(); wait != 30*time.Second || !closed {
		t.Fatalf("closed gate: wait %v closed %v, want 30s closed", wait, closed)
	}
	now = now.Add(30 * time.Second)
	if wait, _ := g.Admit(); wait != 0 {
		t.Fatalf("after the wait: %v", wait)
	}
}

// Callers kept back by the pacing each get a turn of their own, one
// pacing interval apart, and take it when they come back without asking
// the pacing again: no herd at the next free instant.
func TestTurns(t *testing.T) {
	now := time.Unix(1000, 0)
	g := New(10, 1, func() time.Time { return now })
	if wait, _ := g.Take("a"); wait != 0 {
		t.Fatalf("first call waits %v", wait)
	}
	waits := map[string]time.Duration{}
	for _, k := range []string{"b", "c", "d"} {
		waits[k], _ = g.Take(k)
	}
	if waits["b"] != 100*time.Millisecond || waits["c"] != 200*time.Millisecond || waits["d"] != 300*time.Millisecond {
		t.Fatalf("turns %v, want 100ms apart in the order asked", waits)
	}
	// Asking again early keeps the place; an unkeyed call queues behind.
	now = now.Add(50 * time.Millisecond)
	if wait, _ := g.Take("c"); wait != 150*time.Millisecond {
		t.Fatalf("c asked again early: %v, want the rest of its wait", wait)
	}
	if wait, _ := g.Admit(); wait <= 250*time.Millisecond {
		t.Fatalf("an unkeyed call jumped the line: wait %v", wait)
	}
	now = now.Add(250 * time.Millisecond)
	for _, k := range []string{"d", "c", "b"} {
		if wait, _ := g.Take(k); wait != 0 {
			t.Fatalf("%s at its turn waits %v", k, wait)
		}
	}
	if wait, _ := g.Take("b"); wait == 0 {
		t.Fatal("a turn was taken twice")
	}
}

// Hold keeps a free turn for the key's next call, which then leaves for
// sure; a turn nobody takes is forgotten.
func TestHold(t *testing.T) {
	now := time.Unix(1000, 0)
	g := New(1, 1, func() time.Time { return now })
	if wait, _ := g.Hold("a"); wait != 0 {
		t.Fatalf("hold of a free turn waits %v", wait)
	}
	if wait, _ := g.Hold("a"); wait != 0 {
		t.Fatalf("a second hold of the same turn waits %v", wait)
	}
	if wait, _ := g.Admit(); wait == 0 {
		t.Fatal("the held turn was given to another call")
	}
	if wait, _ := g.Take("a"); wait != 0 {
		t.Fatalf("the held turn's call waits %v", wait)
	}
	if wait, _ := g.Hold("b"); wait == 0 {
		t.Fatal("b got a turn already used")
	}
	now = now.Add(time.Hour)
	if wait, _ := g.Take("x"); wait != 0 {
		t.Fatalf("after an hour: %v", wait)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.turns["b"]; ok {
		t.Fatal("b's turn, never taken, is still held after an hour")
	}
}

func TestRefusal(t *testing.T) {
	refuse := func(wait time.Duration, why string) error { return fmt.Errorf("%s: %s", wait, why) }
	if err := Refusal("X", 0, false, refuse); err != nil {
		t.Errorf("wait 0: %v, want nil", err)
	}
	if err := Refusal("X", 0, true, refuse); err != nil {
		t.Errorf("wait 0, closed: %v, want nil", err)
	}
	if err := Refusal("X", time.Second, true, refuse); err == nil || err.Error() != "1s: waiting as X asked after a 429" {
		t.Errorf("closed: %v", err)
	}
	if err := Refusal("X", time.Second, false, refuse); err == nil || err.Error() != "1s: pacing requests to X" {
		t.Errorf("paced: %v", err)
	}
}
