package openstackfake

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"unicode/utf8"
)

// metadataKey is the key pattern of Cinder's request schema for metadata
// (volumes' and snapshots'): letters, digits and - _ : . space and /, 1 to
// 255 of them; values are strings of at most 255 characters. A Kubernetes
// style key such as atrium.dev/claim passes, one with = or @ does not.
var metadataKey = regexp.MustCompile(`^[a-zA-Z0-9-_:. /]{1,255}$`)

// validMetadata writes Cinder's 400 for metadata its schema refuses.
func (c *call) validMetadata(m map[string]string) bool {
	for k, v := range m {
		if !metadataKey.MatchString(k) || utf8.RuneCountInString(v) > 255 {
			cinderError(c.w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid input for field/attribute metadata: key %q or its value is not allowed (keys of 1-255 characters from [a-zA-Z0-9-_:. /], values of at most 255).", k))
			return false
		}
	}
	return true
}

// metadataCall serves /{volumes,snapshots}/{id}/metadata on the metadata
// of one object, as Cinder does for both: GET reads; PUT replaces all of
// it with the body's; POST merges the body's into it (keys not named
// keep their values). Each answers 200 with the whole metadata after the
// change. touch marks the object updated.
func (c *call) metadataCall(m *map[string]string, touch func()) {
	switch c.r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		var req struct {
			Metadata map[string]string `json:"metadata"`
		}
		if !c.decode(&req) {
			return
		}
		if req.Metadata == nil {
			cinderError(c.w, http.StatusBadRequest, "badRequest", "Malformed request body: no metadata object.")
			return
		}
		if !c.validMetadata(req.Metadata) {
			return
		}
		if c.r.Method == http.MethodPut {
			*m = map[string]string{}
		}
		maps.Copy(*m, req.Metadata)
		touch()
	default:
		c.notAllowed()
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"metadata": *m})
}
