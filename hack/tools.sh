#!/usr/bin/env bash
# Builds the pinned test control plane and code generators into bin/.
# Versions come from hack/tools/go.mod; a binary already built for the
# current go.mod is skipped, so this is cheap after the first run.
#
#   hack/tools.sh      the control plane, controller-gen, BIND9 (make tools)
#   hack/tools.sh ko   only ko, from hack/tools/ko/go.mod, and Debian's CA
#                      bundle for the images' base (make images and the
#                      images test: not everyone needs ko, whose first build
#                      takes minutes)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
mkdir -p "$bin"

build() { # name package [ldflags]
  local name=$1 pkg=$2 ldflags=${3:-"-s -w"}
  if [[ -x "$bin/$name" && "$(cat "$bin/.$name.stamp" 2>/dev/null)" == "$stamp" ]]; then
    return
  fi
  echo "building $name from $pkg"
  go build -trimpath -ldflags "$ldflags" -o "$bin/$name" "$pkg"
  echo "$stamp" > "$bin/.$name.stamp"
}

# install_debian installs Debian's packages that are missing (as root).
install_debian() {
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing $* from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; }
  else
    return 1
  fi
}

if [[ ${1:-} == ko ]]; then
  # ko has a module of its own: its dependencies would otherwise move the
  # control plane's (and, changing hack/tools/go.sum, rebuild all of it).
  cd "$root/hack/tools/ko"
  stamp=$(cat go.mod go.sum | sha256sum | cut -c1-16)
  # Static, like the images' binaries ko builds.
  CGO_ENABLED=0 build ko github.com/google/ko
  # The base image's CA bundle (hack/images/base).
  if [[ ! -s /etc/ssl/certs/ca-certificates.crt ]]; then
    install_debian ca-certificates || { echo "/etc/ssl/certs/ca-certificates.crt is missing: install Debian's ca-certificates" >&2; exit 1; }
  fi
  exit 0
fi

cd "$root/hack/tools"
# The stamp ties every binary to the go.mod/go.sum it was built from.
stamp=$(cat go.mod go.sum | sha256sum | cut -c1-16)

kube_version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
kube_minor=$(echo "$kube_version" | cut -d. -f2)
kube_ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=$kube_version \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$kube_minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"

build etcd go.etcd.io/etcd/server/v3
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
build kubectl k8s.io/kubernetes/cmd/kubectl "$kube_ldflags"
build controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen

# BIND9's named is the DNS server of the DNS operator's tests and of
# `make run`, and dig (bind9-dnsutils) is how `make run` tells you to look
# at it; both come from Debian's packages (root is needed to install them).
need=()
command -v named >/dev/null || need+=(bind9)
command -v dig >/dev/null || need+=(bind9-dnsutils)
if ((${#need[@]})); then
  if ! install_debian "${need[@]}" && ! command -v named >/dev/null; then
    echo "named (Debian package bind9) is missing and cannot be installed here: install it for the DNS tests" >&2
    exit 1
  fi
fi
