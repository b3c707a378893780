#!/usr/bin/env bash
# Builds the kube-apiserver, kube-controller-manager and etcd that the local control plane runs
# (and the Lua interpreter for the Argo CD health checks, the bench's load generator, and the helm
# CLI that lints and renders charts/infra), from the Go
# modules pinned in hack/tools/, and caches them under ~/.cache/infra/bin keyed by
# version and by the hash of the pinning go.mod/go.sum. Prints nothing but progress to
# stderr; prints the cache directory on stdout. Safe to run concurrently (flock).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_dir=${INFRA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infra}
bin_dir=$cache_dir/bin
mkdir -p "$bin_dir"

command -v go >/dev/null || { echo "build-tools: Go is required to build kube-apiserver and etcd (install Go >= 1.26)" >&2; exit 1; }

# One build at a time per cache: a second caller waits, then finds the binaries cached.
exec 9>"$cache_dir/build.lock"
flock 9

# build <tools-module-dir> <package> <binary-name> <version> [ldflags]
build() {
  local module_dir=$1 pkg=$2 name=$3 version=$4 ldflags=${5:-}
  local key
  key=$(cat "$module_dir/go.mod" "$module_dir/go.sum" | sha256sum | cut -c1-12)
  local out=$bin_dir/$name-$version-$key
  if [[ -x $out ]]; then
    echo "build-tools: $name $version cached at $out" >&2
  else
    echo "build-tools: building $name $version (cold build takes 10-20 minutes on 2 cores)..." >&2
    local start=$SECONDS
    (cd "$module_dir" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod \
      go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
    mv "$out.tmp" "$out"
    echo "build-tools: built $name in $((SECONDS - start))s" >&2
  fi
  ln -sfn "$(basename "$out")" "$bin_dir/$name"
}

kube_version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$root/hack/tools/kube-apiserver/go.mod")
etcd_version=$(sed -n 's/^require go.etcd.io\/etcd\/server\/v3 \(v[0-9.]*\)$/\1/p' "$root/hack/tools/etcd/go.mod")
helm_version=$(sed -n 's/^require helm.sh\/helm\/v4 \(v[0-9.]*\)$/\1/p' "$root/hack/tools/helm/go.mod")
[[ -n $kube_version && -n $etcd_version && -n $helm_version ]] || { echo "build-tools: cannot read pinned versions from hack/tools/*/go.mod" >&2; exit 1; }

build "$root/hack/tools/etcd" go.etcd.io/etcd/server/v3 etcd "$etcd_version"
version_ldflags="-X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$kube_version") -X k8s.io/component-base/version.gitTreeState=clean"
build "$root/hack/tools/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "$kube_version" "$version_ldflags"
# Only for the controllers an API-only cluster lacks: ClusterRole aggregation (so view,
# edit and admin have rules), namespace finalization and garbage collection.
build "$root/hack/tools/kube-apiserver" k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager "$kube_version" "$version_ldflags"

# gopher-lua, the Lua interpreter Argo CD embeds, for config/argocd/health.lua. Its version is
# main.go's hash: the cache key covers go.mod and go.sum only, and main.go is ours.
build "$root/hack/tools/lua-health" . lua-health "$(sha256sum "$root/hack/tools/lua-health/main.go" | cut -c1-12)"
# The bench's HTTPS load generator (standard library only); versioned by main.go's hash too.
build "$root/hack/tools/loadgen" . loadgen "$(sha256sum "$root/hack/tools/loadgen/main.go" | cut -c1-12)"

# helm, for charts/infra (lint, template, the values schema); its version string is set the way
# helm's own Makefile does, so `helm version` names the pinned release.
build "$root/hack/tools/helm" helm.sh/helm/v4/cmd/helm helm "$helm_version" "-X helm.sh/helm/v4/internal/version.version=$helm_version -X helm.sh/helm/v4/internal/version.gitTreeState=clean"

echo "$bin_dir"
