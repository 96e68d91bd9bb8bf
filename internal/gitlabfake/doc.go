// Package gitlabfake is a stateful fake of the GitLab REST API (v4) subset
// that a GitLab Pages operator uses — users, projects and their (inherited)
// members, Pages settings and Pages domains with their verification and
// certificates — so that the operator is driven by the real client library
// (gitlab.com/gitlab-org/api/client-go) in unit, envtest and e2e tests and
// in the local fleet.
package gitlabfake
