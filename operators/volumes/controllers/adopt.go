package controllers

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// heldBy says whether an object of the cache other than v holds Cinder
// volume id (in its status). It reads every volume of the cache in place,
// without copies: adoption is rare, and scanning 10,000 volumes costs less
// than an index kept for them all (a set of its own for each volume's id,
// twice over: some 8 MiB of the operator's heap at 10,000 volumes).
func (r *VolumeReconciler) heldBy(ctx context.Context, v *storagev1.OpenStackVolume, id string) (bool, error) {
	all := &storagev1.OpenStackVolumeList{}
	if err := r.Client.List(ctx, all, client.UnsafeDisableDeepCopy); err != nil {
		return false, err
	}
	for i := range all.Items {
		// Only a holder counts, not another object asking for the same
		// volume: a request that will be refused must not block the
		// namespace whose volume it is.
		if o := &all.Items[i]; o.UID != v.UID && o.Status.VolumeID == id {
			return true, nil
		}
	}
	return false, nil
}

// mayTake says whether the namespace may take a volume (or a snapshot)
// with metadata md that no object holds: one it made itself (this
// namespace, by UID: not an earlier one of the same name, whose Project
// may have been another tenant's), in this cluster, or one an admin marked
// for it. Another tenant's data is never taken, whatever the tier allows.
func (r *VolumeReconciler) mayTake(v *storagev1.OpenStackVolume, nsUID string, md map[string]string) bool {
	if md[storagev1.MetaAdoptableBy] == r.Cluster+"/"+v.Namespace {
		return true
	}
	return md[storagev1.MetaUID] != "" && md[storagev1.MetaCluster] == r.Cluster &&
		md[storagev1.MetaNamespace] == v.Namespace && nsUID != "" && md[storagev1.MetaNamespaceUID] == nsUID
}

// adopt takes an existing Cinder volume for the object: it must be free
// (released, or never Atrium's), this namespace's to take, and match the
// spec. It is taken by rewriting its metadata, under a lock and after
// checking that no other object of this cluster holds or asks for it.
func (r *VolumeReconciler) adopt(ctx context.Context, v *storagev1.OpenStackVolume) (*cinder.Volume, *outcome) {
	id := v.Spec.Source.VolumeID
	refuse := func(format string, args ...any) (*cinder.Volume, *outcome) {
		msg := fmt.Sprintf(format, args...)
		r.event(v, corev1.EventTypeWarning, "AdoptionRefused", "Adopt", "%s", msg)
		o := outcome{ready: notReady("AdoptionRefused", "%s", msg), failed: true, after: r.MaxBackoff}
		return nil, &o
	}
	r.adopting.Lock()
	defer r.adopting.Unlock()
	if uid, ok := r.adopted[id]; ok && uid != v.UID {
		return refuse("Cinder volume %s is held by another OpenStackVolume", id)
	}
	held, err := r.heldBy(ctx, v, id)
	if err != nil {
		o := outcome{ready: notReady("AdoptionPending", "checking who holds volume %s: %v", id, err), failed: true}
		return nil, &o
	}
	if held {
		return refuse("Cinder volume %s is held by another OpenStackVolume", id)
	}
	vol, err := r.Cinder.Get(ctx, id)
	if cinder.IsNotFound(err) {
		return refuse("there is no Cinder volume %s in this cluster's OpenStack project", id)
	}
	if err != nil {
		o := cinderFailed("reading Cinder volume "+id+" to adopt it", err)
		return nil, &o
	}
	md := vol.Metadata
	if holder := md[storagev1.MetaUID]; holder != "" && holder != string(v.UID) && md[storagev1.MetaReleased] == "" {
		return refuse("Cinder volume %s is held by another OpenStackVolume (of this cluster or another of the fleet)", id)
	}
	nsUID, o := r.namespaceUID(ctx, v)
	if o != nil {
		return nil, o
	}
	if md[storagev1.MetaUID] != string(v.UID) && !r.mayTake(v, nsUID, md) {
		return refuse("Cinder volume %s was not made in this namespace; an OpenStack admin can mark it for it with the metadata %s=%s/%s", id, storagev1.MetaAdoptableBy, r.Cluster, v.Namespace)
	}
	if !usable[vol.Status] {
		return refuse("Cinder volume %s is %s; only an available or in-use volume can be adopted", id, vol.Status)
	}
	if vol.Size > int(v.Spec.SizeGiB) {
		return refuse("Cinder volume %s has %d GiB; set spec.sizeGiB to at least %d (the quota counts what the volume holds)", id, vol.Size, vol.Size)
	}
	if z := v.Spec.AvailabilityZone; z != "" && z != vol.Zone {
		return refuse("Cinder volume %s is in availability zone %s, not %s; set spec.availabilityZone to %s or leave it empty", id, vol.Zone, z, vol.Zone)
	}
	if t := v.Spec.VolumeType; t != "" && t != vol.Type {
		return refuse("Cinder volume %s is of type %s, not %s; set spec.volumeType to %s or leave it empty", id, vol.Type, t, vol.Type)
	}
	if md[storagev1.MetaUID] != string(v.UID) {
		next := maps.Clone(md)
		delete(next, storagev1.MetaReleased)
		delete(next, storagev1.MetaAdoptableBy)
		maps.Copy(next, r.metadata(v, nsUID))
		if err := r.Cinder.SetMetadata(ctx, id, next); err != nil {
			o := cinderFailed("writing this object into Cinder volume "+id+"'s metadata", err)
			return nil, &o
		}
		vol.Metadata = next
		r.event(v, corev1.EventTypeNormal, "Adopted", "Adopt", "Cinder volume %s (%d GiB, zone %s) is now this object's", id, vol.Size, vol.Zone)
	}
	if r.adopted == nil {
		r.adopted = map[string]types.UID{}
	}
	r.adopted[id] = v.UID
	return vol, nil
}

// fromSnapshot creates the volume from a snapshot of a volume this
// namespace holds or held (or one an admin marked for it), in the
// snapshot's availability zone.
func (r *VolumeReconciler) fromSnapshot(ctx context.Context, v *storagev1.OpenStackVolume) (*cinder.Volume, *outcome) {
	id := v.Spec.Source.SnapshotID
	refuse := func(format string, args ...any) (*cinder.Volume, *outcome) {
		msg := fmt.Sprintf(format, args...)
		r.event(v, corev1.EventTypeWarning, "SnapshotRefused", "Create", "%s", msg)
		o := outcome{ready: notReady("SnapshotRefused", "%s", msg), failed: true, after: r.MaxBackoff}
		return nil, &o
	}
	snap, err := r.Cinder.Snapshot(ctx, id)
	if cinder.IsNotFound(err) {
		return refuse("there is no Cinder snapshot %s in this cluster's OpenStack project", id)
	}
	if err != nil {
		o := cinderFailed("reading Cinder snapshot "+id, err)
		return nil, &o
	}
	src, err := r.Cinder.Get(ctx, snap.VolumeID)
	if err != nil && !cinder.IsNotFound(err) {
		o := cinderFailed("reading the volume of snapshot "+id, err)
		return nil, &o
	}
	nsUID, o := r.namespaceUID(ctx, v)
	if o != nil {
		return nil, o
	}
	if !r.mayTake(v, nsUID, snap.Metadata) && (src == nil || !r.mayTake(v, nsUID, src.Metadata)) {
		return refuse("Cinder snapshot %s is not of a volume of this namespace; an OpenStack admin can mark it for it with the metadata %s=%s/%s", id, storagev1.MetaAdoptableBy, r.Cluster, v.Namespace)
	}
	switch snap.Status {
	case "available":
	case "creating":
		o := outcome{ready: notReady("Creating", "waiting for Cinder snapshot %s to be available", id), poll: true}
		return nil, &o
	default:
		return refuse("Cinder snapshot %s is %s; only an available snapshot can be restored", id, snap.Status)
	}
	if snap.Size > int(v.Spec.SizeGiB) {
		return refuse("Cinder snapshot %s has %d GiB; set spec.sizeGiB to at least %d", id, snap.Size, snap.Size)
	}
	zone := ""
	if src != nil {
		zone = src.Zone
	}
	if z := v.Spec.AvailabilityZone; z != "" && zone != "" && z != zone {
		return refuse("Cinder snapshot %s is in availability zone %s, not %s: a volume is restored in its snapshot's zone; set spec.availabilityZone to %s or leave it empty", id, zone, z, zone)
	}
	if zone == "" {
		zone = v.Spec.AvailabilityZone
	}
	return r.create(ctx, v, nsUID, cinder.CreateRequest{Size: int(v.Spec.SizeGiB), Type: v.Spec.VolumeType, Zone: zone, SnapshotID: id})
}

// namespaceUID is the UID of the object's namespace, read from the API
// server (never cached: a namespace deleted and made again under the same
// name has another UID, and that difference is the point).
func (r *VolumeReconciler) namespaceUID(ctx context.Context, v *storagev1.OpenStackVolume) (string, *outcome) {
	ns := &corev1.Namespace{}
	if err := r.Reader.Get(ctx, types.NamespacedName{Name: v.Namespace}, ns); err != nil {
		o := outcome{ready: notReady("NamespaceUnknown", "reading the namespace %s: %v", v.Namespace, err), failed: true}
		return "", &o
	}
	return string(ns.UID), nil
}
