package openstackfake

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

// Every route constant is the name route gives its requests.
func TestRouteNames(t *testing.T) {
	const v = "/volume/v3/p"
	for want, req := range map[string]string{
		RouteTokens:                "POST /identity/v3/auth/tokens",
		RouteVersions:              "GET /volume/v3/",
		RouteCreateVolume:          "POST " + v + "/volumes",
		RouteListVolumes:           "GET " + v + "/volumes/detail",
		RouteListVolumesSummary:    "GET " + v + "/volumes",
		RouteGetVolume:             "GET " + v + "/volumes/x",
		RouteUpdateVolume:          "PUT " + v + "/volumes/x",
		RouteVolumeAction:          "POST " + v + "/volumes/x/action",
		RouteDeleteVolume:          "DELETE " + v + "/volumes/x",
		RouteGetVolumeMetadata:     "GET " + v + "/volumes/x/metadata",
		RouteSetVolumeMetadata:     "PUT " + v + "/volumes/x/metadata",
		RouteMergeVolumeMetadata:   "POST " + v + "/volumes/x/metadata",
		RouteCreateSnapshot:        "POST " + v + "/snapshots",
		RouteListSnapshots:         "GET " + v + "/snapshots/detail",
		RouteListSnapshotsSummary:  "GET " + v + "/snapshots",
		RouteGetSnapshot:           "GET " + v + "/snapshots/x",
		RouteUpdateSnapshot:        "PUT " + v + "/snapshots/x",
		RouteDeleteSnapshot:        "DELETE " + v + "/snapshots/x",
		RouteGetSnapshotMetadata:   "GET " + v + "/snapshots/x/metadata",
		RouteSetSnapshotMetadata:   "PUT " + v + "/snapshots/x/metadata",
		RouteMergeSnapshotMetadata: "POST " + v + "/snapshots/x/metadata",
		RouteGetQuota:              "GET " + v + "/os-quota-sets/p",
	} {
		method, path, _ := strings.Cut(req, " ")
		if got := route(httptest.NewRequest(method, path+"?limit=1", nil)); got != want {
			t.Errorf("%s is named %q, want %q", req, got, want)
		}
	}
}

// The log holds no secret, token, query or body, whatever the calls.
func TestLogHoldsNoSecrets(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	fake.AddUser(p, "alice", "pw-s3cret")
	ctx := context.Background()
	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: fake.IdentityURL, Username: "alice", Password: "pw-s3cret", DomainName: "Default", TenantID: p,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, secret := reauthCinder(t, fake, p)
	fake.LoseResponseNext(RouteCreateVolume, 1)
	_, _ = volumes.Create(ctx, c, volumes.CreateOpts{Size: 1, Name: "body-name", Metadata: map[string]string{"k": "body-value"}}, nil).Extract()
	_, _ = volumes.List(c, volumes.ListOpts{Name: "query-name"}).AllPages(ctx)
	log := fmt.Sprintf("%+v", fake.Log())
	for _, leak := range []string{"pw-s3cret", secret, provider.Token(), c.ProviderClient.Token(), "body-name", "body-value", "query-name"} {
		if strings.Contains(log, leak) {
			t.Fatalf("the log holds %q: %s", leak, log)
		}
	}
}
