package openstackfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
)

// volumeView is Cinder's volume body as of the microversions the fake
// serves; timestamps are without a zone, as Cinder writes them.
func (s *Server) volumeView(v *volume) map[string]any {
	attachments := []map[string]any{}
	if v.attachedTo != "" {
		attachments = append(attachments, map[string]any{
			"id": v.id, "attachment_id": v.id + "-att", "volume_id": v.id,
			"server_id": v.attachedTo, "device": "/dev/vdb", "host_name": nil,
			"attached_at": cinderTime(v.updated),
		})
	}
	return map[string]any{
		"id": v.id, "name": nullable(v.name), "description": nullable(v.description),
		"size": v.size, "status": v.status,
		"availability_zone": v.zone, "volume_type": v.volumeType,
		"snapshot_id": nullable(v.snapshotID), "source_volid": nullable(v.sourceVolID), "backup_id": nil,
		"metadata": v.metadata, "user_id": v.userID,
		"bootable": "false", "encrypted": false, "multiattach": false,
		"replication_status": nil, "consistencygroup_id": nil,
		"attachments":                    attachments,
		"os-vol-tenant-attr:tenant_id":   v.projectID,
		"created_at":                     cinderTime(v.created),
		"updated_at":                     cinderTime(v.updated),
		"links":                          s.volumeLinks(v),
		"os-vol-mig-status-attr:migstat": nil,
	}
}

// volumeSummary is what GET /volumes (without /detail) shows of a volume.
func (s *Server) volumeSummary(v *volume) map[string]any {
	return map[string]any{"id": v.id, "name": nullable(v.name), "links": s.volumeLinks(v)}
}

func (s *Server) volumeLinks(v *volume) []map[string]string {
	return []map[string]string{{"rel": "self", "href": s.VolumeEndpoint(v.projectID) + "/volumes/" + v.id}}
}

// nullable is how Cinder shows an unset name or id: null, not "".
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// visible finds a volume of the caller's project; another project's is
// "not found", never "forbidden", as Cinder hides it.
func (c *call) visible(id string) *volume {
	v, ok := c.s.state.volumes[id]
	if !ok || v.projectID != c.tok.projectID {
		cinderError(c.w, http.StatusNotFound, "itemNotFound", fmt.Sprintf("Volume %s could not be found.", id))
		return nil
	}
	c.s.tick(v)
	return v
}

func (c *call) decode(into any) bool {
	if err := json.NewDecoder(c.r.Body).Decode(into); err != nil {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Malformed request body: "+err.Error())
		return false
	}
	return true
}

type createVolumeRequest struct {
	Volume *struct {
		Size             int               `json:"size"`
		Name             string            `json:"name"`
		Description      string            `json:"description"`
		VolumeType       string            `json:"volume_type"`
		AvailabilityZone string            `json:"availability_zone"`
		Metadata         map[string]string `json:"metadata"`
		SnapshotID       string            `json:"snapshot_id"`
		SourceVolID      string            `json:"source_volid"`
	} `json:"volume"`
}

// source is what a volume made from a snapshot or another volume takes
// from it unless told otherwise, and the size it cannot go below.
type source struct {
	kind             string // "snapshot" or "source volume", for messages
	size             int
	zone, volumeType string
}

// createVolume is POST /volumes. From a snapshot or a source volume the
// new volume takes the source's size, zone and type when none is given;
// it may be larger, not smaller, and must be in the source's zone (Cinder
// with cloned_volume_same_az, its default, refuses another zone).
func (c *call) createVolume() {
	var req createVolumeRequest
	if !c.decode(&req) {
		return
	}
	if req.Volume == nil {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Missing required element 'volume' in request body.")
		return
	}
	in := req.Volume
	if !c.validMetadata(in.Metadata) {
		return
	}
	if in.SnapshotID != "" && in.SourceVolID != "" {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Invalid input received: a volume is made from a snapshot or from a source volume, not both.")
		return
	}
	st := c.s.state
	var src *source
	if in.SnapshotID != "" {
		sn := c.visibleSnapshot(in.SnapshotID)
		if sn == nil {
			return
		}
		if sn.status != "available" {
			cinderError(c.w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid snapshot: snapshot %s is %s; a volume is only made from an available snapshot.", sn.id, sn.status))
			return
		}
		src = &source{kind: "snapshot", size: sn.size, zone: st.volumes[sn.volumeID].zone, volumeType: sn.volumeType}
	}
	if in.SourceVolID != "" {
		sv := c.visible(in.SourceVolID)
		if sv == nil {
			return
		}
		if sv.status != "available" && sv.status != "in-use" {
			cinderError(c.w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid volume: source volume %s is %s; it must be available or in-use to be cloned.", sv.id, sv.status))
			return
		}
		src = &source{kind: "source volume", size: sv.size, zone: sv.zone, volumeType: sv.volumeType}
	}
	size, zone, vt := in.Size, in.AvailabilityZone, in.VolumeType
	if src != nil {
		if size == 0 {
			size = src.size
		}
		if size < src.size {
			cinderError(c.w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid input received: a volume of %dGB cannot be made from a %s of %dGB; it must be at least as large.", size, src.kind, src.size))
			return
		}
		if zone == "" {
			zone = src.zone
		}
		if vt == "" {
			vt = src.volumeType
		}
	}
	if size <= 0 {
		cinderError(c.w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid input received: Volume size '%d' must be an integer and greater than 0.", size))
		return
	}
	if zone == "" {
		zone = "nova"
	}
	if !st.zones[zone] {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Invalid input received: Availability zone '"+zone+"' is invalid.")
		return
	}
	if src != nil && zone != src.zone {
		cinderError(c.w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid input received: the volume must be in the availability zone of its %s, %s, not %s.", src.kind, src.zone, zone))
		return
	}
	if vt == "" {
		vt = "__DEFAULT__"
	}
	if _, ok := st.types[vt]; !ok {
		cinderError(c.w, http.StatusNotFound, "itemNotFound", "Volume type with name "+vt+" could not be found.")
		return
	}
	if !c.withinQuota(size, 1) {
		return
	}
	v := &volume{
		id: newUUID(), projectID: c.tok.projectID, userID: c.tok.userID,
		name: in.Name, description: in.Description, size: size,
		volumeType: vt, zone: zone, snapshotID: in.SnapshotID, sourceVolID: in.SourceVolID,
		metadata: map[string]string{},
	}
	maps.Copy(v.metadata, in.Metadata)
	c.s.begin(v, "creating", "available")
	v.created = v.updated
	st.volumes[v.id] = v
	writeJSON(c.w, http.StatusAccepted, map[string]any{"volume": c.s.volumeView(v)})
}

func (c *call) getVolume(id string) {
	v := c.visible(id)
	if v == nil {
		return
	}
	c.s.read(v)
	writeJSON(c.w, http.StatusOK, map[string]any{"volume": c.s.volumeView(v)})
}

// listVolumes is GET /volumes/detail, or GET /volumes with the summary
// view. Filters: metadata (every pair given must match), name, status,
// availability_zone; then sort, marker, offset and limit (see
// listParams). Each volume returned counts as a read of it; volumes the
// filters or the page leave out do not.
func (c *call) listVolumes(detail bool) {
	q := c.r.URL.Query()
	want, ok := c.dictFilter("metadata")
	if !ok {
		return
	}
	p, ok := c.listParams(volumeSortKeys)
	if !ok {
		return
	}
	var marker *row
	if p.marker != "" {
		m := c.visible(p.marker)
		if m == nil {
			return
		}
		r := m.row()
		marker = &r
	}
	var all []*volume
	for _, v := range c.s.state.volumes {
		if v.projectID != c.tok.projectID || !matches(v.metadata, want) {
			continue
		}
		if n := q.Get("name"); n != "" && v.name != n {
			continue
		}
		if z := q.Get("availability_zone"); z != "" && v.zone != z {
			continue
		}
		c.s.tick(v)
		all = append(all, v)
	}
	status := q.Get("status")
	page := pageOf(all, (*volume).row, p, marker, func(v *volume) bool {
		return status == "" || c.s.shownOnRead(v) == status
	})
	views := make([]map[string]any, 0, len(page))
	for _, v := range page {
		c.s.read(v)
		if detail {
			views = append(views, c.s.volumeView(v))
		} else {
			views = append(views, c.s.volumeSummary(v))
		}
	}
	body := map[string]any{"volumes": views}
	collection := "volumes"
	if detail {
		collection = "volumes/detail"
	}
	if len(page) > 0 {
		c.collectionLinks(body, "volumes_links", collection, len(page), page[len(page)-1].id, p)
	}
	writeJSON(c.w, http.StatusOK, body)
}

// dictFilter reads a dict-valued query filter such as metadata, or writes
// a 400 if it is not one.
func (c *call) dictFilter(name string) (map[string]string, bool) {
	raw := c.r.URL.Query().Get(name)
	if raw == "" {
		return nil, true
	}
	m, ok := parseDictFilter(raw)
	if !ok {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Invalid input received: "+name+" filter "+raw+" is not a dict.")
	}
	return m, ok
}

// matches is whether have holds every pair of want.
func matches(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// parseDictFilter reads Cinder's dict-valued query filters, which Cinder
// evaluates as a Python literal: gophercloud sends {'k':'v'}, other
// clients send JSON. Quotes inside keys or values are not supported.
func parseDictFilter(s string) (map[string]string, bool) {
	var m map[string]string
	if json.Unmarshal([]byte(s), &m) == nil {
		return m, true
	}
	if json.Unmarshal([]byte(strings.ReplaceAll(s, "'", `"`)), &m) == nil {
		return m, true
	}
	return nil, false
}

// updateVolume is PUT /volumes/{id}: name, description and metadata. A
// metadata given here replaces the volume's whole metadata, as Cinder
// saves it (gophercloud's volumes.Update leaves an empty map out, so it
// cannot clear metadata; PUT /volumes/{id}/metadata with {} can).
func (c *call) updateVolume(id string) {
	v := c.visible(id)
	if v == nil {
		return
	}
	var req struct {
		Volume *struct {
			Name        *string           `json:"name"`
			Description *string           `json:"description"`
			Metadata    map[string]string `json:"metadata"`
		} `json:"volume"`
	}
	if !c.decode(&req) {
		return
	}
	if req.Volume == nil {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Missing required element 'volume' in request body.")
		return
	}
	if !c.validMetadata(req.Volume.Metadata) {
		return
	}
	if req.Volume.Name != nil {
		v.name = *req.Volume.Name
	}
	if req.Volume.Description != nil {
		v.description = *req.Volume.Description
	}
	if req.Volume.Metadata != nil {
		v.metadata = maps.Clone(req.Volume.Metadata)
	}
	v.updated = now()
	writeJSON(c.w, http.StatusOK, map[string]any{"volume": c.s.volumeView(v)})
}

// volumeMetadata is /volumes/{id}/metadata (see metadataCall).
func (c *call) volumeMetadata(id string) {
	v := c.visible(id)
	if v == nil {
		return
	}
	c.metadataCall(&v.metadata, func() { v.updated = now() })
}

// deletable are the statuses Cinder deletes a volume from without force.
var deletable = map[string]bool{"available": true, "error": true, "error_restoring": true, "error_extending": true, "error_managing": true}

// deleteVolume is DELETE /volumes/{id}[?cascade=true]. A volume with
// snapshots is refused unless cascade is given, which deletes them too
// provided each is available or error (Cinder's "undeletable snapshots"
// otherwise refuse the whole delete).
func (c *call) deleteVolume(id string) {
	v := c.visible(id)
	if v == nil {
		return
	}
	cascade, ok := c.boolQuery("cascade")
	if !ok {
		return
	}
	var snaps []*snapshot
	for _, sn := range c.s.state.snaps {
		if sn.volumeID == v.id {
			c.s.tick(sn)
			snaps = append(snaps, sn)
		}
	}
	if !deletable[v.status] || v.attachedTo != "" || (len(snaps) > 0 && !cascade) {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.")
		return
	}
	for _, sn := range snaps {
		if sn.status != "available" && sn.status != "error" {
			cinderError(c.w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid volume: its snapshot %s is %s, so the cascade cannot delete it.", sn.id, sn.status))
			return
		}
	}
	for _, sn := range snaps {
		delete(c.s.state.snaps, sn.id)
	}
	delete(c.s.state.volumes, v.id)
	c.w.WriteHeader(http.StatusAccepted)
}

// boolQuery reads a boolean query parameter the way Cinder's
// bool_from_string(strict=True) does; absent is false.
func (c *call) boolQuery(name string) (value, ok bool) {
	q := c.r.URL.Query()
	if !q.Has(name) {
		return false, true
	}
	b, ok := parseBool(q.Get(name))
	if !ok {
		cinderError(c.w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid input received: %s=%s is not a boolean.", name, q.Get(name)))
	}
	return b, ok
}

// parseBool accepts the spellings oslo's strict bool_from_string does.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, true
	case "0", "f", "false", "off", "n", "no":
		return false, true
	}
	return false, false
}

// volumeAction is POST /volumes/{id}/action; only os-extend is served.
func (c *call) volumeAction(id string) {
	v := c.visible(id)
	if v == nil {
		return
	}
	var req struct {
		Extend *struct {
			NewSize int `json:"new_size"`
		} `json:"os-extend"`
	}
	if !c.decode(&req) {
		return
	}
	if req.Extend == nil {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "There is no such action in this fake.")
		return
	}
	switch {
	case v.status == "available":
	case v.status == "in-use" && c.mv.atLeast(3, 42):
	default:
		cinderError(c.w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid volume: Volume %s status must be available or in-use (microversion 3.42 or later), but current status is: %s.", v.id, v.status))
		return
	}
	if req.Extend.NewSize <= v.size {
		cinderError(c.w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid input received: New size for extend must be greater than current size. (current: %d, extended: %d).", v.size, req.Extend.NewSize))
		return
	}
	if !c.withinQuota(req.Extend.NewSize-v.size, 0) {
		return
	}
	v.pendingSize = req.Extend.NewSize
	c.s.begin(v, "extending", v.status)
	c.w.WriteHeader(http.StatusAccepted)
}
