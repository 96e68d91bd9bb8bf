package openstackfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
)

// snapshotView is Cinder's snapshot body. It has no availability zone
// (a snapshot lives in its volume's) and no links. The detail view, which
// GET /snapshots/{id} and /snapshots/detail give, adds the extended
// attributes and, by microversion, group_snapshot_id (3.14), user_id
// (3.41) and consumes_quota (3.65); GET /snapshots gives the summary.
func (c *call) snapshotView(sn *snapshot, detail bool) map[string]any {
	m := map[string]any{
		"id": sn.id, "name": nullable(sn.name), "description": nullable(sn.description),
		"volume_id": sn.volumeID, "status": sn.status, "size": sn.size, "metadata": sn.metadata,
		"created_at": cinderTime(sn.created), "updated_at": cinderTime(sn.updated),
	}
	if !detail {
		return m
	}
	progress := "0%"
	if sn.status == "available" {
		progress = "100%"
	}
	m["os-extended-snapshot-attributes:progress"] = progress
	m["os-extended-snapshot-attributes:project_id"] = sn.projectID
	if c.mv.atLeast(3, 14) {
		m["group_snapshot_id"] = nil
	}
	if c.mv.atLeast(3, 41) {
		m["user_id"] = sn.userID
	}
	if c.mv.atLeast(3, 65) {
		m["consumes_quota"] = true
	}
	return m
}

// visibleSnapshot finds a snapshot of the caller's project, else writes
// Cinder's 404 (another project's snapshot is as invisible as its volume).
func (c *call) visibleSnapshot(id string) *snapshot {
	sn, ok := c.s.state.snaps[id]
	if !ok || sn.projectID != c.tok.projectID {
		cinderError(c.w, http.StatusNotFound, "itemNotFound", fmt.Sprintf("Snapshot %s could not be found.", id))
		return nil
	}
	c.s.tick(sn)
	return sn
}

// getSnapshot is GET /snapshots/{id}; it counts as a read for settling.
func (c *call) getSnapshot(id string) {
	sn := c.visibleSnapshot(id)
	if sn == nil {
		return
	}
	c.s.read(sn)
	writeJSON(c.w, http.StatusOK, map[string]any{"snapshot": c.snapshotView(sn, true)})
}

// createSnapshot is POST /snapshots. Below microversion 3.66 the volume
// must be available, or in-use with force; from 3.66 in-use needs no
// force and an explicit force=false is refused, as Cinder has it. The
// snapshot's gigabytes count against the project's gigabytes quota
// (Cinder's default, no_snapshot_gb_quota=false).
func (c *call) createSnapshot() {
	var req struct {
		Snapshot *struct {
			VolumeID    string            `json:"volume_id"`
			Name        string            `json:"name"`
			Description string            `json:"description"`
			Metadata    map[string]string `json:"metadata"`
			Force       json.RawMessage   `json:"force"`
		} `json:"snapshot"`
	}
	if !c.decode(&req) {
		return
	}
	in := req.Snapshot
	if in == nil {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Missing required element 'snapshot' in request body.")
		return
	}
	if in.VolumeID == "" {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Invalid input for field/attribute volume_id: it is required.")
		return
	}
	force, given, ok := jsonBool(in.Force)
	if !ok {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Invalid input received: force "+string(in.Force)+" is not a boolean.")
		return
	}
	if !c.validMetadata(in.Metadata) {
		return
	}
	v := c.visible(in.VolumeID)
	if v == nil {
		return
	}
	if c.mv.atLeast(3, 66) {
		if given && !force {
			cinderError(c.w, http.StatusBadRequest, "badRequest", "Invalid input received: from microversion 3.66 force may only be true, or left out.")
			return
		}
		force = true
	}
	if !(v.status == "available" || (force && v.status == "in-use")) {
		need := "available"
		if force {
			need = "available or in-use"
		}
		cinderError(c.w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid volume: volume %s is %s; a snapshot needs it %s.", v.id, v.status, need))
		return
	}
	if !c.withinQuota(v.size, 0) {
		return
	}
	sn := &snapshot{
		id: newUUID(), volumeID: v.id, projectID: v.projectID, userID: c.tok.userID,
		name: in.Name, description: in.Description, volumeType: v.volumeType, size: v.size,
		metadata: map[string]string{},
	}
	maps.Copy(sn.metadata, in.Metadata)
	c.s.begin(sn, "creating", "available")
	sn.created = sn.updated
	c.s.state.snaps[sn.id] = sn
	writeJSON(c.w, http.StatusAccepted, map[string]any{"snapshot": c.snapshotView(sn, true)})
}

// jsonBool reads a JSON boolean that Cinder also takes as a string
// ("True", "yes"…); given is false when the field is absent or null.
func jsonBool(raw json.RawMessage) (value, given, ok bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, false, true
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		b, ok := parseBool(s)
		return b, true, ok
	}
	return false, true, false
}

// listSnapshots is GET /snapshots/detail, or GET /snapshots with the
// summary view. Filters: volume_id, name, status, metadata; then sort,
// marker, offset and limit as for volumes. Each snapshot returned counts
// as a read of it.
func (c *call) listSnapshots(detail bool) {
	q := c.r.URL.Query()
	want, ok := c.dictFilter("metadata")
	if !ok {
		return
	}
	p, ok := c.listParams(snapshotSortKeys)
	if !ok {
		return
	}
	var marker *row
	if p.marker != "" {
		m := c.visibleSnapshot(p.marker)
		if m == nil {
			return
		}
		r := m.row()
		marker = &r
	}
	var all []*snapshot
	for _, sn := range c.s.state.snaps {
		if sn.projectID != c.tok.projectID || !matches(sn.metadata, want) {
			continue
		}
		if id := q.Get("volume_id"); id != "" && sn.volumeID != id {
			continue
		}
		if n := q.Get("name"); n != "" && sn.name != n {
			continue
		}
		c.s.tick(sn)
		all = append(all, sn)
	}
	status := q.Get("status")
	page := pageOf(all, (*snapshot).row, p, marker, func(sn *snapshot) bool {
		return status == "" || c.s.shownOnRead(sn) == status
	})
	views := make([]map[string]any, 0, len(page))
	for _, sn := range page {
		c.s.read(sn)
		views = append(views, c.snapshotView(sn, detail))
	}
	body := map[string]any{"snapshots": views}
	collection := "snapshots"
	if detail {
		collection = "snapshots/detail"
	}
	if len(page) > 0 {
		c.collectionLinks(body, "snapshots_links", collection, len(page), page[len(page)-1].id, p)
	}
	writeJSON(c.w, http.StatusOK, body)
}

// updateSnapshot is PUT /snapshots/{id}: name and description.
func (c *call) updateSnapshot(id string) {
	sn := c.visibleSnapshot(id)
	if sn == nil {
		return
	}
	var req struct {
		Snapshot *struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
		} `json:"snapshot"`
	}
	if !c.decode(&req) {
		return
	}
	if req.Snapshot == nil {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Missing required element 'snapshot' in request body.")
		return
	}
	if req.Snapshot.Name != nil {
		sn.name = *req.Snapshot.Name
	}
	if req.Snapshot.Description != nil {
		sn.description = *req.Snapshot.Description
	}
	sn.updated = now()
	writeJSON(c.w, http.StatusOK, map[string]any{"snapshot": c.snapshotView(sn, true)})
}

// deleteSnapshot is DELETE /snapshots/{id}: an available or error
// snapshot goes at once (the fake has no "deleting"); any other status
// is refused, as Cinder does without force.
func (c *call) deleteSnapshot(id string) {
	sn := c.visibleSnapshot(id)
	if sn == nil {
		return
	}
	if sn.status != "available" && sn.status != "error" {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Invalid snapshot: snapshot "+sn.id+" is "+sn.status+"; only an available or error snapshot can be deleted.")
		return
	}
	delete(c.s.state.snaps, sn.id)
	c.w.WriteHeader(http.StatusAccepted)
}

// snapshotMetadata is /snapshots/{id}/metadata (see metadataCall).
func (c *call) snapshotMetadata(id string) {
	sn := c.visibleSnapshot(id)
	if sn == nil {
		return
	}
	c.metadataCall(&sn.metadata, func() { sn.updated = now() })
}
