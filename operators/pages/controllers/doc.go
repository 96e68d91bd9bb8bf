// Package controllers reconciles GitLabPagesSites: the Pages domain in
// GitLab, its verification through the fleet's DNS, the project's access
// level, and the Ingress that claims and routes the hostname.
package controllers
