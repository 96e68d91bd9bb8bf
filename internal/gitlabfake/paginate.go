package gitlabfake

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

const (
	defaultPerPage = 20
	maxPerPage     = 100
	// countLimit is where GitLab stops counting: above it, X-Total,
	// X-Total-Pages and the "last" link are left out.
	countLimit = 10000
)

// paginate cuts a list to the page asked for and sets GitLab's offset
// pagination headers. The Link header carries every query parameter of the
// request, because the client's iterators take the next page's parameters
// from it (gitlab.WithNext prefers the link to X-Next-Page).
func paginate[T any](c *call, items []T) []T {
	perPage := positive(c.r.URL.Query().Get("per_page"), defaultPerPage)
	perPage = min(perPage, maxPerPage)
	page := positive(c.r.URL.Query().Get("page"), 1)
	total := len(items)
	pages := max(1, (total+perPage-1)/perPage)

	h := c.w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	if total <= countLimit {
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
	}
	var links []string
	if page > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(min(page-1, pages)))
		links = append(links, c.pageLink(min(page-1, pages), perPage, "prev"))
	}
	if page < pages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
		links = append(links, c.pageLink(page+1, perPage, "next"))
	}
	links = append(links, c.pageLink(1, perPage, "first"))
	if total <= countLimit {
		links = append(links, c.pageLink(pages, perPage, "last"))
	}
	h.Set("Link", strings.Join(links, ", "))

	from := min((page-1)*perPage, total)
	to := min(from+perPage, total)
	return items[from:to]
}

func (c *call) pageLink(page, perPage int, rel string) string {
	q := c.r.URL.Query()
	for _, secret := range secretParams {
		q.Del(secret)
	}
	q.Set("page", strconv.Itoa(page))
	q.Set("per_page", strconv.Itoa(perPage))
	u := "http://" + c.r.Host + c.r.URL.EscapedPath() + "?" + q.Encode()
	return fmt.Sprintf("<%s>; rel=%q", u, rel)
}

// positive parses a page parameter; GitLab falls back to the default for
// anything that is not a positive number.
func positive(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return def
	}
	return n
}

// writeList answers a paginated list.
func writeList[T any](c *call, items []T) {
	page := paginate(c, items)
	if page == nil {
		page = []T{}
	}
	writeJSON(c.w, http.StatusOK, page)
}
