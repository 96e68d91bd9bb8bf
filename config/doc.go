// Package config holds Atrium's deployable manifests (kustomize) and a test
// that builds them the way `kubectl apply -k config/default` would and
// checks that they hold together.
package config
