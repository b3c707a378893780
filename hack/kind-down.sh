#!/usr/bin/env bash
# Deletes the kind clusters hack/kind-up.sh made, and its state in .infra/kind. The
# Docker engine (hack/docker-engine.sh may have started it) and the cached images stay.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kind=$(command -v kind || true)
if [[ -z $kind ]]; then
  # The kind kind-up built when none was on PATH: found in the cache, never built here.
  kind=$("$root/hack/build-tools.sh" kind 2>/dev/null)/kind || { echo "kind-down: kind is not on PATH and not built; nothing to delete" >&2; exit 1; }
fi
for cluster in infra-hub infra-spoke; do
  "$kind" delete cluster --name "$cluster"
done
rm -rf "$root/.infra/kind"
# kind makes the "kind" network for its first cluster and leaves it: remove it when no
# container is left on it (another tool's kind clusters keep it).
if docker network inspect kind >/dev/null 2>&1 && [[ -z $(docker network inspect kind -f '{{range .Containers}}{{.Name}} {{end}}') ]]; then
  docker network rm kind >/dev/null && echo "kind-down: removed the empty docker network kind" >&2
fi
