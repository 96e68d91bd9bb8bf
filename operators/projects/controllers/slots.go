package controllers

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/slots"
)

// slotIndex indexes the cached Project slots by the UID of their Project.
const slotIndex = "slot.projectUID"

// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;delete,namespace=system

func indexSlots(ctx context.Context, idx client.FieldIndexer) error {
	return idx.IndexField(ctx, &coordinationv1.Lease{}, slotIndex, func(o client.Object) []string {
		if uid := o.GetLabels()[slots.ProjectUIDLabel]; uid != "" {
			return []string{uid}
		}
		return nil
	})
}

// reconcileSlots keeps the Project's count right (see package slots):
// admission took a slot when the Project was created, handed over or moved
// to another tier; this releases the slots of an owner or tier the Project
// no longer has, and takes one for a Project that holds none on a tier with
// a limit (one that existed before limits were counted so, or whose slot an
// admin removed), beyond the limit if need be: the Project exists, so it
// counts. It returns how soon to look again for a slot kept because the
// change that took it may still be on its way.
func (r *ProjectReconciler) reconcileSlots(ctx context.Context, s *scope) (time.Duration, error) {
	if r.Slots == nil {
		return 0, nil
	}
	p := s.project
	var held coordinationv1.LeaseList
	if err := r.Client.List(ctx, &held, client.InNamespace(r.Slots.Namespace), client.MatchingFields{slotIndex: string(p.UID)}); err != nil {
		return 0, err
	}
	holds, recheck, err := r.Slots.Prune(ctx, held.Items, p)
	if err != nil || holds || s.tier == nil || s.tier.Spec.MaxProjectsPerUser == nil {
		return recheck, err
	}
	// Take reads the API server, so a slot admission took a moment ago,
	// not yet in the cache, is found rather than taken twice.
	_, err = r.Slots.Take(ctx, slots.HolderOf(p), int(*s.tier.Spec.MaxProjectsPerUser), true, false)
	return recheck, err
}

// releaseSlots releases every slot of a Project that is going away, as the
// API server has them (one taken a moment ago is not missed).
func (r *ProjectReconciler) releaseSlots(ctx context.Context, p *tenancyv1.Project) error {
	if r.Slots == nil {
		return nil
	}
	var held coordinationv1.LeaseList
	if err := r.APIReader.List(ctx, &held, client.InNamespace(r.Slots.Namespace), client.MatchingLabels{slots.ProjectUIDLabel: string(p.UID)}); err != nil {
		return err
	}
	_, _, err := r.Slots.Prune(ctx, held.Items, nil)
	return err
}
