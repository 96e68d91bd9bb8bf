package controllers

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// busy are the Cinder statuses of a volume Cinder is still working on.
var busy = map[string]bool{
	"creating": true, "extending": true, "downloading": true, "reserved": true,
	"retyping": true, "maintenance": true, "awaiting-transfer": true, "backing-up": true, "restoring-backup": true,
}

// usable are the statuses in which a volume can be bound and used.
var usable = map[string]bool{"available": true, "in-use": true, "attaching": true, "detaching": true}

// provision runs the phases of a live volume, each stopping with an
// actionable reason: claim → volume → settle → extend → bind.
func (r *VolumeReconciler) provision(ctx context.Context, v *storagev1.OpenStackVolume) outcome {
	v.Status.ClaimName = v.Claim()
	claimSize := int(v.Spec.SizeGiB)
	if v.Status.CapacityGiB > v.Spec.SizeGiB {
		// An adopted volume larger than asked is refused before it is
		// taken; this only guards a volume grown outside Atrium.
		claimSize = int(v.Status.CapacityGiB)
	}
	pvc, o := r.claim(ctx, v, claimSize)
	if o != nil {
		return *o
	}
	vol, o := r.volume(ctx, v)
	if o != nil {
		return *o
	}
	r.observe(v, vol)
	if o := r.settled(v, vol); o != nil {
		return *o
	}
	if o := r.extend(ctx, v, vol); o != nil {
		return *o
	}
	if o := r.persistentVolume(ctx, v, vol, pvc); o != nil {
		return *o
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName != v.PersistentVolume() {
		if o := r.nudge(ctx, pvc); o != nil {
			return *o
		}
		return outcome{ready: notReady("Binding", "waiting for the claim %s to bind to the PersistentVolume %s", pvc.Name, v.PersistentVolume()), poll: true}
	}
	return outcome{ready: cond(metav1.ConditionTrue, "Bound", "the claim %s is bound to Cinder volume %s (%d GiB, zone %s)", pvc.Name, vol.ID, vol.Size, vol.Zone)}
}

// observe copies what Cinder says of the volume into the status.
func (r *VolumeReconciler) observe(v *storagev1.OpenStackVolume, vol *cinder.Volume) {
	v.Status.VolumeID = vol.ID
	v.Status.VolumeStatus = vol.Status
	v.Status.CapacityGiB = int32(vol.Size)
	v.Status.AvailabilityZone = vol.Zone
	v.Status.VolumeType = vol.Type
}

// volume finds the object's Cinder volume, or makes it (new, adopted or
// from a snapshot) when a successful look-up says there is none.
func (r *VolumeReconciler) volume(ctx context.Context, v *storagev1.OpenStackVolume) (*cinder.Volume, *outcome) {
	if id := v.Status.VolumeID; id != "" {
		if vol := r.recent(v, id); vol != nil {
			return vol, nil
		}
		if r.inventory.pending() {
			// A cold start's listing is on its way and will answer for
			// this volume (answerFromCold). Not as eager as a new
			// volume's wait: this one is in use already, and each turn
			// is a reconcile of every volume the replica holds.
			return nil, &outcome{hold: true, after: time.Second}
		}
		vol, err := r.Cinder.Get(ctx, id)
		if cinder.IsNotFound(err) {
			// Deleted outside Atrium. A new, empty volume in its place
			// would hide that the data is gone: say so, and stop.
			r.unlearn(v.UID)
			e := cond(metav1.ConditionTrue, "VolumeMissing", "Cinder volume %s no longer exists; it was deleted outside Atrium", id)
			o := outcome{ready: notReady("VolumeMissing", "Cinder volume %s no longer exists; nothing is created in its place: delete this object, or restore the volume and adopt it", id), cinderError: &e, failed: true}
			return nil, &o
		}
		if err != nil {
			o := cinderFailed("reading Cinder volume "+id, err)
			return nil, &o
		}
		if vol.Metadata[storagev1.MetaUID] != string(v.UID) {
			r.unlearn(v.UID)
			o := outcome{ready: notReady("VolumeTaken", "Cinder volume %s no longer names this object in its metadata (another cluster adopted it, or it was changed by hand); the operator leaves it alone", id), failed: true}
			return nil, &o
		}
		r.remember(v, vol)
		return vol, nil
	}
	fresh := v.Status.CreateRequested == nil && v.Spec.Source == nil
	if fresh && r.inventory.pending() {
		// The project's listing is on its way and will answer for every
		// new volume at once; its status is left as it is.
		return nil, &outcome{hold: true, after: 250 * time.Millisecond}
	}
	if !fresh || r.inventory.mayExist(v.UID) {
		found, err := r.Cinder.List(ctx, map[string]string{storagev1.MetaUID: string(v.UID)})
		if err != nil {
			// Unknown, never absent: nothing is created until Cinder answers.
			o := cinderFailed("looking for this object's volume in Cinder (nothing is created until the look-up succeeds)", err)
			return nil, &o
		}
		if len(found) > 0 {
			return r.found(v, found), nil
		}
	}
	// Otherwise no create was ever recorded for this object, none was sent
	// by this process, and the project's listing holds no volume naming
	// it: there is none (see inventory). The record write in create is
	// conditional on the object's version, so a stale cache cannot pass
	// for "no record".
	if req := v.Status.CreateRequested; req != nil && time.Since(req.Time) < r.CreateGrace {
		// A create was sent a moment ago and Cinder does not list it yet:
		// it may still be on its way (its answer lost, or the operator
		// restarted). Asking again now could make a second volume.
		wait := r.CreateGrace - time.Since(req.Time)
		o := outcome{ready: notReady("Creating", "a create was sent to Cinder at %s and is not listed yet; looking again before asking again", req.Format(time.RFC3339)), after: min(wait, r.PollMax), poll: true}
		return nil, &o
	}
	switch src := v.Spec.Source; {
	case src != nil && src.VolumeID != "":
		return r.adopt(ctx, v)
	case src != nil && src.SnapshotID != "":
		return r.fromSnapshot(ctx, v)
	default:
		nsUID, o := r.namespaceUID(ctx, v)
		if o != nil {
			return nil, o
		}
		return r.create(ctx, v, nsUID, cinder.CreateRequest{Size: int(v.Spec.SizeGiB), Type: v.Spec.VolumeType, Zone: r.zone(v)})
	}
}

// found takes the object's volume from a look-up. More than one would be
// a duplicate from before this operator's safeguards (or a hand-made copy
// of the metadata): the oldest is used, the others are reported, none is
// deleted.
func (r *VolumeReconciler) found(v *storagev1.OpenStackVolume, found []*cinder.Volume) *cinder.Volume {
	sort.Slice(found, func(i, j int) bool { return found[i].CreatedAt.Before(found[j].CreatedAt) })
	if len(found) > 1 {
		ids := make([]string, 0, len(found)-1)
		for _, f := range found[1:] {
			ids = append(ids, f.ID)
		}
		r.event(v, corev1.EventTypeWarning, "DuplicateVolumes", "Provision", "Cinder holds %d volumes naming this object; using %s, leaving %v for an admin to check", len(found), found[0].ID, ids)
	}
	return found[0]
}

func (r *VolumeReconciler) zone(v *storagev1.OpenStackVolume) string {
	if v.Spec.AvailabilityZone != "" {
		return v.Spec.AvailabilityZone
	}
	return r.DefaultZone
}

// metadata is what every volume of the object carries in Cinder.
func (r *VolumeReconciler) metadata(v *storagev1.OpenStackVolume, nsUID string) map[string]string {
	return map[string]string{
		storagev1.MetaCluster:      r.Cluster,
		storagev1.MetaNamespace:    v.Namespace,
		storagev1.MetaNamespaceUID: nsUID,
		storagev1.MetaName:         v.Name,
		storagev1.MetaUID:          string(v.UID),
	}
}

// create records the create in status, writes it, and only then sends
// it: a crash between the two leaves the record, and the next look-up
// waits for the create's volume instead of sending another.
func (r *VolumeReconciler) create(ctx context.Context, v *storagev1.OpenStackVolume, nsUID string, req cinder.CreateRequest) (*cinder.Volume, *outcome) {
	// A turn first: a create the pacing would keep back is not recorded.
	if err := r.Cinder.Hold(ctx); err != nil {
		o := cinderFailed("creating the volume", err)
		return nil, &o
	}
	now := metav1.Now()
	v.Status.CreateRequested = &now
	r.conditions(v, outcome{ready: notReady("Creating", "asking Cinder for a %d GiB volume", req.Size)})
	if err := r.Client.Status().Update(ctx, v); err != nil {
		// Not recorded, so not sent: come back once the cache caught up.
		o := outcome{ready: notReady("Creating", "recording the create: %v", err), after: 100 * time.Millisecond}
		if !apierrors.IsConflict(err) {
			o.failed = true
		}
		return nil, &o
	}
	req.Name = fmt.Sprintf("%s-%s", v.Namespace, v.Name)
	req.Description = fmt.Sprintf("OpenStackVolume %s/%s of cluster %s (Atrium)", v.Namespace, v.Name, r.Cluster)
	req.Metadata = r.metadata(v, nsUID)
	r.inventory.sending(v.UID)
	vol, err := r.Cinder.Create(ctx, req)
	if cinder.Gated(err) {
		// Not sent, for sure (a 429 closed the gate meanwhile, or every
		// request slot stayed busy): the record goes, so that the next try
		// need not wait out the grace.
		v.Status.CreateRequested = nil
		after, _ := cinder.Transient(err)
		o := outcome{ready: notReady("Creating", "waiting for its turn to ask Cinder (requests are paced, or Cinder asked to wait)"), after: after}
		return nil, &o
	}
	if err != nil {
		if cinder.ReasonOf(err) == cinder.Unavailable {
			// The create may have happened: the next look-up (after the
			// grace) finds it, or finds nothing and asks again.
			o := cinderFailed("creating the volume (it may exist: looking for it before asking again)", err)
			return nil, &o
		}
		// Refused outright: nothing was made, so the record goes and the
		// next try need not wait.
		v.Status.CreateRequested = nil
		o := cinderFailed("creating the volume", err)
		switch {
		case cinder.ReasonOf(err) == cinder.RateLimited:
			// Not refused: asked again once Cinder lets it (the
			// condition says so).
		case o.quota == nil:
			r.event(v, corev1.EventTypeWarning, "CreateRefused", "Create", "Cinder refused the volume: %v", err)
		default:
			r.event(v, corev1.EventTypeWarning, "QuotaExceeded", "Create", "Cinder's quota refused the volume: %v", err)
		}
		return nil, &o
	}
	r.event(v, corev1.EventTypeNormal, "Created", "Create", "Cinder volume %s (%d GiB) is being created in zone %s", vol.ID, vol.Size, vol.Zone)
	// The id goes into status at once, so that the polls read the volume
	// instead of looking it up.
	r.observe(v, vol)
	o := outcome{ready: notReady("Creating", "Cinder is creating volume %s", vol.ID), poll: true}
	return nil, &o
}

// settled stops while Cinder is busy with the volume, and reports its
// error states; it never creates a volume in place of one in error.
func (r *VolumeReconciler) settled(v *storagev1.OpenStackVolume, vol *cinder.Volume) *outcome {
	switch {
	case busy[vol.Status]:
		return &outcome{ready: notReady(waitingReason(vol.Status), "Cinder volume %s is %s", vol.ID, vol.Status), poll: true}
	case vol.Status == "error_extending":
		e := cond(metav1.ConditionTrue, "ExtendFailed", "Cinder could not extend volume %s (status error_extending); its data is kept at %d GiB. An OpenStack admin must reset its status before it can grow", vol.ID, vol.Size)
		r.event(v, corev1.EventTypeWarning, "ExtendFailed", "Extend", "%s", e.Message)
		return &outcome{ready: notReady("ExtendFailed", "%s", e.Message), cinderError: &e, failed: true, after: r.MaxBackoff}
	case vol.Status == "error":
		e := cond(metav1.ConditionTrue, "CinderError", "Cinder put volume %s in status error; no other volume is created in its place. Delete this object (the volume goes with it under reclaimPolicy Delete) or ask an OpenStack admin", vol.ID)
		r.event(v, corev1.EventTypeWarning, "CinderError", "Provision", "%s", e.Message)
		return &outcome{ready: notReady("CinderError", "%s", e.Message), cinderError: &e, failed: true, after: r.MaxBackoff}
	case !usable[vol.Status]:
		return &outcome{ready: notReady("VolumeUnusable", "Cinder volume %s is %s", vol.ID, vol.Status), failed: true}
	}
	return nil
}

func waitingReason(status string) string {
	switch status {
	case "creating", "downloading":
		return "Creating"
	case "extending":
		return "Extending"
	}
	return "CinderBusy"
}

// extend grows the Cinder volume to the requested size. The claim was
// grown first (and charged to the quota) by claim.
func (r *VolumeReconciler) extend(ctx context.Context, v *storagev1.OpenStackVolume, vol *cinder.Volume) *outcome {
	want := int(v.Spec.SizeGiB)
	if vol.Size >= want {
		return nil
	}
	if vol.Status == "in-use" && !r.Cinder.InUseExtend() {
		o := outcome{ready: notReady("DetachToExtend", "Cinder volume %s is attached, and this cloud (microversion below 3.42) extends only detached volumes: stop the pods using claim %s, and it grows to %d GiB", vol.ID, v.Claim(), want), poll: true, after: r.PollMax}
		return &o
	}
	r.unlearn(v.UID)
	if err := r.Cinder.Extend(ctx, vol.ID, want); err != nil {
		o := cinderFailed(fmt.Sprintf("extending Cinder volume %s to %d GiB", vol.ID, want), err)
		return &o
	}
	r.event(v, corev1.EventTypeNormal, "Extending", "Extend", "Cinder volume %s grows from %d to %d GiB", vol.ID, vol.Size, want)
	v.Status.VolumeStatus = "extending"
	return &outcome{ready: notReady("Extending", "Cinder is extending volume %s to %d GiB", vol.ID, want), poll: true}
}
