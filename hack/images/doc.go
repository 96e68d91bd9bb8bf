// Command images builds the container image of every Atrium component
// with ko, on the static nonroot base of package base (or BASE_IMAGE),
// for linux/amd64 and linux/arm64, each binary stamped with the build's
// version, and writes a kustomize Component that pins every shipped image
// name to its digest. It needs no container engine: where no registry is
// given (REGISTRY), the images go through a registry in this process on
// loopback and end up in an OCI image layout. `make images` runs it;
// docs/images.md tells how to use what it writes.
package main
