package openstackfake

import (
	"cmp"
	"fmt"
	"maps"
)

// AddProject creates a project with unlimited quota and returns its id.
func (s *Server) AddProject(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &project{id: newUUID(), name: name, quota: quota{-1, -1}}
	s.state.projects[p.id] = p
	return p.id
}

// AddUser creates a user (in the default domain) whose password scopes to
// projectID, and returns the user's id.
func (s *Server) AddUser(projectID, name, password string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustProject(projectID)
	u := &user{id: newUUID(), name: name, password: password, projectID: projectID}
	s.state.users[u.id] = u
	return u.id
}

// AddApplicationCredential creates a user named userName in the project
// if there is none, and an application credential of it; it returns the
// credential's id and secret. Keystone pins an application credential to
// one project, so the token it gets is always scoped to that project.
func (s *Server) AddApplicationCredential(projectID, userName string) (id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustProject(projectID)
	var u *user
	for _, cand := range s.state.users {
		if cand.name == userName {
			u = cand
		}
	}
	if u == nil {
		u = &user{id: newUUID(), name: userName, projectID: projectID}
		s.state.users[u.id] = u
	}
	c := &appCred{id: newUUID(), secret: newUUID(), userID: u.id, projectID: projectID}
	s.state.appCreds[c.id] = c
	return c.id, c.secret
}

// AddVolumeType makes a volume type known by name; __DEFAULT__ always is.
func (s *Server) AddVolumeType(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.types[name] = newUUID()
}

// AddAvailabilityZone makes a zone known; "nova" always is, as in Cinder.
func (s *Server) AddAvailabilityZone(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.zones[name] = true
}

// SetQuota sets a project's gigabytes and volumes limits (-1 unlimited).
func (s *Server) SetQuota(projectID string, gigabytes, volumes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustProject(projectID).quota = quota{gigabytes, volumes}
}

// VolumeSeed is an existing volume; empty fields take Cinder's defaults.
type VolumeSeed struct {
	Name, Description string
	Size              int
	Status            string // "available" by default
	VolumeType        string // "__DEFAULT__" by default
	Zone              string // "nova" by default
	Metadata          map[string]string
	AttachedTo        string // a server id: the volume is in-use
}

// AddVolume seeds a settled volume in a project and returns its id. It is
// not held to the quota, so a test can seed a project already over it.
func (s *Server) AddVolume(projectID string, v VolumeSeed) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustProject(projectID)
	vol := &volume{
		id: newUUID(), projectID: projectID, name: v.Name, description: v.Description,
		size: v.Size, volumeType: v.VolumeType, zone: v.Zone,
		metadata: map[string]string{}, attachedTo: v.AttachedTo, created: now(),
	}
	vol.status, vol.updated = v.Status, vol.created
	maps.Copy(vol.metadata, v.Metadata)
	if vol.size == 0 {
		vol.size = 1
	}
	if vol.volumeType == "" {
		vol.volumeType = "__DEFAULT__"
	}
	if vol.zone == "" {
		vol.zone = "nova"
	}
	if vol.status == "" {
		vol.status = "available"
		if vol.attachedTo != "" {
			vol.status = "in-use"
		}
	}
	s.state.volumes[vol.id] = vol
	return vol.id
}

// SnapshotSeed is an existing snapshot; empty fields take Cinder's
// defaults.
type SnapshotSeed struct {
	Name, Description string
	Metadata          map[string]string
	Status            string // "available" by default
}

// AddSnapshot seeds an available snapshot of a volume and returns its id.
func (s *Server) AddSnapshot(volumeID, name string) string {
	return s.AddSnapshotWith(volumeID, SnapshotSeed{Name: name})
}

// AddSnapshotWith seeds a settled snapshot of a volume, in the volume's
// project and of its size, and returns its id. Like AddVolume it is not
// held to the quota.
func (s *Server) AddSnapshotWith(volumeID string, seed SnapshotSeed) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.mustVolume(volumeID)
	sn := &snapshot{
		id: newUUID(), volumeID: v.id, projectID: v.projectID, userID: v.userID,
		name: seed.Name, description: seed.Description, volumeType: v.volumeType,
		size: v.size, metadata: map[string]string{}, created: now(),
	}
	sn.status, sn.updated = cmp.Or(seed.Status, "available"), sn.created
	maps.Copy(sn.metadata, seed.Metadata)
	s.state.snaps[sn.id] = sn
	return sn.id
}

// Attach marks a volume in-use by a server, as Nova would. A volume in
// the middle of a transition (extending) keeps it and lands in-use.
func (s *Server) Attach(volumeID, serverID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.mustVolume(volumeID)
	v.attachedTo, v.updated = serverID, now()
	if v.settleTo != "" {
		v.settleTo = "in-use"
	} else {
		v.status = "in-use"
	}
}

// Detach undoes Attach, as Nova does when the server is deleted or the
// volume detached from it: an in-use volume becomes available (one in
// the middle of an extend lands available). A detached volume is left
// alone.
func (s *Server) Detach(volumeID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.mustVolume(volumeID)
	if v.attachedTo == "" {
		return
	}
	v.attachedTo, v.updated = "", now()
	switch {
	case v.settleTo == "in-use":
		v.settleTo = "available"
	case v.status == "in-use":
		v.status = "available"
	}
}

// SetVolumeStatus forces a volume's status (e.g. "error"), cancelling any
// pending transition: a fault state a backend could leave it in.
func (s *Server) SetVolumeStatus(volumeID, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.mustVolume(volumeID)
	v.status, v.settleTo, v.settleIn, v.pendingSize, v.updated = status, "", 0, 0, now()
}

// SetVolumeMetadata replaces a volume's metadata, as an admin editing it
// by hand (or a write of it that was lost) would leave it.
func (s *Server) SetVolumeMetadata(volumeID string, md map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.mustVolume(volumeID)
	v.metadata, v.updated = maps.Clone(md), now()
}

// FailTransition makes the pending (or next) transition of a volume or a
// snapshot, by id, land in error (from creating) or error_extending (from
// extending). A transition that has already settled by time is past
// failing; the next one fails instead.
func (s *Server) FailTransition(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sn, ok := s.state.snaps[id]; ok {
		s.tick(sn)
		sn.failNext = true
		return
	}
	s.mustVolume(id).failNext = true
}

// VolumeStatus is a volume's status without counting as a read, or "" if
// it is gone. It does show settling by time (WithSettleAfter).
func (s *Server) VolumeStatus(volumeID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.state.volumes[volumeID]; ok {
		s.tick(v)
		return v.status
	}
	return ""
}

// SnapshotStatus is VolumeStatus for a snapshot.
func (s *Server) SnapshotStatus(snapshotID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sn, ok := s.state.snaps[snapshotID]; ok {
		s.tick(sn)
		return sn.status
	}
	return ""
}

// Step settles every transient volume and snapshot at once, for tests
// that want no dependence on how many reads a caller makes or how long
// it takes.
func (s *Server) Step() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.state.volumes {
		if v.settleTo != "" {
			s.settle(v, now())
		}
	}
	for _, sn := range s.state.snaps {
		if sn.settleTo != "" {
			s.settle(sn, now())
		}
	}
}

// ExpireTokens makes every token issued so far expired, as if the TTL
// had passed, so a test can exercise re-authentication without waiting.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.state.tokens {
		t.expires = now()
	}
}

func (s *Server) mustProject(id string) *project {
	p, ok := s.state.projects[id]
	if !ok {
		panic(fmt.Sprintf("openstackfake: no project %s", id))
	}
	return p
}

// mustVolume finds a seeded volume, with any settling by time applied,
// or panics: a test naming a volume that does not exist is a bug.
func (s *Server) mustVolume(id string) *volume {
	v, ok := s.state.volumes[id]
	if !ok {
		panic(fmt.Sprintf("openstackfake: no volume %s", id))
	}
	s.tick(v)
	return v
}

// CloudsYAML is a clouds.yaml naming this fake as cloud, authenticated by
// an application credential: what an admin puts into the volumes
// operator's Secret.
func (s *Server) CloudsYAML(cloud, credentialID, credentialSecret string) string {
	return fmt.Sprintf(`clouds:
  %s:
    auth_type: v3applicationcredential
    auth:
      auth_url: %s
      application_credential_id: %s
      application_credential_secret: %s
    region_name: %s
    interface: public
    identity_api_version: 3
`, cloud, s.IdentityURL, credentialID, credentialSecret, s.region)
}
