package openstackfake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// state is everything the cloud knows; all of it is guarded by Server.mu.
type state struct {
	projects map[string]*project
	users    map[string]*user
	appCreds map[string]*appCred
	tokens   map[string]*token
	volumes  map[string]*volume
	snaps    map[string]*snapshot
	types    map[string]string // name → id
	zones    map[string]bool
}

type project struct {
	id, name string
	quota    quota
}

// quota limits are Cinder's: -1 is unlimited.
type quota struct{ gigabytes, volumes int }

type user struct {
	id, name, password, projectID string
}

type appCred struct {
	id, secret, userID, projectID string
}

// token is what an issued X-Subject-Token stands for.
type token struct {
	userID, projectID string
	methods           []string
	expires           time.Time
}

type volume struct {
	id, projectID, userID   string
	name, description       string
	size                    int
	status                  string
	volumeType, zone        string
	snapshotID, sourceVolID string
	metadata                map[string]string
	attachedTo              string // server id, "" when detached
	created, updated        time.Time
	settleIn                int    // reads left before a transient status settles
	settleTo                string // status after settling
	failNext                bool   // the pending transition lands in error
	pendingSize             int    // the size an extend settles to
}

type snapshot struct {
	id, volumeID, name, status string
	size                       int
	created                    time.Time
}

// domainID is the only domain: the fake has no multi-domain model.
const domainID = "default"

func newState() *state {
	return &state{
		projects: map[string]*project{},
		users:    map[string]*user{},
		appCreds: map[string]*appCred{},
		tokens:   map[string]*token{},
		volumes:  map[string]*volume{},
		snaps:    map[string]*snapshot{},
		types:    map[string]string{"__DEFAULT__": newUUID()},
		zones:    map[string]bool{"nova": true},
	}
}

// newUUID makes ids shaped like OpenStack's, so callers that validate
// them (or log them) see the real format.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

// now is Cinder's timestamp precision; the JSON shows it without a zone.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
