package server

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/atrium-dev/atrium/internal/version"
)

// The aggregated API server's /metrics (the generic API server serves
// legacyregistry there) carries atrium_build_info.
func TestMetricsServeBuildInfo(t *testing.T) {
	if err := RegisterBuildInfo(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(legacyregistry.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	i := version.Get()
	want := version.BuildInfoName + `{component="` + i.Component + `",goversion="` + i.GoVersion + `",revision="` + i.Revision + `",version="` + i.Version + `"} 1`
	if !strings.Contains(string(body), want+"\n") {
		t.Errorf("/metrics has no line\n%s\nbut:\n%s", want, grep(string(body), version.BuildInfoName))
	}
}

func grep(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
