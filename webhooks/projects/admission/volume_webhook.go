package admission

import (
	"context"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// ValidateVolumePath is where OpenStackVolume admission is served.
const ValidateVolumePath = "/validate-storage-atrium-dev-v1alpha1-openstackvolume"

// volumeIDIndex indexes OpenStackVolumes by the Cinder volume they hold:
// the one they adopt (spec.source.volumeID) and the one the operator
// recorded (status.volumeID), so that "who else holds volume X" is one
// lookup, across namespaces. "The volumes of namespace N" needs no index
// of ours: the cache indexes every namespaced kind by namespace.
const volumeIDIndex = "admission.volumeID"

// +kubebuilder:webhook:path=/validate-storage-atrium-dev-v1alpha1-openstackvolume,mutating=false,failurePolicy=fail,sideEffects=None,groups=storage.atrium.dev,resources=openstackvolumes,verbs=create;update,versions=v1alpha1,name=vopenstackvolume.storage.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10

// +kubebuilder:rbac:groups=storage.atrium.dev,resources=openstackvolumes,verbs=get;list;watch

// heldVolumeIDs are the Cinder volumes an OpenStackVolume holds.
func heldVolumeIDs(o client.Object) []string {
	v := o.(*storagev1.OpenStackVolume)
	var out []string
	if v.Spec.Source != nil && v.Spec.Source.VolumeID != "" {
		out = append(out, v.Spec.Source.VolumeID)
	}
	if id := v.Status.VolumeID; id != "" && (len(out) == 0 || out[0] != id) {
		out = append(out, id)
	}
	return out
}

// validateVolume checks an OpenStackVolume create or update (see
// volumeDecision) against the namespace's Project and tier, from the
// webhook's caches.
func (h *Projects) validateVolume(ctx context.Context, req admission.Request) admission.Response {
	c := volumeChange{new: &storagev1.OpenStackVolume{}}
	if err := h.decoder.Decode(req, c.new); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if req.Operation == admissionv1.Update {
		c.old = &storagev1.OpenStackVolume{}
		if err := h.decoder.DecodeRaw(req.OldObject, c.old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	if volumeNeedsFacts(c) {
		if err := h.volumeFacts(ctx, &c); err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
	}
	if err := volumeDecision(c); err != nil {
		return admission.Denied(err.Error())
	}
	return admission.Allowed("")
}

// volumeFacts reads what volumeDecision needs: the namespace's Project (a
// namespace is a Project's when it carries the project label with its own
// name and that Project controls it: tenants cannot label namespaces, and
// the operator labels only those of Projects), its tier, the namespace's
// other volumes and, when the volume adopts one, the others that hold the
// same Cinder volume.
func (h *Projects) volumeFacts(ctx context.Context, c *volumeChange) error {
	name := c.new.Namespace
	ns := &corev1.Namespace{}
	if err := h.Client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return client.IgnoreNotFound(err)
	}
	if ns.Labels[tenancyv1.ProjectLabel] != name {
		return nil
	}
	p := &tenancyv1.Project{}
	if err := h.Client.Get(ctx, client.ObjectKey{Name: name}, p); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(ns, p) {
		return nil
	}
	c.project = p
	if p.Spec.Tier == "" {
		return nil
	}
	tier := &tenancyv1.ProjectTier{}
	switch err := h.Client.Get(ctx, client.ObjectKey{Name: p.Spec.Tier}, tier); {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	}
	c.tier = tier

	var inNamespace storagev1.OpenStackVolumeList
	if err := h.Client.List(ctx, &inNamespace, client.InNamespace(name)); err != nil {
		return fmt.Errorf("listing the OpenStackVolumes of namespace %s: %w", name, err)
	}
	for _, v := range inNamespace.Items {
		if v.UID != c.new.UID {
			c.others = append(c.others, v)
		}
	}
	if src := c.new.Spec.Source; c.old == nil && src != nil && src.VolumeID != "" {
		var holders storagev1.OpenStackVolumeList
		if err := h.Client.List(ctx, &holders, client.MatchingFields{volumeIDIndex: src.VolumeID}); err != nil {
			return fmt.Errorf("looking up the holders of Cinder volume %s: %w", src.VolumeID, err)
		}
		for _, v := range holders.Items {
			if v.UID != c.new.UID {
				c.holders = append(c.holders, v)
			}
		}
	}
	return nil
}
