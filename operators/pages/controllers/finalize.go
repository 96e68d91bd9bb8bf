package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
)

// finalize hands the namespace's shared Service over to another site when
// this one owns it alone (handOver), and removes from GitLab the domain
// the site created; the Ingress goes with the site (it is owned), and the verification
// record as soon as deletion starts (the DNS operator publishes nothing
// for an object being deleted). A domain the site did not create stays.
// While GitLab cannot be reached the site waits, and says so.
func (r *SiteReconciler) finalize(ctx context.Context, site *pagesv1.GitLabPagesSite) (bool, outcome) {
	if err := r.handOver(ctx, site); err != nil {
		return false, outcome{ready: ready(metav1.ConditionFalse, "WriteFailed",
			"the site waits to hand Service %s over to another site of the namespace: %v", ServiceName, err), failed: true}
	}
	if !site.Status.DomainCreated || site.Status.ProjectID == 0 {
		return true, outcome{}
	}
	if o, ok := r.deleteDomain(ctx, site, site.Status.ProjectID); !ok {
		o.ready.Reason = "DeletingInGitLab"
		o.ready.Message = "the site waits to remove its Pages domain from GitLab: " + o.ready.Message
		return false, o
	}
	return true, outcome{}
}

// deleteDomain deletes the site's domain from the GitLab project it made
// it in. The call names the project, so a domain that has since gone to
// another project is not touched (GitLab answers 404, which is done).
func (r *SiteReconciler) deleteDomain(ctx context.Context, site *pagesv1.GitLabPagesSite, projectID int64) (outcome, bool) {
	host := site.Spec.Hostname
	if err := r.State.GitLab.DeleteDomain(ctx, projectID, host); err != nil {
		return gitLabFailed("deleting Pages domain "+host, err), false
	}
	r.State.ForgetDomain(projectID, host)
	r.event(site, corev1.EventTypeNormal, "DomainDeleted", "Delete", "Deleted Pages domain %s from GitLab project %d", host, projectID)
	return outcome{}, true
}
