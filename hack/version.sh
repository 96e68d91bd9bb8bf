#!/usr/bin/env bash
# Prints what a build of this tree is stamped with (internal/version):
#   hack/version.sh version   the nearest v* tag as git describe says it
#                             (v0.1.0, v0.1.0-12-gabc1234, -dirty when the
#                             tree has changes); with no tag yet, the same
#                             form counted from the first commit
#                             (v0.0.0-243-g82a4f2d); v0.0.0-dev outside git
#   hack/version.sh revision  the commit (40 hex digits), or unknown
#   hack/version.sh date      the build date, RFC 3339 in UTC: the commit's
#                             own time for a clean tree, so that building
#                             the same commit twice gives the same bytes
#                             (and images the same digests); now otherwise
set -euo pipefail
cd "$(dirname "$0")/.."

in_git() { git rev-parse --verify -q HEAD >/dev/null 2>&1; }
dirty() { [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; }

case "${1:-version}" in
version)
  if ! in_git; then echo v0.0.0-dev; exit; fi
  if v=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then echo "$v"; exit; fi
  v="v0.0.0-$(git rev-list --count HEAD)-g$(git rev-parse --short HEAD)"
  if dirty; then v+=-dirty; fi
  echo "$v"
  ;;
revision)
  if in_git; then git rev-parse HEAD; else echo unknown; fi
  ;;
date)
  if in_git && ! dirty; then
    TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ
  else
    date -u +%Y-%m-%dT%H:%M:%SZ
  fi
  ;;
*)
  echo "usage: $0 [version|revision|date]" >&2
  exit 2
  ;;
esac
