package testenv

import "testing"

// TestFreePortNeverRepeats: ports handed out for processes that bind them
// later are never handed out twice, however often the kernel offers one.
func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 300; i++ {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
