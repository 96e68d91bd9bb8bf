// Package v1alpha1 is the storage.atrium.dev API: OpenStackVolumes, which
// give a tenant a Cinder volume and a PersistentVolumeClaim bound to it.
//
// +kubebuilder:object:generate=true
// +groupName=storage.atrium.dev
package v1alpha1
