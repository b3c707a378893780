#!/usr/bin/env bash
# Deletes the kind clusters hack/kind-up.sh made, and its state in .infra/kind.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v kind >/dev/null || { echo "kind-down: kind is not on PATH; nothing to delete" >&2; exit 1; }
for cluster in infra-hub infra-spoke; do
  kind delete cluster --name "$cluster"
done
rm -rf "$root/.infra/kind"
