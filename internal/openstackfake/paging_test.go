package openstackfake

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

func ids(vs []volumes.Volume) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

// Walking pages with gophercloud gets every volume exactly once, in
// Cinder's default order, with and without a metadata filter.
func TestPaginationWalksEveryVolumeOnce(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	claim := map[string]string{"atrium.dev/claim": "ns/data"}
	var want []string
	for i := range 7 {
		want = append(want, fake.AddVolume(p, VolumeSeed{Metadata: claim}))
		if i < 3 {
			fake.AddVolume(p, VolumeSeed{Metadata: map[string]string{"atrium.dev/claim": "ns/other"}})
		}
	}
	c := cinder(t, fake, p)
	ctx := context.Background()

	all, err := volumes.List(c, volumes.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	everything, _ := volumes.ExtractVolumes(all)
	if len(everything) != 10 {
		t.Fatalf("unpaged list: %d volumes", len(everything))
	}
	// created_at descending, then id descending.
	for i := 1; i < len(everything); i++ {
		a, b := everything[i-1], everything[i]
		if a.CreatedAt.Before(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID < b.ID) {
			t.Fatalf("order: %s (%v) before %s (%v)", a.ID, a.CreatedAt, b.ID, b.CreatedAt)
		}
	}

	for _, limit := range []int{1, 2, 3, 7, 8} {
		before := fake.Count(RouteListVolumes)
		pages, err := volumes.List(c, volumes.ListOpts{Limit: limit, Metadata: claim}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := volumes.ExtractVolumes(pages)
		if !slices.Equal(slices.Sorted(slices.Values(ids(got))), slices.Sorted(slices.Values(want))) {
			t.Fatalf("limit %d: got %v, want %v", limit, ids(got), want)
		}
		var wantOrder []string
		for _, v := range everything {
			if slices.Contains(want, v.ID) {
				wantOrder = append(wantOrder, v.ID)
			}
		}
		if !slices.Equal(ids(got), wantOrder) {
			t.Fatalf("limit %d: order %v, want %v", limit, ids(got), wantOrder)
		}
		// A full page links to the next, so a walk ends on the first
		// page that is not full (possibly empty), as against Cinder.
		if n, wantN := fake.Count(RouteListVolumes)-before, 7/limit+1; n != wantN {
			t.Fatalf("limit %d: %d requests, want %d", limit, n, wantN)
		}
	}

	// Sort, both ways.
	pages, err := volumes.List(c, volumes.ListOpts{Sort: "created_at:asc,id:asc", Limit: 4}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	asc, _ := volumes.ExtractVolumes(pages)
	rev := slices.Clone(ids(everything))
	slices.Reverse(rev)
	if !slices.Equal(ids(asc), rev) {
		t.Fatalf("ascending %v, want %v", ids(asc), rev)
	}
	if _, err := volumes.List(c, volumes.ListOpts{Sort: "bogus:asc"}).AllPages(ctx); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("bad sort key: %v", err)
	}
	if _, err := volumes.List(c, volumes.ListOpts{Sort: "id:up"}).AllPages(ctx); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("bad sort direction: %v", err)
	}
	if _, err := volumes.List(c, volumes.ListOpts{Marker: "no-such-volume"}).AllPages(ctx); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("unknown marker: %v", err)
	}
}

// WithMaxPageSize caps a page with no limit, and a larger limit.
func TestMaxPageSize(t *testing.T) {
	fake := Start(WithMaxPageSize(3))
	defer fake.Close()
	p := fake.AddProject("demo")
	for range 5 {
		fake.AddVolume(p, VolumeSeed{})
	}
	c := cinder(t, fake, p)
	ctx := context.Background()
	for _, limit := range []int{0, 10} {
		var sizes []int
		err := volumes.List(c, volumes.ListOpts{Limit: limit}).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
			vs, err := volumes.ExtractVolumes(page)
			sizes = append(sizes, len(vs))
			return true, err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sizes, []int{3, 2}) {
			t.Fatalf("limit %d: pages of %v, want [3 2]", limit, sizes)
		}
	}
}

// The next link keeps the request's filters and points at the same
// collection; the summary list (GET /volumes) has only id, name, links.
func TestNextLinkAndSummaryList(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	fake.AddVolume(p, VolumeSeed{Name: "a"})
	fake.AddVolume(p, VolumeSeed{Name: "a"})
	c := cinder(t, fake, p)
	ctx := context.Background()
	var body struct {
		Volumes []map[string]any   `json:"volumes"`
		Links   []gophercloud.Link `json:"volumes_links"`
	}
	if _, err := c.Get(ctx, c.ServiceURL("volumes")+"?limit=1&name=a", &body, nil); err != nil {
		t.Fatal(err)
	}
	if len(body.Volumes) != 1 || len(body.Links) != 1 || body.Links[0].Rel != "next" {
		t.Fatalf("body %+v", body)
	}
	href := body.Links[0].Href
	if !strings.HasPrefix(href, fake.VolumeEndpoint(p)+"/volumes?") || !strings.Contains(href, "name=a") || !strings.Contains(href, "marker="+body.Volumes[0]["id"].(string)) {
		t.Fatalf("next link %s", href)
	}
	keys := slices.Sorted(maps.Keys(body.Volumes[0]))
	if !slices.Equal(keys, []string{"id", "links", "name"}) {
		t.Fatalf("summary view has %v", keys)
	}
	// The second page is full too, so it links to a third, empty one,
	// which has no link.
	for _, wantVolumes := range []int{1, 0} {
		next := body.Links[0].Href
		body.Volumes, body.Links = nil, nil
		if _, err := c.Get(ctx, next, &body, nil); err != nil {
			t.Fatal(err)
		}
		if len(body.Volumes) != wantVolumes || len(body.Links) != wantVolumes {
			t.Fatalf("page after %s: %+v", next, body)
		}
	}
}
