package admission

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// volumeChange is what volumeDecision looks at: the request and what the
// webhook's caches say about the namespace, its Project and its tier.
type volumeChange struct {
	// old is the volume before an update; nil on create.
	old *storagev1.OpenStackVolume
	new *storagev1.OpenStackVolume
	// project is the Project whose namespace the volume is in; nil when
	// the namespace is no Project's.
	project *tenancyv1.Project
	// tier is the Project's tier; nil when it does not exist.
	tier *tenancyv1.ProjectTier
	// others are the other OpenStackVolumes of the namespace (not the
	// volume itself).
	others []storagev1.OpenStackVolume
	// holders are the other OpenStackVolumes of the cluster, in any
	// namespace, that hold the Cinder volume new.Spec.Source.VolumeID (in
	// their spec.source.volumeID or status.volumeID).
	holders []storagev1.OpenStackVolume
}

// specUnchanged reports whether an update leaves the volume's spec as it
// was: a finalizer removed, a label added, the operator's status. Such an
// update is always admitted, whatever the tier now says: a tier that stops
// offering storage must never keep a volume from being deleted.
func (c volumeChange) specUnchanged() bool {
	return c.old != nil && equality.Semantic.DeepEqual(c.old.Spec, c.new.Spec)
}

// grows reports whether an update asks for a larger volume.
func (c volumeChange) grows() bool {
	return c.old != nil && c.new.Spec.SizeGiB > c.old.Spec.SizeGiB
}

// volumeNeedsFacts reports whether volumeDecision needs the namespace's
// Project, its tier and volumes to decide; when it does not, the webhook
// reads nothing.
func volumeNeedsFacts(c volumeChange) bool {
	return c.old == nil || c.grows()
}

// volumeDecision decides whether an OpenStackVolume may be created, or
// updated as asked:
//   - create: in a Project's namespace, on a tier that offers storage, of
//     a volume type the tier offers, at most the tier's largest volume,
//     adopting only on a tier that allows it a Cinder volume nothing else
//     holds, and within the tier's GiB and count per Project;
//   - update: a volume never shrinks; growing is checked against the
//     largest volume and the GiB per Project only; anything else (the
//     spec's other mutable fields, metadata, status) is admitted, and so
//     is every update that leaves the spec as it was.
//
// Deletes are not intercepted. The refusals name the field, the limit and
// the tier, so that the user knows what to change.
func volumeDecision(c volumeChange) error {
	if c.old != nil {
		if c.new.Spec.SizeGiB < c.old.Spec.SizeGiB {
			return fmt.Errorf("spec.sizeGiB cannot go from %d to %d GiB: a volume cannot shrink, only grow; to get a smaller one, create a new OpenStackVolume and copy the data",
				c.old.Spec.SizeGiB, c.new.Spec.SizeGiB)
		}
		if !c.grows() {
			return nil
		}
	}
	st, err := offeredStorage(c)
	if err != nil {
		return err
	}
	var problems []string
	v := &c.new.Spec
	if c.old == nil {
		if msg := volumeTypeProblem(st, c.tier.Name, v.VolumeType); msg != "" {
			problems = append(problems, msg)
		}
	}
	if st.MaxVolumeGiB != nil && v.SizeGiB > *st.MaxVolumeGiB {
		problems = append(problems, fmt.Sprintf("spec.sizeGiB %d is more than tier %q allows for one volume (storage.maxVolumeGiB %d); ask for at most %d GiB",
			v.SizeGiB, c.tier.Name, *st.MaxVolumeGiB, *st.MaxVolumeGiB))
	}
	if c.old == nil && v.Source != nil && v.Source.VolumeID != "" {
		if msg := adoptionProblem(st, c.tier.Name, v.Source.VolumeID, c.new.Namespace, c.holders); msg != "" {
			problems = append(problems, msg)
		}
	}
	problems = append(problems, quotaProblems(c, st)...)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// offeredStorage is the storage the volume's tier offers, or why there is
// none for it.
func offeredStorage(c volumeChange) (*tenancyv1.TierStorage, error) {
	ns := c.new.Namespace
	switch {
	case c.project == nil:
		return nil, fmt.Errorf("OpenStackVolumes live only in the namespaces of Projects, and namespace %s is not a Project's; create the volume in one of your Projects (kubectl get myprojects)", ns)
	case c.project.Spec.Tier == "":
		return nil, fmt.Errorf("Project %s has no tier, so it offers no OpenStack volumes; set its spec.tier to a tier with spec.storage (kubectl get projecttiers)", c.project.Name)
	case c.tier == nil:
		return nil, fmt.Errorf("tier %q of Project %s does not exist, so it offers no OpenStack volumes; move the Project to a tier with spec.storage (kubectl get projecttiers), or ask an admin", c.project.Spec.Tier, c.project.Name)
	case c.tier.Spec.Storage == nil:
		return nil, fmt.Errorf("tier %q offers no OpenStack volumes (it has no spec.storage), and Project %s is on it; move the Project to a tier that does (kubectl get projecttiers), or ask an admin", c.tier.Name, c.project.Name)
	}
	return c.tier.Spec.Storage, nil
}

// volumeTypeProblem says why a volume type is not offered, or "". An empty
// list offers every type; the cloud's default (an empty volumeType) is
// offered when the list is empty or lists "".
func volumeTypeProblem(st *tenancyv1.TierStorage, tier, volumeType string) string {
	if len(st.VolumeTypes) == 0 || slices.Contains(st.VolumeTypes, volumeType) {
		return ""
	}
	offered := make([]string, 0, len(st.VolumeTypes))
	for _, t := range st.VolumeTypes {
		if t == "" {
			offered = append(offered, `"" (the cloud's default)`)
			continue
		}
		offered = append(offered, strconv.Quote(t))
	}
	if volumeType == "" {
		return fmt.Sprintf("spec.volumeType is empty (the cloud's default type), which tier %q does not offer (storage.volumeTypes); set spec.volumeType to one of %s",
			tier, strings.Join(offered, ", "))
	}
	return fmt.Sprintf("spec.volumeType %q is not offered by tier %q (storage.volumeTypes); choose one of %s", volumeType, tier, strings.Join(offered, ", "))
}

// adoptionProblem says why a Cinder volume cannot be adopted, or "". A
// volume held by an OpenStackVolume of another namespace is refused
// without a word about that namespace or object: which tenant holds which
// volume is not another tenant's business. This sees the cluster's
// OpenStackVolumes only, from a cache: the volumes operator, which reads
// the volume's metadata in Cinder, is the authority (held by another
// cluster of the fleet, adopted by a request racing this one, or not this
// namespace's to adopt).
func adoptionProblem(st *tenancyv1.TierStorage, tier, id, namespace string, holders []storagev1.OpenStackVolume) string {
	if !st.AllowAdoption {
		return fmt.Sprintf("spec.source.volumeID: tier %q does not allow adopting existing Cinder volumes (storage.allowAdoption is false); leave spec.source out for a new, empty volume, or ask for a tier that allows adoption", tier)
	}
	if len(holders) == 0 {
		return ""
	}
	for _, h := range holders {
		if h.Namespace != namespace {
			continue
		}
		if !h.DeletionTimestamp.IsZero() {
			return fmt.Sprintf("spec.source.volumeID %s: the Cinder volume is still held by OpenStackVolume %s of this namespace, which is being deleted; adopt it once that one is gone", id, h.Name)
		}
		return fmt.Sprintf("spec.source.volumeID %s: the Cinder volume is already held by OpenStackVolume %s of this namespace; a Cinder volume is held by one OpenStackVolume at a time", id, h.Name)
	}
	return fmt.Sprintf("spec.source.volumeID %s: the Cinder volume is already held by another OpenStackVolume; a Cinder volume is held by one OpenStackVolume at a time", id)
}

// quotaProblems checks the tier's GiB (on create and on growth) and number
// of volumes (on create) per Project against the namespace's
// OpenStackVolumes. This is for an early, clear message only: it reads a
// cache, so concurrent creates can all pass it. The authority is the
// ResourceQuota atrium-storage on the claims, which the API server
// enforces atomically, and which the volumes operator meets before it
// creates anything in Cinder.
func quotaProblems(c volumeChange, st *tenancyv1.TierStorage) []string {
	var problems []string
	ns, tier := c.new.Namespace, c.tier.Name
	if c.old == nil && st.Volumes != nil && len(c.others)+1 > int(*st.Volumes) {
		problems = append(problems, fmt.Sprintf("namespace %s already holds %d OpenStackVolume(s), and tier %q allows %d per Project (storage.volumes); delete one you no longer need, or ask for a tier with more",
			ns, len(c.others), tier, *st.Volumes))
	}
	if st.Gigabytes == nil {
		return problems
	}
	var held int64
	for _, o := range c.others {
		held += int64(o.Spec.SizeGiB)
	}
	size, limit := int64(c.new.Spec.SizeGiB), int64(*st.Gigabytes)
	if held+size <= limit {
		return problems
	}
	what := fmt.Sprintf("spec.sizeGiB %d", size)
	if c.old != nil {
		what = fmt.Sprintf("growing spec.sizeGiB from %d to %d", c.old.Spec.SizeGiB, size)
	}
	left := "no GiB are left"
	if free := limit - held; free > 0 {
		left = fmt.Sprintf("at most %d GiB more fit", free)
	}
	return append(problems, fmt.Sprintf("%s would bring namespace %s to %d GiB of OpenStack volumes, and tier %q allows %d GiB per Project (storage.gigabytes): its %d other volume(s) hold %d GiB, so %s; delete a volume you no longer need, or ask for a tier with more",
		what, ns, held+size, tier, limit, len(c.others), held, left))
}
