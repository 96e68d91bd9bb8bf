package report

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/atrium-dev/atrium/internal/components"
)

func TestEntry(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		ready   func(context.Context) error
		notes   []string
		want    bool
		message string
	}{
		{name: "ready", want: true},
		{name: "not ready", ready: func(context.Context) error { return errors.New("caches failing") }, message: "caches failing"},
		{name: "ready, with a newer CRD", notes: []string{"CRD x newer"}, want: true, message: "CRD x newer"},
		{name: "not ready, with a newer CRD", ready: func(context.Context) error { return errors.New("no") }, notes: []string{"CRD x newer"}, message: "no; CRD x newer"},
		{name: "a long message is cut", ready: func(context.Context) error { return errors.New(strings.Repeat("x", 2000)) }, message: strings.Repeat("x", MaxMessage-3) + "..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Reporter{Options: Options{Component: components.Pages, Version: "v1", Ready: tc.ready, Notes: tc.notes}, Clock: clocktesting.NewFakePassiveClock(now)}
			e := r.Entry(context.Background())
			if e.Name != "operators/pages" || e.Ready != tc.want || e.Message != tc.message || !e.LastSeen.Time.Equal(now) {
				t.Fatalf("entry %+v", e)
			}
		})
	}
}

// TestProbe: the component's own /readyz decides, and a failing answer
// names the failing checks.
func TestProbe(t *testing.T) {
	status, body := http.StatusOK, "ok"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	probe := Probe(strings.TrimPrefix(srv.URL, "http://"))
	if err := probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	status, body = http.StatusInternalServerError, "[+]ping ok\n[-]caches failed: reason withheld\n[-]webhook failed: reason withheld\nhealthz check failed\n"
	if err := probe(context.Background()); err == nil || err.Error() != "not ready: caches, webhook failing" {
		t.Fatalf("got %v", err)
	}
	if Probe("0") != nil {
		t.Fatal("a probe for a component serving none")
	}
}
