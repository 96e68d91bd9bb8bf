package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A part not run this time is kept as the report has it, up to the part
// that was run; a section without that part is kept whole.
func TestKeptUpTo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	report := "# Benchmarks\n\n<!-- bench:hostnames -->\n## Hostnames\n\n### One decision, in process\n\nold figures\n" +
		shippedHeading + "\n\nold end to end\n<!-- /bench:hostnames -->\n"
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := keptUpTo(path, "hostnames", shippedHeading)
	if want := "## Hostnames\n\n### One decision, in process\n\nold figures\n"; err != nil || got != want {
		t.Fatalf("kept %q (%v), want %q", got, err, want)
	}
	if got, err := keptUpTo(path, "hostnames", memoryHeading); err != nil || got != "## Hostnames\n\n### One decision, in process\n\nold figures\n"+shippedHeading+"\n\nold end to end\n" {
		t.Fatalf("kept whole: %q (%v)", got, err)
	}
	if _, err := keptUpTo(path, "pages", memoryHeading); err == nil {
		t.Fatal("kept a section the report does not have")
	}
}
