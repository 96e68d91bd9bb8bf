// Package testenv starts a real etcd and kube-apiserver (built into bin/ by
// `make tools`) through controller-runtime's envtest, with Atrium's CRDs and
// webhook configurations installed, and hands tests clients that act as
// impersonated users. One environment per test package, started in TestMain.
package testenv
