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

// lifecycle is the status of a volume or snapshot and the transition it
// may be in the middle of. A transient status (creating, extending)
// settles to settleTo by reads, by time or by Step; see Server.read.
type lifecycle struct {
	status   string
	updated  time.Time
	settleTo string    // status after settling; "" when nothing is pending
	settleIn int       // reads left that still show the transient status
	began    time.Time // when the transition started, with its monotonic reading
	failNext bool      // the pending (or next) transition lands in error
}

// failedStatus is where a failed transition lands, as Cinder names it.
var failedStatus = map[string]string{"creating": "error", "extending": "error_extending"}

// transient is a volume or a snapshot, for the settling code they share.
type transient interface {
	life() *lifecycle
	// landed is told once the pending transition has settled, ok false
	// when it failed, so that a volume can take its new size.
	landed(ok bool)
}

type volume struct {
	lifecycle
	id, projectID, userID   string
	name, description       string
	size                    int
	volumeType, zone        string
	snapshotID, sourceVolID string
	metadata                map[string]string
	attachedTo              string // server id, "" when detached
	created                 time.Time
	pendingSize             int // the size an extend settles to
}

func (v *volume) life() *lifecycle { return &v.lifecycle }

func (v *volume) landed(ok bool) {
	if ok && v.pendingSize > 0 {
		v.size = v.pendingSize
	}
	v.pendingSize = 0
}

func (v *volume) row() row {
	return row{id: v.id, name: v.name, status: v.status, zone: v.zone, size: v.size, created: v.created, updated: v.updated}
}

// snapshot is a Cinder snapshot. It has no availability zone of its own:
// it lives where its volume does. Its size is the volume's when taken.
type snapshot struct {
	lifecycle
	id, volumeID, projectID, userID string
	name, description               string
	volumeType                      string // the volume's, inherited by volumes made from it
	size                            int
	metadata                        map[string]string
	created                         time.Time
}

func (sn *snapshot) life() *lifecycle { return &sn.lifecycle }
func (sn *snapshot) landed(bool)      {}

func (sn *snapshot) row() row {
	return row{id: sn.id, name: sn.name, status: sn.status, size: sn.size, created: sn.created, updated: sn.updated}
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
func now() time.Time { return stamp(time.Now()) }

// stamp turns an instant into Cinder's form: UTC, microseconds.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// cinderTime is how Cinder writes a timestamp: no zone, microseconds.
func cinderTime(t time.Time) string { return t.Format("2006-01-02T15:04:05.000000") }
