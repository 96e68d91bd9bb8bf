package openstackfake

import (
	"fmt"
	"net/http"
)

// usage is what a project's volumes and snapshots consume, computed
// rather than kept so it cannot drift from them. Snapshots count against
// gigabytes, as in Cinder by default (no_snapshot_gb_quota=false); an
// extend in progress already holds its new size.
func (s *Server) usage(projectID string) (gigabytes, volumes, snapshots int) {
	for _, v := range s.state.volumes {
		if v.projectID == projectID {
			s.tick(v)
			gigabytes += max(v.size, v.pendingSize)
			volumes++
		}
	}
	for _, sn := range s.state.snaps {
		if sn.projectID == projectID {
			gigabytes += sn.size
			snapshots++
		}
	}
	return gigabytes, volumes, snapshots
}

// withinQuota checks adding gb gigabytes and n volumes to the caller's
// project, else writes Cinder's 413: an overLimit body with retryAfter and
// Retry-After: 0, so quota is told apart from rate limiting (429).
func (c *call) withinQuota(gb, n int) bool {
	p := c.s.state.projects[c.tok.projectID]
	usedGB, usedN, _ := c.s.usage(p.id)
	var msg string
	switch {
	case n > 0 && p.quota.volumes >= 0 && usedN+n > p.quota.volumes:
		msg = fmt.Sprintf("VolumeLimitExceeded: Maximum number of volumes allowed (%d) exceeded for quota 'volumes'.", p.quota.volumes)
	case p.quota.gigabytes >= 0 && usedGB+gb > p.quota.gigabytes:
		msg = fmt.Sprintf("VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested %dG, quota is %dG and %dG has been consumed.", gb, p.quota.gigabytes, usedGB)
	default:
		return true
	}
	c.w.Header().Set("Retry-After", "0")
	writeJSON(c.w, http.StatusRequestEntityTooLarge, map[string]any{"overLimit": map[string]any{
		"code": http.StatusRequestEntityTooLarge, "message": msg, "retryAfter": "0",
	}})
	return false
}

// getQuota is GET /os-quota-sets/{project_id}, with ?usage=True the
// in_use/limit form gophercloud's quotasets.GetUsage reads.
func (c *call) getQuota(projectID string) {
	p, ok := c.s.state.projects[projectID]
	if !ok || projectID != c.tok.projectID {
		cinderError(c.w, http.StatusForbidden, "forbidden", "Policy doesn't allow this operation to be performed.")
		return
	}
	gb, n, snaps := c.s.usage(p.id)
	if u := c.r.URL.Query().Get("usage"); u == "True" || u == "true" {
		entry := func(limit, inUse int) map[string]int {
			return map[string]int{"limit": limit, "in_use": inUse, "reserved": 0, "allocated": 0}
		}
		writeJSON(c.w, http.StatusOK, map[string]any{"quota_set": map[string]any{
			"id": p.id, "gigabytes": entry(p.quota.gigabytes, gb), "volumes": entry(p.quota.volumes, n),
			"snapshots": entry(-1, snaps), "per_volume_gigabytes": entry(-1, 0),
			"backups": entry(-1, 0), "backup_gigabytes": entry(-1, 0), "groups": entry(-1, 0),
		}})
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"quota_set": map[string]any{
		"id": p.id, "gigabytes": p.quota.gigabytes, "volumes": p.quota.volumes,
		"snapshots": -1, "per_volume_gigabytes": -1, "backups": -1, "backup_gigabytes": -1, "groups": -1,
	}})
}
