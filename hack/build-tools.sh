#!/usr/bin/env bash
# Builds the Go programs hack/ runs, from the Go modules pinned in hack/tools/, and caches
# them under ~/.cache/infra/bin keyed by version and by the hash of the pinning
# go.mod/go.sum. With no arguments: what the tests need (kube-apiserver,
# kube-controller-manager and etcd for the local control plane, the Lua interpreter for
# the Argo CD health checks, the bench's load generator, the helm CLI that lints and
# renders charts/infra). With names: only those, e.g.
# the kind node's programs (hack/kind-node-image.sh). Prints nothing but progress to
# stderr; prints the cache directory on stdout. Safe to run concurrently (flock).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_dir=${INFRA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infra}
bin_dir=$cache_dir/bin
mkdir -p "$bin_dir"

command -v go >/dev/null || { echo "build-tools: Go is required to build kube-apiserver and etcd (install Go >= 1.26)" >&2; exit 1; }

# One build at a time per cache: a second caller waits, then finds the binaries cached.
# Taken only when something is missing, so a cached lookup never waits on a build.
locked=false
lock() {
  $locked && return
  exec 9>"$cache_dir/build.lock"
  flock 9
  locked=true
}

# build <tools-module-dir> <package> <binary-name> <version> [ldflags]
build() {
  local module_dir=$1 pkg=$2 name=$3 version=$4 ldflags=${5:-}
  local key
  key=$(cat "$module_dir/go.mod" "$module_dir/go.sum" | sha256sum | cut -c1-12)
  local out=$bin_dir/$name-$version-$key
  [[ -x $out ]] || lock
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
[[ -n $kube_version && -n $etcd_version ]] || { echo "build-tools: cannot read pinned versions from hack/tools/*/go.mod" >&2; exit 1; }
version_ldflags="-X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$kube_version") -X k8s.io/component-base/version.gitTreeState=clean"
# module_version <tools-module-dir> <module>: the version go.mod requires.
module_version() { sed -n "s#^\(require \|\t\)$2 \(v[0-9.]*\)\$#\2#p" "$1/go.mod" | head -1; }
# main_hash <tools-module-dir>: the version of a program that is ours (main.go); the
# cache key covers go.mod and go.sum only.
main_hash() { sha256sum "$1/main.go" | cut -c1-12; }

# build_named <name>: one program by the name it is cached (and runs) under.
build_named() {
  local tools=$root/hack/tools node=$root/hack/tools/kubernetes-node
  case $1 in
  etcd) build "$tools/etcd" go.etcd.io/etcd/server/v3 etcd "$etcd_version" ;;
  kube-apiserver | kube-controller-manager)
    # kube-controller-manager only for the controllers an API-only cluster lacks:
    # ClusterRole aggregation (so view, edit and admin have rules), namespace
    # finalization and garbage collection.
    build "$tools/kube-apiserver" "k8s.io/kubernetes/cmd/$1" "$1" "$kube_version" "$version_ldflags" ;;
  # gopher-lua, the Lua interpreter Argo CD embeds, for config/argocd/health.lua.
  lua-health) build "$tools/lua-health" . lua-health "$(main_hash "$tools/lua-health")" ;;
  # The bench's HTTPS load generator (standard library only).
  loadgen) build "$tools/loadgen" . loadgen "$(main_hash "$tools/loadgen")" ;;
  # The kind node's programs, at the same Kubernetes version as the control plane's.
  kubelet | kubeadm | kube-scheduler | kube-proxy | kubectl)
    build "$node" "k8s.io/kubernetes/cmd/$1" "$1" "$kube_version" "$version_ldflags" ;;
  crictl) build "$node" sigs.k8s.io/cri-tools/cmd/crictl crictl "$(module_version "$node" sigs.k8s.io/cri-tools)" ;;
  coredns) build "$tools/coredns" github.com/coredns/coredns coredns "$(module_version "$tools/coredns" github.com/coredns/coredns)" ;;
  kind) build "$tools/kind" sigs.k8s.io/kind kind "$(module_version "$tools/kind" sigs.k8s.io/kind)" ;;
  # helm, for charts/infra (lint, template, the values schema); its version string is set the
  # way helm's own Makefile does, so `helm version` names the pinned release.
  helm)
    local helm_version
    helm_version=$(module_version "$tools/helm" helm.sh/helm/v4)
    build "$tools/helm" helm.sh/helm/v4/cmd/helm helm "$helm_version" "-X helm.sh/helm/v4/internal/version.version=$helm_version -X helm.sh/helm/v4/internal/version.gitTreeState=clean" ;;
  # The OCI runtime wrapper for hosts whose capability bounding set is short (hack/docker-engine.sh).
  runc-capbound) build "$tools/runc-capbound" . runc-capbound "$(main_hash "$tools/runc-capbound")" ;;
  *) echo "build-tools: no tool named $1 (see build_named in $0)" >&2; exit 1 ;;
  esac
}

if (($# == 0)); then set -- etcd kube-apiserver kube-controller-manager lua-health loadgen helm; fi
for name in "$@"; do build_named "$name"; done

echo "$bin_dir"
