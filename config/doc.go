// Package config holds Atrium's deployable manifests (kustomize: default/
// for a member cluster, hub/ for the hub) and tests that build them the way
// `kubectl apply -k` would and check that they hold together, and that
// docs/security.md lists every rule of every component's role.
package config
