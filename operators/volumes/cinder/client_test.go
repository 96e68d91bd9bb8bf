package cinder_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-dev/atrium/internal/openstackfake"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// cloud starts a fake cloud and returns a client of it, through a
// clouds.yaml as the operator reads one.
func cloud(t *testing.T, opts ...openstackfake.Option) (*openstackfake.Server, string, *cinder.Client) {
	t.Helper()
	return cloudWith(t, nil, opts...)
}

// cloudWith is cloud with the client's configuration changed by set.
func cloudWith(t *testing.T, set func(*cinder.Config), opts ...openstackfake.Option) (*openstackfake.Server, string, *cinder.Client) {
	t.Helper()
	fake := openstackfake.Start(opts...)
	t.Cleanup(fake.Close)
	p := fake.AddProject("demo")
	id, secret := fake.AddApplicationCredential(p, "operator")
	file := filepath.Join(t.TempDir(), "clouds.yaml")
	body := fmt.Sprintf("clouds:\n  demo:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: %s\n      application_credential_id: %s\n      application_credential_secret: %s\n", fake.IdentityURL, id, secret)
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := cinder.LoadCloud(file, "demo")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 2 * time.Second
	cfg.QPS, cfg.Burst = 1000, 1000
	if set != nil {
		set(&cfg)
	}
	return fake, p, cinder.New(cfg)
}

// A cloud whose list links a page back to one already read gets an error
// at once, not a client that lists until the call's timeout.
func TestListStopsOnALoopingLink(t *testing.T) {
	ctx := context.Background()
	fake, _, c := cloud(t, openstackfake.WithMaxPageSize(2), openstackfake.WithLoopingLinks())
	fake.AddAvailabilityZone("zone-a")
	for i := range 3 {
		if _, err := c.Create(ctx, cinder.CreateRequest{Name: fmt.Sprint(i), Size: 1, Zone: "zone-a", Metadata: map[string]string{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.List(ctx, map[string]string{"k": "v"})
		done <- err
	}()
	select {
	case err := <-done:
		// Not the call's timeout, which would end it too, after holding
		// ever more copies of the same volumes.
		if err == nil || !strings.Contains(err.Error(), "already read") {
			t.Fatalf("a list whose pages loop ended with %v, want the loop named", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the list is still following a looping link")
	}
}

func TestMicroversionIsNegotiated(t *testing.T) {
	for _, c := range []struct {
		max, want string
		inUse     bool
	}{
		{"3.64", "3.64", true},
		{"3.70", "3.64", true}, // never more than the operator knows
		{"3.42", "3.42", true},
		{"3.40", "3.40", false}, // an older cloud: no in-use extend
	} {
		_, _, c2 := cloud(t, openstackfake.WithMaxMicroversion(c.max))
		if c2.InUseExtend() {
			t.Fatal("InUseExtend is true before the cloud was asked")
		}
		if _, err := c2.List(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if got := c2.Microversion(); got != c.want || c2.InUseExtend() != c.inUse {
			t.Fatalf("cloud up to %s: microversion %s, in-use extend %v; want %s, %v", c.max, got, c2.InUseExtend(), c.want, c.inUse)
		}
	}
}

func TestCreateFindExtendDelete(t *testing.T) {
	ctx := context.Background()
	fake, p, c := cloud(t)
	fake.AddAvailabilityZone("zone-a")
	v, err := c.Create(ctx, cinder.CreateRequest{Name: "n", Size: 1, Zone: "zone-a", Metadata: map[string]string{"atrium.dev/uid": "u1"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "creating" || v.Zone != "zone-a" {
		t.Fatalf("created %+v", v)
	}
	found, err := c.List(ctx, map[string]string{"atrium.dev/uid": "u1"})
	if err != nil || len(found) != 1 || found[0].ID != v.ID {
		t.Fatalf("look-up: %v, %v", found, err)
	}
	if found, _ := c.List(ctx, map[string]string{"atrium.dev/uid": "u2"}); len(found) != 0 {
		t.Fatalf("look-up of another UID found %v", found)
	}
	fake.Step()
	if err := c.Extend(ctx, v.ID, 2); err != nil {
		t.Fatal(err)
	}
	fake.Step()
	if got, _ := c.Get(ctx, v.ID); got.Size != 2 {
		t.Fatalf("size after extend %d", got.Size)
	}
	if err := c.SetMetadata(ctx, v.ID, map[string]string{"atrium.dev/uid": "u1", "atrium.dev/released": "now"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Get(ctx, v.ID); got.Metadata["atrium.dev/released"] != "now" {
		t.Fatalf("metadata %v", got.Metadata)
	}
	if err := c.Delete(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, v.ID); !cinder.IsNotFound(err) {
		t.Fatalf("get after delete: %v, want NotFound", err)
	}
	_ = p
}

func TestErrorsAreClassified(t *testing.T) {
	ctx := context.Background()
	fake, p, c := cloud(t)
	fake.SetQuota(p, 0, -1)
	if _, err := c.Create(ctx, cinder.CreateRequest{Size: 1}); cinder.ReasonOf(err) != cinder.QuotaExceeded {
		t.Fatalf("create past quota: %v, want QuotaExceeded", err)
	}
	fake.SetQuota(p, -1, -1)
	fake.FailNext(openstackfake.RouteListVolumes, 503, 1)
	if _, err := c.List(ctx, nil); cinder.ReasonOf(err) != cinder.Unavailable {
		t.Fatalf("503: %v, want Unavailable", err)
	} else if _, ok := cinder.Transient(err); !ok {
		t.Fatal("a 503 is not transient")
	}
	fake.LoseResponseNext(openstackfake.RouteCreateVolume, 1)
	if _, err := c.Create(ctx, cinder.CreateRequest{Size: 1}); cinder.ReasonOf(err) != cinder.Unavailable {
		t.Fatalf("lost answer: %v, want Unavailable (the create may have happened)", err)
	}
	// Cinder says 404 for an unknown type: the create was refused, not lost.
	if _, err := c.Create(ctx, cinder.CreateRequest{Size: 1, Type: "no-such-type"}); !cinder.IsNotFound(err) {
		t.Fatalf("unknown type: %v, want NotFound", err)
	}
	if _, err := c.Create(ctx, cinder.CreateRequest{Size: 1, Zone: "no-such-zone"}); err == nil || cinder.ReasonOf(err) == cinder.Unavailable {
		t.Fatalf("unknown zone: %v, want a refusal", err)
	}
	if _, err := c.Snapshot(ctx, "00000000-0000-0000-0000-000000000000"); !cinder.IsNotFound(err) {
		t.Fatalf("unknown snapshot: %v, want NotFound", err)
	}
}

// A 429 closes the gate for its Retry-After: the calls meanwhile fail at
// once, without a request, and say how long is left.
func TestRateLimitGate(t *testing.T) {
	ctx := context.Background()
	fake, _, c := cloud(t)
	fake.RateLimitNext(openstackfake.AnyRoute, 30, 1)
	_, err := c.List(ctx, nil)
	after, ok := cinder.Transient(err)
	if cinder.ReasonOf(err) != cinder.RateLimited || !ok || after != 30*time.Second {
		t.Fatalf("429: %v (after %v), want RateLimited for 30s", err, after)
	}
	n := len(fake.Log())
	for range 5 {
		_, err = c.Get(ctx, "x")
		if after, _ := cinder.Transient(err); cinder.ReasonOf(err) != cinder.RateLimited || after <= 25*time.Second {
			t.Fatalf("call while the gate is closed: %v (after %v)", err, after)
		}
	}
	if len(fake.Log()) != n {
		t.Fatalf("%d requests reached Cinder while it asked to wait", len(fake.Log())-n)
	}
}

// The operator's workers outnumber the requests it lets reach Cinder at
// once: Cinder never serves more than InFlight of them together, and
// each waiting call is served, none refused.
func TestRequestsInFlightAreBounded(t *testing.T) {
	ctx := context.Background()
	fake, _, c := cloudWith(t, func(cfg *cinder.Config) { cfg.InFlight = 3 })
	fake.SetLatency(openstackfake.AnyRoute, 50*time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for range 24 {
		wg.Go(func() {
			if _, err := c.List(ctx, nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a call waiting for its slot failed: %v", err)
	}
	if got := fake.MaxInFlight(); got != 3 {
		t.Fatalf("Cinder served up to %d requests at once; want exactly the 3 allowed", got)
	}
}

func TestUnreachableCloudIsUnavailable(t *testing.T) {
	c := cinder.New(cinder.Config{Timeout: time.Second})
	_, err := c.List(context.Background(), nil)
	if err == nil {
		t.Fatal("no error from a cloud without an endpoint")
	}
	fake, _, c2 := cloud(t)
	fake.Close()
	_, err = c2.List(context.Background(), nil)
	if cinder.ReasonOf(err) != cinder.Unavailable {
		t.Fatalf("cloud down: %v, want Unavailable", err)
	}
}

func TestLoadCloudRefusesWhatIsMissing(t *testing.T) {
	if _, err := cinder.LoadCloud(filepath.Join(t.TempDir(), "none.yaml"), "x"); err == nil {
		t.Fatal("no error for a missing clouds.yaml")
	}
	file := filepath.Join(t.TempDir(), "clouds.yaml")
	_ = os.WriteFile(file, []byte("clouds:\n  a:\n    auth:\n      auth_url: http://127.0.0.1:1\n"), 0o600)
	if _, err := cinder.LoadCloud(file, "b"); err == nil || !strings.Contains(err.Error(), `"b"`) {
		t.Fatalf("unknown cloud: %v", err)
	}
}

// A list longer than a page is read to its end, page by page, and only
// the volumes matching the metadata asked for come back.
func TestListReadsEveryPage(t *testing.T) {
	ctx := context.Background()
	fake, _, c := cloud(t, openstackfake.WithMaxPageSize(3))
	fake.AddAvailabilityZone("zone-a")
	for i := range 10 {
		md := map[string]string{"atrium.dev/cluster": "a", "n": fmt.Sprint(i)}
		if i%4 == 0 {
			md["atrium.dev/cluster"] = "b"
		}
		if _, err := c.Create(ctx, cinder.CreateRequest{Name: fmt.Sprint(i), Size: 1, Zone: "zone-a", Metadata: md}); err != nil {
			t.Fatal(err)
		}
	}
	from := len(fake.Log())
	got, err := c.List(ctx, map[string]string{"atrium.dev/cluster": "a"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, v := range got {
		if v.Metadata["atrium.dev/cluster"] != "a" || seen[v.Name] {
			t.Fatalf("listed %s with metadata %v (seen before: %v)", v.Name, v.Metadata, seen[v.Name])
		}
		seen[v.Name] = true
	}
	if len(got) != 7 {
		t.Fatalf("listed %d volumes of cluster a, want 7: %v", len(got), seen)
	}
	if pages := len(fake.Log()) - from; pages < 3 {
		t.Fatalf("%d requests for 7 volumes at 3 a page, want at least 3", pages)
	}
}
