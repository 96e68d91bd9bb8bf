package openstackfake

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// defaultMaxPageSize is Cinder's osapi_max_limit default.
const defaultMaxPageSize = 1000

// row is what lists sort and page volumes and snapshots by.
type row struct {
	id, name, status, zone string
	size                   int
	created, updated       time.Time
}

// sortKey is one key:direction of Cinder's sort parameter.
type sortKey struct {
	key  string
	desc bool
}

// Sort keys the fake orders by (Cinder takes any column of the table;
// these are the ones a caller plausibly uses).
var (
	volumeSortKeys   = map[string]bool{"id": true, "created_at": true, "updated_at": true, "name": true, "status": true, "size": true, "availability_zone": true}
	snapshotSortKeys = map[string]bool{"id": true, "created_at": true, "updated_at": true, "name": true, "status": true, "size": true}
)

func (r row) compare(o row, key string) int {
	switch key {
	case "id":
		return strings.Compare(r.id, o.id)
	case "name":
		return strings.Compare(r.name, o.name)
	case "status":
		return strings.Compare(r.status, o.status)
	case "availability_zone":
		return strings.Compare(r.zone, o.zone)
	case "size":
		return cmp.Compare(r.size, o.size)
	case "updated_at":
		return r.updated.Compare(o.updated)
	default: // created_at
		return r.created.Compare(o.created)
	}
}

// compareRows orders a before b (< 0) by keys, which always end in
// created_at and id, so no two rows tie.
func compareRows(keys []sortKey, a, b row) int {
	for _, k := range keys {
		if c := a.compare(b, k.key); c != 0 {
			if k.desc {
				return -c
			}
			return c
		}
	}
	return 0
}

// listParams are a list request's sorting and paging, validated.
type listParams struct {
	keys   []sortKey
	limit  int // already capped at the page size
	offset int
	marker string
}

// listParams reads sort (or the older sort_key and sort_dir), limit,
// offset and marker as Cinder does: without sort the order is created_at
// descending; created_at and id are appended when missing, in the first
// key's direction, so the order is total and a marker is unambiguous; a
// limit above the page size (osapi_max_limit) is cut to it, and without
// a limit a page is that size.
func (c *call) listParams(sortable map[string]bool) (listParams, bool) {
	q := c.r.URL.Query()
	p := listParams{limit: c.s.maxPageSize, marker: q.Get("marker")}
	bad := func(msg string) (listParams, bool) {
		cinderError(c.w, http.StatusBadRequest, "badRequest", msg)
		return p, false
	}
	var keys, dirs []string
	switch {
	case q.Get("sort") != "" && (q.Has("sort_key") || q.Has("sort_dir")):
		return bad("The sort parameter cannot be combined with sort_key or sort_dir.")
	case q.Get("sort") != "":
		for _, part := range strings.Split(q.Get("sort"), ",") {
			k, d, _ := strings.Cut(part, ":")
			if d = strings.TrimSpace(d); d == "" {
				d = "desc"
			}
			keys, dirs = append(keys, strings.TrimSpace(k)), append(dirs, d)
		}
	default:
		keys, dirs = []string{cmp.Or(q.Get("sort_key"), "created_at")}, []string{cmp.Or(q.Get("sort_dir"), "desc")}
	}
	for _, k := range []string{"created_at", "id"} {
		if !slices.Contains(keys, k) {
			keys, dirs = append(keys, k), append(dirs, dirs[0])
		}
	}
	for i, k := range keys {
		if dirs[i] != "asc" && dirs[i] != "desc" {
			return bad("Invalid input received: sort direction " + dirs[i] + " is neither asc nor desc.")
		}
		if !sortable[k] {
			return bad("Invalid input received: Invalid sort key " + k + ".")
		}
		p.keys = append(p.keys, sortKey{key: k, desc: dirs[i] == "desc"})
	}
	for _, n := range []struct {
		name string
		into *int
	}{{"limit", &p.limit}, {"offset", &p.offset}} {
		if !q.Has(n.name) {
			continue
		}
		v, err := strconv.Atoi(q.Get(n.name))
		if err != nil {
			return bad("Invalid input received: " + n.name + " is not an integer.")
		}
		if v < 0 {
			return bad("Invalid input received: " + n.name + " is negative.")
		}
		*n.into = v
	}
	p.limit = min(p.limit, c.s.maxPageSize)
	return p, true
}

// pageOf orders items, drops those not after the marker, then those keep
// refuses, then offset of them, and returns at most limit. The marker is
// compared by its sort values, as Cinder's SQL does, so it need not pass
// the filters itself. keep is asked only until the page is full.
func pageOf[T any](items []T, rowOf func(T) row, p listParams, marker *row, keep func(T) bool) []T {
	slices.SortFunc(items, func(a, b T) int { return compareRows(p.keys, rowOf(a), rowOf(b)) })
	out := []T{}
	skipped := 0
	for _, it := range items {
		if len(out) >= p.limit {
			break
		}
		if marker != nil && compareRows(p.keys, rowOf(it), *marker) <= 0 {
			continue
		}
		if !keep(it) {
			continue
		}
		if skipped < p.offset {
			skipped++
			continue
		}
		out = append(out, it)
	}
	return out
}

// collectionLinks is Cinder's next link: there is one whenever the page
// is full, even when nothing follows (a caller walking the pages then
// makes one last request, which comes back empty, as against Cinder). It
// repeats every query parameter of the request, offset included, with
// the marker moved to the page's last item; the key is left out of the
// body when there is no next page.
func (c *call) collectionLinks(body map[string]any, key, collection string, n int, lastID string, p listParams) {
	if n == 0 || n < p.limit {
		return
	}
	q := c.r.URL.Query()
	if !c.s.loopLinks {
		q.Set("marker", lastID)
	}
	body[key] = []map[string]string{{"rel": "next", "href": c.s.VolumeEndpoint(c.tok.projectID) + "/" + collection + "?" + q.Encode()}}
}
