package openstackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"maps"
)

// volumeView is Cinder's volume body as of the microversions the fake
// serves; timestamps are without a zone, as Cinder writes them.
func (s *Server) volumeView(v *volume) map[string]any {
	attachments := []map[string]any{}
	if v.attachedTo != "" {
		attachments = append(attachments, map[string]any{
			"id": v.id, "attachment_id": v.id + "-att", "volume_id": v.id,
			"server_id": v.attachedTo, "device": "/dev/vdb", "host_name": nil,
			"attached_at": v.updated.Format("2006-01-02T15:04:05.000000"),
		})
	}
	var snap, src any
	if v.snapshotID != "" {
		snap = v.snapshotID
	}
	if v.sourceVolID != "" {
		src = v.sourceVolID
	}
	return map[string]any{
		"id": v.id, "name": v.name, "description": v.description,
		"size": v.size, "status": v.status,
		"availability_zone": v.zone, "volume_type": v.volumeType,
		"snapshot_id": snap, "source_volid": src, "backup_id": nil,
		"metadata": v.metadata, "user_id": v.userID,
		"bootable": "false", "encrypted": false, "multiattach": false,
		"replication_status": nil, "consistencygroup_id": nil,
		"attachments":                    attachments,
		"os-vol-tenant-attr:tenant_id":   v.projectID,
		"created_at":                     v.created.Format("2006-01-02T15:04:05.000000"),
		"updated_at":                     v.updated.Format("2006-01-02T15:04:05.000000"),
		"links":                          []map[string]string{{"rel": "self", "href": s.VolumeEndpoint(v.projectID) + "/volumes/" + v.id}},
		"os-vol-mig-status-attr:migstat": nil,
	}
}

// read is one observation of a volume: a transient status settles once
// it has been seen settleReads times.
func (s *Server) read(v *volume) {
	if v.settleTo == "" || s.settleReads < 0 {
		return
	}
	if v.settleIn > 0 {
		v.settleIn--
		return
	}
	v.settle()
}

// begin puts a volume in a transient status that later settles to "to".
func (s *Server) begin(v *volume, status, to string) {
	v.status, v.settleTo, v.settleIn, v.updated = status, to, s.settleReads, now()
}

func (v *volume) settle() {
	switch {
	case v.failNext && v.status == "creating":
		v.status = "error"
	case v.failNext && v.status == "extending":
		v.status = "error_extending"
	default:
		v.status = v.settleTo
		if v.pendingSize > 0 {
			v.size = v.pendingSize
		}
	}
	v.settleTo, v.pendingSize, v.failNext, v.updated = "", 0, false, now()
}

// visible finds a volume of the caller's project; another project's is
// "not found", never "forbidden", as Cinder hides it.
func (c *call) visible(id string) *volume {
	v, ok := c.s.state.volumes[id]
	if !ok || v.projectID != c.tok.projectID {
		cinderError(c.w, http.StatusNotFound, "itemNotFound", fmt.Sprintf("Volume %s could not be found.", id))
		return nil
	}
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
	st := c.s.state
	size, zone := in.Size, in.AvailabilityZone
	if in.SnapshotID != "" {
		sn, ok := st.snaps[in.SnapshotID]
		if !ok || st.volumes[sn.volumeID] == nil || st.volumes[sn.volumeID].projectID != c.tok.projectID {
			cinderError(c.w, http.StatusNotFound, "itemNotFound", fmt.Sprintf("Snapshot %s could not be found.", in.SnapshotID))
			return
		}
		if size == 0 {
			size = sn.size
		}
		if zone == "" {
			zone = st.volumes[sn.volumeID].zone
		}
	}
	if in.SourceVolID != "" {
		src := c.visible(in.SourceVolID)
		if src == nil {
			return
		}
		if size == 0 {
			size = src.size
		}
		if zone == "" {
			zone = src.zone
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
	vt := in.VolumeType
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
		metadata: map[string]string{}, created: now(),
	}
	maps.Copy(v.metadata, in.Metadata)
	c.s.begin(v, "creating", "available")
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

// listVolumes is GET /volumes/detail (and /volumes, which Cinder answers
// with fewer fields; the fake gives the detail view to both). Filters:
// metadata, name, status.
func (c *call) listVolumes() {
	q := c.r.URL.Query()
	var want map[string]string
	if m := q.Get("metadata"); m != "" {
		var ok bool
		if want, ok = parseDictFilter(m); !ok {
			cinderError(c.w, http.StatusBadRequest, "badRequest", "Invalid input received: metadata filter "+m+" is not a dict.")
			return
		}
	}
	var out []*volume
	for _, v := range c.s.state.volumes {
		if v.projectID != c.tok.projectID {
			continue
		}
		if n := q.Get("name"); n != "" && v.name != n {
			continue
		}
		match := true
		for k, val := range want {
			if v.metadata[k] != val {
				match = false
			}
		}
		if !match {
			continue
		}
		c.s.read(v)
		if st := q.Get("status"); st != "" && v.status != st {
			continue
		}
		out = append(out, v)
	}
	// Cinder sorts by created_at descending by default.
	sort.Slice(out, func(i, j int) bool {
		if out[i].created.Equal(out[j].created) {
			return out[i].id < out[j].id
		}
		return out[i].created.After(out[j].created)
	})
	views := make([]map[string]any, 0, len(out))
	for _, v := range out {
		views = append(views, c.s.volumeView(v))
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"volumes": views})
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

// volumeMetadata is /volumes/{id}/metadata: GET reads, PUT replaces, POST
// merges, as Cinder's volume metadata API does.
func (c *call) volumeMetadata(id string) {
	v := c.visible(id)
	if v == nil {
		return
	}
	switch c.r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		var req struct {
			Metadata map[string]string `json:"metadata"`
		}
		if !c.decode(&req) {
			return
		}
		if c.r.Method == http.MethodPut {
			v.metadata = map[string]string{}
		}
		maps.Copy(v.metadata, req.Metadata)
		v.updated = now()
	default:
		c.notAllowed()
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"metadata": v.metadata})
}

// deletable are the statuses Cinder deletes a volume from without force.
var deletable = map[string]bool{"available": true, "error": true, "error_restoring": true, "error_extending": true, "error_managing": true}

func (c *call) deleteVolume(id string) {
	v := c.visible(id)
	if v == nil {
		return
	}
	hasSnaps := false
	for _, sn := range c.s.state.snaps {
		hasSnaps = hasSnaps || sn.volumeID == v.id
	}
	if !deletable[v.status] || v.attachedTo != "" || hasSnaps {
		cinderError(c.w, http.StatusBadRequest, "badRequest", "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.")
		return
	}
	delete(c.s.state.volumes, v.id)
	c.w.WriteHeader(http.StatusAccepted)
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
