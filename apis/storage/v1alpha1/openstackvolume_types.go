package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OpenStackVolumeSchemaVersion is the schema version of the OpenStackVolume CRD these
// types describe, the atrium.dev/schema-version annotation its marker
// writes on the CRD; raise both with a field that binaries rely on.
const OpenStackVolumeSchemaVersion = 1

// ReclaimPolicy says what happens to the Cinder volume when its
// OpenStackVolume is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type ReclaimPolicy string

const (
	// ReclaimRetain keeps the Cinder volume, marked released in its
	// metadata, so that it can be adopted again. The default: clusters
	// hold data, and nothing is deleted that the user did not ask to
	// delete.
	ReclaimRetain ReclaimPolicy = "Retain"
	// ReclaimDelete deletes the Cinder volume once it is detached.
	ReclaimDelete ReclaimPolicy = "Delete"
)

// VolumeSource is where the volume's data comes from: nothing (a new,
// empty volume), an existing Cinder volume to adopt, or a snapshot.
// +kubebuilder:validation:XValidation:rule="!(has(self.volumeID) && has(self.snapshotID))",message="set at most one of volumeID and snapshotID"
type VolumeSource struct {
	// VolumeID adopts an existing Cinder volume of the cluster's OpenStack
	// project: one this namespace (this very namespace, not an earlier one
	// of the same name) retained when it deleted an OpenStackVolume, or
	// one an admin marked for it (metadata
	// atrium.dev/adoptable-by = "<cluster>/<namespace>"). The tier must
	// allow adoption, and no other OpenStackVolume (of this cluster or
	// another of the fleet) may hold it.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
	// +optional
	VolumeID string `json:"volumeID,omitempty"`

	// SnapshotID creates the volume from a Cinder snapshot of the
	// cluster's OpenStack project, in the snapshot's availability zone.
	// The snapshot must be of a volume this namespace holds or held, or
	// marked for it by an admin (metadata atrium.dev/adoptable-by on the
	// snapshot): no tenant reads another's data through a snapshot.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
	// +optional
	SnapshotID string `json:"snapshotID,omitempty"`
}

// OpenStackVolumeSpec is what the tenant asks for.
type OpenStackVolumeSpec struct {
	// SizeGiB is the volume's size in GiB. It may grow (the Cinder volume
	// is extended, then the PersistentVolume and the claim), never shrink.
	// An adopted volume or one from a snapshot is at least as large as
	// its source.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65536
	// +kubebuilder:validation:XValidation:rule="self >= oldSelf",message="a volume cannot shrink: sizeGiB may only grow"
	SizeGiB int32 `json:"sizeGiB"`

	// VolumeType is the Cinder volume type ("standard", "io1"…); empty
	// for the cloud's default type. The Project's tier may restrict it.
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="volumeType is immutable"
	// +optional
	VolumeType string `json:"volumeType,omitempty"`

	// AvailabilityZone is the Cinder availability zone; empty for the
	// cluster's default zone (or, from a snapshot, the snapshot's). Pods
	// using the volume are scheduled to nodes of that zone.
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="availabilityZone is immutable"
	// +optional
	AvailabilityZone string `json:"availabilityZone,omitempty"`

	// Source is where the data comes from; a new, empty volume when unset.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="source is immutable"
	// +optional
	Source *VolumeSource `json:"source,omitempty"`

	// ReclaimPolicy is Retain (the default: the Cinder volume outlives
	// this object) or Delete (it is deleted with it, once detached).
	// +kubebuilder:default=Retain
	// +optional
	ReclaimPolicy ReclaimPolicy `json:"reclaimPolicy,omitempty"`

	// ClaimName is the PersistentVolumeClaim the operator creates in this
	// namespace, bound to the volume; the object's name by default.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="claimName is immutable"
	// +optional
	ClaimName string `json:"claimName,omitempty"`

	// AccessMode of the claim: ReadWriteOnce (the default: one node at a
	// time, as a Cinder volume attaches to one server) or ReadWriteOncePod.
	// +kubebuilder:validation:Enum=ReadWriteOnce;ReadWriteOncePod
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="accessMode is immutable"
	// +kubebuilder:default=ReadWriteOnce
	// +optional
	AccessMode corev1.PersistentVolumeAccessMode `json:"accessMode,omitempty"`
}

// OpenStackVolumeStatus is what the operator observed.
type OpenStackVolumeStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// VolumeID is the Cinder volume's id.
	// +optional
	VolumeID string `json:"volumeID,omitempty"`

	// CreateRequested is when the operator last asked Cinder to create the
	// volume, written before the request is sent: a look-up that finds no
	// volume soon after waits before asking again or letting the object
	// go, since the create may still be on its way.
	// +optional
	CreateRequested *metav1.Time `json:"createRequested,omitempty"`

	// VolumeStatus is the Cinder volume's status as last read (creating,
	// available, in-use, extending, error…).
	// +optional
	VolumeStatus string `json:"volumeStatus,omitempty"`

	// CapacityGiB is the Cinder volume's size as last read.
	// +optional
	CapacityGiB int32 `json:"capacityGiB,omitempty"`

	// AvailabilityZone is the Cinder volume's availability zone.
	// +optional
	AvailabilityZone string `json:"availabilityZone,omitempty"`

	// VolumeType is the Cinder volume's type.
	// +optional
	VolumeType string `json:"volumeType,omitempty"`

	// PersistentVolumeName is the PersistentVolume standing for the
	// Cinder volume.
	// +optional
	PersistentVolumeName string `json:"persistentVolumeName,omitempty"`

	// ClaimName is the PersistentVolumeClaim bound to it, in this
	// namespace.
	// +optional
	ClaimName string `json:"claimName,omitempty"`

	// Conditions: Ready (the claim is bound to the Cinder volume at the
	// requested size), QuotaExceeded (Cinder's or the tier's quota refused
	// a create or an extend), Error (Cinder put the volume in an error
	// state; the reason says which).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Condition types of an OpenStackVolume.
const (
	// ConditionReady says the claim is bound to the Cinder volume at the
	// requested size.
	ConditionReady = "Ready"
	// ConditionQuotaExceeded says a quota (Cinder's project quota or the
	// tier's) refused a create or an extend; nothing is retried until the
	// spec or the quota changes, or the resync.
	ConditionQuotaExceeded = "QuotaExceeded"
	// ConditionError says Cinder put the volume in an error state.
	ConditionError = "Error"
)

// Finalizer keeps an OpenStackVolume until its Cinder volume is released
// (Retain) or deleted (Delete).
const Finalizer = "storage.atrium.dev/cinder"

// StorageClassName is the StorageClass of every PersistentVolume and claim
// the operator makes. It provisions nothing (kubernetes.io/no-provisioner),
// so a tenant cannot get a Cinder volume past the operator, and it allows
// expansion, so a claim can grow. Tiers' storage quotas are ResourceQuota
// entries of this class, which the API server enforces atomically.
const StorageClassName = "atrium-openstack"

// CSIDriver is the driver that attaches and mounts the volumes on nodes.
const CSIDriver = "cinder.csi.openstack.org"

// Metadata keys the operator writes on Cinder volumes. They say which
// object of which cluster holds the volume, so a volume created before a
// crash is found again, adoption can tell a held volume from a free one
// across the fleet, and orphans can be listed.
const (
	// MetaCluster is the member cluster's name.
	MetaCluster = "atrium.dev/cluster"
	// MetaNamespace and MetaName name the OpenStackVolume.
	MetaNamespace = "atrium.dev/namespace"
	MetaName      = "atrium.dev/name"
	// MetaNamespaceUID is its namespace's UID: a namespace of the same
	// name made later (another tenant's Project of a name that became
	// free) is not the one that held the volume, and may not adopt it.
	MetaNamespaceUID = "atrium.dev/namespace-uid"
	// MetaUID is the OpenStackVolume's UID: the key of create-exactly-once.
	MetaUID = "atrium.dev/uid"
	// MetaReleased is set, to the time of release (RFC 3339), when the
	// OpenStackVolume was deleted with Retain: the volume is free to be
	// adopted again.
	MetaReleased = "atrium.dev/released"
	// MetaAdoptableBy, set by an admin to "<cluster>/<namespace>", lets
	// that namespace adopt a volume (or create one from a snapshot) that
	// it did not make.
	MetaAdoptableBy = "atrium.dev/adoptable-by"
)

// Labels on the PersistentVolume and claim the operator makes.
const (
	// VolumeLabel is the OpenStackVolume's name.
	VolumeLabel = "storage.atrium.dev/volume"
	// VolumeNamespaceLabel is its namespace (on the PersistentVolume,
	// which is cluster-scoped and so cannot have it as owner).
	VolumeNamespaceLabel = "storage.atrium.dev/volume-namespace"
	// VolumeUIDLabel is its UID.
	VolumeUIDLabel = "storage.atrium.dev/volume-uid"
)

// OpenStackVolume is a Cinder volume of the cluster's OpenStack project and
// a PersistentVolumeClaim bound to it, in the namespace of a Project.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=osv;osvol,categories=atrium
// +kubebuilder:metadata:annotations="atrium.dev/schema-version=1"
// +kubebuilder:printcolumn:name="Size",type=integer,JSONPath=`.spec.sizeGiB`
// +kubebuilder:printcolumn:name="Capacity",type=integer,JSONPath=`.status.capacityGiB`
// +kubebuilder:printcolumn:name="Zone",type=string,JSONPath=`.status.availabilityZone`
// +kubebuilder:printcolumn:name="Claim",type=string,JSONPath=`.status.claimName`
// +kubebuilder:printcolumn:name="Cinder",type=string,JSONPath=`.status.volumeStatus`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Volume ID",type=string,JSONPath=`.status.volumeID`,priority=1
// +kubebuilder:printcolumn:name="Reclaim",type=string,JSONPath=`.spec.reclaimPolicy`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type OpenStackVolume struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   OpenStackVolumeSpec   `json:"spec"`
	Status OpenStackVolumeStatus `json:"status,omitempty"`
}

// Claim is the name of the volume's PersistentVolumeClaim.
func (v *OpenStackVolume) Claim() string {
	if v.Spec.ClaimName != "" {
		return v.Spec.ClaimName
	}
	return v.Name
}

// PersistentVolume is the name of the volume's PersistentVolume: unique in
// the cluster and stable for the object's life.
func (v *OpenStackVolume) PersistentVolume() string {
	return "atrium-" + string(v.UID)
}

// OpenStackVolumeList is a list of OpenStackVolumes.
//
// +kubebuilder:object:root=true
type OpenStackVolumeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OpenStackVolume `json:"items"`
}
