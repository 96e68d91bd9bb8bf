// Package policy evaluates Gatekeeper ConstraintTemplates and Constraints
// against admission requests, so admins can load gatekeeper-library policies
// unchanged into the hostnames webhook.
//
// It runs the Open Policy Agent constraint framework's Rego driver behind a
// target handler of its own that speaks Gatekeeper's target,
// "admission.k8s.gatekeeper.sh": templates read input.review (shaped like an
// admission.k8s.io/v1 AdmissionRequest), input.parameters and data.inventory,
// and constraints select objects with Gatekeeper's spec.match.
package policy
