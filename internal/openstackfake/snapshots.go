package openstackfake

import (
	"fmt"
	"net/http"
)

// getSnapshot is GET /snapshots/{id}. Cinder's snapshot has no zone of its
// own; a caller finds it through volume_id, which is why a snapshot of
// another project's volume is as invisible as the volume.
func (c *call) getSnapshot(id string) {
	sn, ok := c.s.state.snaps[id]
	if ok {
		v := c.s.state.volumes[sn.volumeID]
		ok = v != nil && v.projectID == c.tok.projectID
	}
	if !ok {
		cinderError(c.w, http.StatusNotFound, "itemNotFound", fmt.Sprintf("Snapshot %s could not be found.", id))
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"snapshot": map[string]any{
		"id": sn.id, "name": sn.name, "description": nil, "volume_id": sn.volumeID,
		"status": sn.status, "size": sn.size, "metadata": map[string]string{},
		"created_at": sn.created.Format("2006-01-02T15:04:05.000000"),
		"updated_at": sn.created.Format("2006-01-02T15:04:05.000000"),
		"os-extended-snapshot-attributes:progress": "100%",
	}})
}
