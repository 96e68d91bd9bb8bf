// Package shipped runs what config/ ships the way a cluster would, for e2e
// and `make run`: it builds a kustomization as `kubectl apply -k` does,
// installs its objects, plays cert-manager for the webhooks' serving
// certificates, and runs each Deployment's replicas as local processes the
// way a kubelet runs pods (the container's arguments and environment, its
// mounted ConfigMaps and Secrets, its ServiceAccount's token), with a
// Service in front of each that sends connections to ready replicas only.
package shipped
