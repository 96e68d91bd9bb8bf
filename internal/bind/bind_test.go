package bind

import (
	"context"
	"slices"
	"testing"

	"github.com/miekg/dns"
)

// A record written by a signed update resolves, and is still there after
// named is stopped and started again (the journal keeps it).
func TestUpdateSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts named")
	}
	if !Installed() {
		t.Fatal("named is not installed: run `make tools`")
	}
	ctx := context.Background()
	s, err := Start(ctx, Options{Zones: []string{"example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update("example.test", []string{"www.example.test. 60 IN A 192.0.2.10"}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Lookup("www.example.test", dns.TypeA); err != nil || !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Fatalf("lookup = %v, %v", got, err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup("www.example.test", dns.TypeA); err == nil {
		t.Fatal("a stopped server answered")
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Lookup("www.example.test", dns.TypeA); err != nil || !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Fatalf("after restart: lookup = %v, %v", got, err)
	}
	// An unsigned update is refused.
	bad := &Server{Addr: s.Addr, KeyName: s.KeyName}
	bad.KeySecret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	if err := bad.Update("example.test", []string{"evil.example.test. 60 IN A 192.0.2.66"}, nil); err == nil {
		t.Fatal("an update with a wrong key was accepted")
	}
}

// With updates refused the zone still answers, keeps its records and
// refuses a signed update; allowed again, it takes updates.
func TestRefuseUpdates(t *testing.T) {
	if testing.Short() {
		t.Skip("starts named")
	}
	ctx := context.Background()
	s, err := Start(ctx, Options{Zones: []string{"example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update("example.test", []string{"kept.example.test. 60 IN A 192.0.2.1"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RefuseUpdates(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Update("example.test", []string{"new.example.test. 60 IN A 192.0.2.2"}, nil); err == nil {
		t.Fatal("an update was accepted while updates are refused")
	}
	if got, err := s.Lookup("kept.example.test", dns.TypeA); err != nil || !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Fatalf("kept record = %v, %v", got, err)
	}
	if err := s.RefuseUpdates(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Update("example.test", []string{"new.example.test. 60 IN A 192.0.2.2"}, nil); err != nil {
		t.Fatal(err)
	}
}
