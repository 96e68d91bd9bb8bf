package openstackfake

import (
	"maps"
	"sort"
)

// VolumeInfo is what a test can see of a volume without an API call (and
// without counting as a read).
type VolumeInfo struct {
	ID, ProjectID, Name string
	Size                int
	Status              string
	VolumeType, Zone    string
	SnapshotID          string
	Metadata            map[string]string
	AttachedTo          string
}

// Volume returns a volume's state; ok is false when it is gone.
func (s *Server) Volume(id string) (VolumeInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.state.volumes[id]
	if !ok {
		return VolumeInfo{}, false
	}
	return VolumeInfo{ID: v.id, ProjectID: v.projectID, Name: v.name, Size: v.size, Status: v.status,
		VolumeType: v.volumeType, Zone: v.zone, SnapshotID: v.snapshotID, Metadata: maps.Clone(v.metadata), AttachedTo: v.attachedTo}, true
}

// VolumesWithMetadata lists the ids of a project's volumes whose metadata
// has key = value, sorted.
func (s *Server) VolumesWithMetadata(projectID, key, value string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, v := range s.state.volumes {
		if v.projectID == projectID && v.metadata[key] == value {
			ids = append(ids, v.id)
		}
	}
	sort.Strings(ids)
	return ids
}
