// Package base builds the base image of Atrium's images without a
// container engine or a registry: a static, nonroot image with the files
// of distroless static (users root, nobody and nonroot, /tmp, the CA
// bundle, time zones) taken from this machine's Debian packages, so that
// `make images` works where gcr.io/distroless cannot be reached. Built
// from the same files it is byte for byte the same image.
package base
