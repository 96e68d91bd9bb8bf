package gate

import (
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
