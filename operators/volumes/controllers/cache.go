package controllers

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/internal/trim"
)

// AnnotationsDigest stands, in the operator's cache, for an
// OpenStackVolume's annotations: a digest of them all, so that a change of
// annotations still starts a reconcile (the controller's predicate) while
// the cache holds 64 characters however much a tenant writes there.
const AnnotationsDigest = "storage.atrium.dev/annotations-digest"

// CacheOptions are the operator's cache: what it watches, and of each
// object only what it reads, so that its memory grows with the number of
// volumes and not with what tenants or other writers put on them.
//   - claims and PersistentVolumes: the operator's own only (label
//     VolumeUIDLabel), without annotations but the claim's
//     BindingAnnotation, without labels but the operator's, and of their
//     spec and status only the fields a
//     reconcile reads (TrimClaim, TrimPersistentVolume); the operator
//     writes them only by merge patches of what it changes, which leave
//     the rest as it is on the server.
//   - OpenStackVolumes: no labels (never read), annotations as a digest
//     (AnnotationsDigest), the strings volumes repeat shared (trim.Intern);
//     the operator writes them only by the status
//     subresource and by merge patches of its finalizer.
//
// managedFields are dropped from all, as internal/manager does for every
// component (a transform of an object's own replaces that default).
func CacheOptions() (cache.Options, error) {
	own, err := labels.NewRequirement(storagev1.VolumeUIDLabel, selection.Exists, nil)
	if err != nil {
		return cache.Options{}, err
	}
	mine := labels.NewSelector().Add(*own)
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.PersistentVolumeClaim{}: {Label: mine, Transform: TrimClaim},
		&corev1.PersistentVolume{}:      {Label: mine, Transform: TrimPersistentVolume},
		&storagev1.OpenStackVolume{}:    {Transform: TrimVolume},
	}}, nil
}

var stripManagedFields = cache.TransformStripManagedFields()

// TrimVolume is the cache's transform of an OpenStackVolume.
func TrimVolume(obj any) (any, error) {
	obj, err := stripManagedFields(obj)
	if err != nil {
		return obj, err
	}
	if v, ok := obj.(*storagev1.OpenStackVolume); ok {
		v.Labels = nil
		v.Annotations = trim.Digest(v.Annotations, AnnotationsDigest)
		// One copy of what thousands of volumes repeat: the conditions
		// (but the Ready message, which names the volume), the finalizer,
		// the zone, type and Cinder status.
		v.Status.Conditions = trim.Conditions(v.Status.Conditions, storagev1.ConditionReady)
		for i, f := range v.Finalizers {
			v.Finalizers[i] = trim.Intern(f)
		}
		v.Spec.VolumeType, v.Spec.AvailabilityZone = trim.Intern(v.Spec.VolumeType), trim.Intern(v.Spec.AvailabilityZone)
		v.Status.VolumeStatus, v.Status.VolumeType = trim.Intern(v.Status.VolumeStatus), trim.Intern(v.Status.VolumeType)
		v.Status.AvailabilityZone = trim.Intern(v.Status.AvailabilityZone)
	}
	return obj, nil
}

// TrimClaim is the cache's transform of a claim: its annotations but
// BindingAnnotation go (a tenant may annotate its claims; see
// claimAnnotations), and of its
// status only the phase stays, the one field the operator reads (the
// capacity, access modes and conditions the binder writes were some 1 KB
// a claim, 9 to 12 MiB at 10,000 volumes). Of its spec, what the operator
// reads stays: the storage request and the PersistentVolume it is bound
// to. The operator never writes a claim's status, and changes its spec
// only by merge patches of the request, which leave the rest as it is.
// Of its labels only the operator's stay (claimLabels), and the owner
// references' kind is shared between claims (trim.OwnerReferences).
func TrimClaim(obj any) (any, error) {
	obj, err := stripManagedFields(obj)
	if err != nil {
		return obj, err
	}
	if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok {
		pvc.Labels = claimLabels(pvc)
		trim.OwnerReferences(pvc.OwnerReferences)
		pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: pvc.Status.Phase}
		spec := corev1.PersistentVolumeClaimSpec{VolumeName: pvc.Spec.VolumeName}
		if q, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
			spec.Resources.Requests = storageSizes.shared(q)
		}
		pvc.Spec = spec
		pvc.Annotations = claimAnnotations(pvc)
	}
	return obj, nil
}

// BindingAsWanted stands, in the operator's cache, for the value of a
// claim's BindingAnnotation when it names the claim's own
// spec.volumeName, the one case nudge reads it for: one map every nudged
// claim shares, rather than a one-entry map each (about 4 MiB at 10,000
// volumes). It cannot be a PersistentVolume's name ("=" is not allowed in
// one), so it is never what the operator writes there.
const BindingAsWanted = "=spec.volumeName"

// bindingAsWanted is the one map; as for labelsAsWanted, nothing writes it.
var bindingAsWanted = map[string]string{BindingAnnotation: BindingAsWanted}

// claimAnnotations is what the cache keeps of a claim's annotations:
// BindingAnnotation alone (a tenant may annotate its claims), as the
// shared bindingAsWanted when it names the claim's PersistentVolume.
func claimAnnotations(pvc *corev1.PersistentVolumeClaim) map[string]string {
	v, ok := pvc.Annotations[BindingAnnotation]
	switch {
	case !ok:
		return nil
	case v == BindingAsWanted || (v != "" && v == pvc.Spec.VolumeName):
		return bindingAsWanted
	}
	return map[string]string{BindingAnnotation: v}
}

// LabelsAsWanted stands, in the operator's cache, for a claim's labels
// when they are the three its volume gives it, naming the volume that
// controls the claim: one map every such claim shares, rather than a map
// each (about 3 MiB at 10,000 volumes).
const LabelsAsWanted = "storage.atrium.dev/labels-as-wanted"

// labelsAsWanted is the one map. Nothing writes a cached object in place:
// a cache read returns a deep copy.
var labelsAsWanted = map[string]string{LabelsAsWanted: "true"}

// claimLabels is what the cache keeps of a claim's labels: LabelsAsWanted
// when the operator's three are what the controlling volume gives them,
// else those three as they are. The labels a tenant adds to its claims
// are not kept: the operator reads none, and a claim's labels, unlike its
// annotations, have no size limit of their own.
func claimLabels(pvc *corev1.PersistentVolumeClaim) map[string]string {
	l := pvc.Labels
	if _, ok := l[LabelsAsWanted]; ok && len(l) == 1 {
		return labelsAsWanted // already trimmed
	}
	if ref := metav1.GetControllerOf(pvc); ref != nil && l[storagev1.VolumeLabel] == ref.Name &&
		l[storagev1.VolumeUIDLabel] == string(ref.UID) && l[storagev1.VolumeNamespaceLabel] == pvc.Namespace {
		return labelsAsWanted
	}
	var out map[string]string
	for _, k := range []string{storagev1.VolumeLabel, storagev1.VolumeNamespaceLabel, storagev1.VolumeUIDLabel} {
		if v, ok := l[k]; ok {
			if out == nil {
				out = make(map[string]string, 3)
			}
			out[trim.Intern(k)] = v
		}
	}
	return out
}

// TrimPersistentVolume is the cache's transform of a PersistentVolume: its
// annotations (the binder's) go, and of its status (the binder's, which
// the operator does not read) the phase alone stays. Of its spec, what the
// operator reads stays: the capacity and the CSI driver and volume handle
// (which Cinder volume it stands for). The rest (access modes, claim
// reference, node affinity, class, mode, reclaim policy) the operator
// writes when it creates the PersistentVolume and never reads again; it
// changes the spec only by merge patches of the capacity, which leave the
// rest as it is. Label keys and the repeated label values are shared
// (trim.Labels).
func TrimPersistentVolume(obj any) (any, error) {
	obj, err := stripManagedFields(obj)
	if err != nil {
		return obj, err
	}
	if pv, ok := obj.(*corev1.PersistentVolume); ok {
		pv.Labels = trim.Labels(pv.Labels, storagev1.VolumeUIDLabel)
		pv.Annotations = nil
		pv.Status = corev1.PersistentVolumeStatus{Phase: pv.Status.Phase}
		spec := corev1.PersistentVolumeSpec{}
		if q, ok := pv.Spec.Capacity[corev1.ResourceStorage]; ok {
			spec.Capacity = storageSizes.shared(q)
		}
		if csi := pv.Spec.CSI; csi != nil {
			spec.CSI = &corev1.CSIPersistentVolumeSource{Driver: csi.Driver, VolumeHandle: csi.VolumeHandle}
		}
		pv.Spec = spec
	}
	return obj, nil
}

// storageSizes are the storage quantities the cache's claims and
// PersistentVolumes share.
var storageSizes = &sizes{max: 1024}

// sizes keeps one resource list for each storage size, which every cached
// claim and PersistentVolume of that size shares: most volumes have one of
// a few sizes, and a one-entry map costs some 400 bytes, twice a volume.
// Sharing is safe because nothing writes a cached object in place (a cache
// read returns a deep copy; the resync reads without one, and only reads).
// Once max sizes are kept the table starts afresh: the objects sharing a
// list dropped from it keep it.
type sizes struct {
	mu    sync.Mutex
	max   int
	lists map[string]corev1.ResourceList
}

func (s *sizes) shared(q resource.Quantity) corev1.ResourceList {
	key := q.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.lists[key]; ok {
		return l
	}
	if s.lists == nil || len(s.lists) >= s.max {
		s.lists = map[string]corev1.ResourceList{}
	}
	l := corev1.ResourceList{corev1.ResourceStorage: q}
	s.lists[key] = l
	return l
}
