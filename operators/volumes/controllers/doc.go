// Package controllers turns OpenStackVolumes into Cinder volumes, a
// PersistentVolume for each and a PersistentVolumeClaim bound to it.
//
// The order of a reconcile is what keeps data safe and quotas exact:
//
//  1. claim: the claim is made first, before anything exists in Cinder.
//     Its request is charged by the API server's ResourceQuota (the
//     tier's "atrium-storage"), atomically, however many volumes are
//     created at once; a claim the quota refuses means no Cinder volume.
//  2. volume: the Cinder volume is found by the object's UID in its
//     metadata, and created only when a successful look-up says there is
//     none. A failed look-up is "unknown", never "absent"; a create whose
//     answer was lost is found by the next look-up. A create is recorded
//     in status before it is sent, so a delete right after a crash waits
//     for a create that may still be on its way.
//  3. settle: while Cinder says creating, extending or downloading, the
//     object is requeued with a growing delay; no worker waits.
//  4. extend: a larger size grows the claim (charged by the quota), then
//     the Cinder volume; the PersistentVolume follows Cinder's size.
//  5. bind: the PersistentVolume names the claim (with its UID), so it
//     binds to nothing else. While claim and PersistentVolume bind, their
//     events start reconciles that use Cinder's last answer about a
//     settled volume for AnswerTTL instead of reading it again (answers.go).
//
// Deleting keeps the Cinder volume unless the policy is Delete; a kept
// volume is marked released in its metadata and can be adopted again by
// the same namespace. Nothing here ever deletes a volume that its object
// did not create or adopt, and volumes that no object holds are reported
// (orphans.go), never deleted.
package controllers
