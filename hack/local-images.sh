#!/usr/bin/env bash
# local-images.sh: builds the operator and connector images (OPERATOR_IMG, CONNECTOR_IMG)
# from the project's Dockerfile on a host with no image registry: its base images are a
# Debian image made by hack/debian-image.sh plus the Node that package.json pins
# (node_modules/node) and the host's npm, instead of the public node images. Users with
# a registry build exactly as before (make docker-build).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
operator_img=${OPERATOR_IMG:-ghcr.io/infrahq/infra-operator:dev}
connector_img=${CONNECTOR_IMG:-ghcr.io/infrahq/infra-connector:dev}

fail() {
  echo "local-images: $*" >&2
  exit 1
}

node=$root/node_modules/node/bin/node
[[ -x $node ]] || fail "the pinned Node ($node) is missing; run make deps"
node_version=$("$node" --version)
npm_cli=$(command -v npm) || fail "npm is not on PATH; the build stage runs npm ci (install Node and npm)"
npm_dir=$(cd "$(dirname "$(readlink -f "$npm_cli")")/.." && pwd)
[[ -f $npm_dir/bin/npm-cli.js ]] || fail "cannot find npm's package directory from $npm_cli (looked in $npm_dir)"

# The programs run as 65532 and need CA certificates; kube-proxy's iptables comes along
# because the node's Kubernetes images share this base (hack/kind-node-image.sh).
base=$("$root/hack/debian-image.sh" runtime ca-certificates iptables nftables conntrack)
node_image=infra-local/node:${node_version#v}-$(printf '%s %s' "$base" "$(sha256sum "$node" | cut -c1-12)" | sha256sum | cut -c1-12)

# image_from <name> <Dockerfile lines>: builds <name> from a context holding node, npm
# and the host's extra CA bundle, unless the engine has it already.
image_from() {
  docker image inspect "$1" >/dev/null 2>&1 && return
  local context
  context=$(mktemp -d)
  cp "$node" "$context/node"
  cp -r "$npm_dir" "$context/npm"
  [[ -z ${NODE_EXTRA_CA_CERTS:-} ]] || cp "$NODE_EXTRA_CA_CERTS" "$context/extra-ca.crt"
  printf '%s\n' "$2" >"$context/Dockerfile"
  echo "local-images: building $1" >&2
  docker build -q --force-rm -t "$1" "$context" >/dev/null || fail "building $1 failed; run: docker build $context"
  rm -rf "$context"
}
image_from "$node_image" "FROM $base
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version"

# The build stage runs npm ci: where the host reaches the npm registry through a proxy
# that its NODE_EXTRA_CA_CERTS trusts, the build image trusts it too. The runtime image
# does not carry it.
build_image=$node_image
if [[ -n ${NODE_EXTRA_CA_CERTS:-} ]]; then
  build_image=$node_image-ca-$(sha256sum "$NODE_EXTRA_CA_CERTS" | cut -c1-12)
  image_from "$build_image" "FROM $node_image
COPY extra-ca.crt /etc/ssl/certs/extra-ca.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/extra-ca.crt"
fi

for target in operator connector; do
  image=$operator_img
  [[ $target == operator ]] || image=$connector_img
  echo "local-images: building $image (--target $target) on $node_image" >&2
  docker build -q --force-rm --build-arg BUILD_IMAGE="$build_image" --build-arg RUNTIME_IMAGE="$node_image" \
    --target "$target" -t "$image" "$root" >/dev/null ||
    fail "building $image failed; see the output above, or run: docker build --build-arg BUILD_IMAGE=$build_image --build-arg RUNTIME_IMAGE=$node_image --target $target $root"
done
