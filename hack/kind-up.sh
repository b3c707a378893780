#!/usr/bin/env bash
# A hub and a spoke kind cluster with Infra deployed from config/, for platform teams
# who want the real thing on their laptop or in CI:
#
#   make kind-up                       # or: OPERATOR_IMG=… CONNECTOR_IMG=… hack/kind-up.sh
#   E2E_CLUSTER=kind make e2e          # the e2e suite against these clusters
#   make kind-down
#
# It builds both images, loads them into the clusters, applies config/hub to the hub
# (the operator's public door on NodePort 30444) and config/spoke with the NodePort
# component to the spoke (the proxy on NodePort 30443), registers the spoke as
# destination `kind`, and writes .infra/kind/state.json for E2E_CLUSTER=kind.
# Running it again updates what is there.
#
# Where no image registry is reachable (INFRA_IMAGES=local, or auto when the public Node
# image cannot be pulled) every image is built here: the operator and connector on a
# Debian base (hack/local-images.sh) and the kind node image (hack/kind-node-image.sh),
# cached so a second run builds nothing. Where no Docker engine answers, hack/docker-engine.sh
# starts one. If a step fails, kind-up deletes the clusters this run created and ends
# with one line naming the cause and the fix.
set -Eeuo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=$root/.infra/kind
hub=infra-hub
spoke=infra-spoke
destination=kind
namespace=infra-system
operator_img=${OPERATOR_IMG:-ghcr.io/infrahq/infra-operator:dev}
connector_img=${CONNECTOR_IMG:-ghcr.io/infrahq/infra-connector:dev}
admin=${INFRA_ADMIN:-admin@example.com}
images=${INFRA_IMAGES:-auto}
pull_probe_timeout_s=30
kind=kind

# What the run is doing, and what to do if it fails there: the one line kind-up ends with.
step="starting"
fix="see the output above"
created=()
on_failure() {
  local status=$?
  trap - ERR EXIT
  for cluster in "${created[@]}"; do "$kind" delete cluster --name "$cluster" >/dev/null 2>&1 || true; done
  ((${#created[@]} == 0)) || echo "kind-up: deleted the clusters this run created: ${created[*]}" >&2
  echo "kind-up: failed while $step (exit $status); $fix" >&2
  exit "$status"
}
trap on_failure ERR
phase() { # <what> <how to fix it if it fails>
  step=$1 fix=$2
  echo "kind-up: $step" >&2
}

need() {
  command -v "$1" >/dev/null || { echo "kind-up: $1 is not on PATH; install it: $2" >&2; exit 1; }
}
need docker https://docs.docker.com/engine/install/
need kubectl https://kubernetes.io/docs/tasks/tools/
phase "checking the Docker engine" "start Docker, or run hack/docker-engine.sh to see why none can be started here"
"$root/hack/docker-engine.sh"
kind=$(command -v kind || true)
if [[ -z $kind ]]; then
  phase "building kind from hack/tools/kind (it is not on PATH)" "install Go >= 1.26, or install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
  kind=$("$root/hack/build-tools.sh" kind)/kind
fi

if [[ $images == auto ]]; then
  node_base=node:$(sed -n 's/^ARG NODE_VERSION=//p' "$root/Dockerfile")-alpine
  images=local
  timeout "$pull_probe_timeout_s" docker pull -q "$node_base" >/dev/null 2>&1 && images=public
  echo "kind-up: INFRA_IMAGES=auto: $([[ $images == public ]] && echo "$node_base pulls, using public images" || echo "$node_base does not pull, building every image here")" >&2
fi
mkdir -p "$state_dir"
kind_config=$state_dir/kind-config.yaml
node_image_flag=()
# The kind config: what this host and the image source need, nothing else.
networking=()
kubeadm_patches=()
kubeadm_patch() { # <lines of one more kubeadm config document>
  ((${#kubeadm_patches[@]} == 0)) || kubeadm_patches+=("---")
  kubeadm_patches+=("$@")
}
containerd_patches=()
case $images in
public)
  phase "building the operator and connector images" "fix the Dockerfile build (docker build --target operator .)"
  docker build -q --force-rm --target operator -t "$operator_img" "$root" >/dev/null
  docker build -q --force-rm --target connector -t "$connector_img" "$root" >/dev/null
  ;;
local)
  phase "building the operator and connector images on a local Debian base" "see hack/local-images.sh's message above (Debian's mirror and npm must be reachable)"
  OPERATOR_IMG=$operator_img CONNECTOR_IMG=$connector_img "$root/hack/local-images.sh"
  phase "building the kind node image" "see hack/kind-node-image.sh's message above (log in ~/.cache/infra/kind-node/build.log)"
  node_image=$("$root/hack/kind-node-image.sh")
  node_image_flag=(--image "$node_image")
  # The local node image has no kindnet: its bridge CNI serves this pod subnet (one
  # node per cluster). etcd is the one hack/tools/etcd pins, tagged by its own version.
  networking=("  disableDefaultCNI: true" "  podSubnet: 10.244.0.0/16")
  etcd_tag=$(sed -n 's#^require go.etcd.io/etcd/server/v3 v\([0-9.]*\)$#\1-0#p' "$root/hack/tools/etcd/go.mod")
  kubeadm_patch "kind: ClusterConfiguration" "etcd: {local: {imageTag: \"$etcd_tag\"}}"
  ;;
*)
  echo "kind-up: INFRA_IMAGES=$images is not one of auto, public, local" >&2
  exit 2
  ;;
esac
# kubeadm's defaults (4 min for the control plane, 1 min per API call) fail a first start
# on a host whose cores other work keeps busy; waiting longer costs nothing elsewhere.
kubeadm_patch "kind: InitConfiguration" "timeouts: {controlPlaneComponentHealthCheck: 10m0s, kubernetesAPICall: 5m0s}"
# Kubernetes >= 1.35's kubelet refuses cgroup v1 unless told otherwise.
[[ -f /sys/fs/cgroup/cgroup.controllers ]] || kubeadm_patch "kind: KubeletConfiguration" "failCgroupV1: false"
# Without CAP_SYS_RESOURCE (hack/docker-engine.sh) nothing in the node may lower an
# oom_score_adj: containerd keeps pods at or above its own instead of failing them.
if (($((0x$(awk '/^CapBnd/ {print $2}' /proc/self/status) >> 24 & 1)) == 0)); then
  containerd_patches+=('[plugins."io.containerd.grpc.v1.cri"]' "  restrict_oom_score_adj = true")
fi
{
  echo "kind: Cluster"
  echo "apiVersion: kind.x-k8s.io/v1alpha4"
  ((${#networking[@]} == 0)) || printf '%s\n' "networking:" "${networking[@]}"
  ((${#kubeadm_patches[@]} == 0)) || printf '%s\n' "kubeadmConfigPatches:" "  - |" "${kubeadm_patches[@]/#/    }"
  ((${#containerd_patches[@]} == 0)) || printf '%s\n' "containerdConfigPatches:" "  - |" "${containerd_patches[@]/#/    }"
} >"$kind_config"

for cluster in $hub $spoke; do
  if ! "$kind" get clusters 2>/dev/null | grep -qx "$cluster"; then
    phase "creating kind cluster $cluster" "look at: docker logs $cluster-control-plane (kind create cluster --retain keeps a failed node for that)"
    created+=("$cluster")
    "$kind" create cluster --name "$cluster" --config "$kind_config" "${node_image_flag[@]}" --kubeconfig "$state_dir/$cluster.kubeconfig" --wait 180s
  fi
  "$kind" get kubeconfig --name "$cluster" >"$state_dir/$cluster.kubeconfig"
done
hubctl() { kubectl --kubeconfig "$state_dir/$hub.kubeconfig" "$@"; }
spokectl() { kubectl --kubeconfig "$state_dir/$spoke.kubeconfig" "$@"; }
node_ip() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1-control-plane"; }
hub_ip=$(node_ip $hub)
spoke_ip=$(node_ip $spoke)
# The host on the kind network: where the nodes reach processes the e2e suite starts.
host_ip=$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -v : | grep . | head -1)

phase "loading the Infra images into the clusters" "check that docker images lists $operator_img and $connector_img"
"$kind" load docker-image "$operator_img" --name $hub
"$kind" load docker-image "$connector_img" --name $spoke

# An overlay per cluster: images, addresses, NodePorts. Paths are relative to the overlay.
image_entry() { # <name in config/> <built image>
  printf '  - name: %s\n    newName: %s\n    newTag: %s\n' "$1" "${2%:*}" "${2##*:}"
}
# The tag stays :dev across rebuilds, so a rerun would leave pods on the old image: the
# image's ID in the pod template rolls the Deployment exactly when the image changed.
image_id_patch() { # <Deployment> <built image>
  printf '  - target: {kind: Deployment, name: %s}\n    patch: |\n      - {op: add, path: /spec/template/metadata/annotations, value: {infrahq.com/image-id: "%s"}}\n' \
    "$1" "$(docker image inspect -f '{{.Id}}' "$2")"
}
mkdir -p "$state_dir/hub" "$state_dir/spoke"
cat >"$state_dir/hub/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../config/hub
images:
$(image_entry ghcr.io/infrahq/infra-operator "$operator_img")
patches:
$(image_id_patch infra-operator "$operator_img")
  - target: {kind: Service, name: infra-operator-public}
    patch: |
      - {op: replace, path: /spec/type, value: NodePort}
      - {op: add, path: /spec/ports/0/nodePort, value: 30444}
  - target: {kind: ConfigMap, name: infra-operator}
    patch: |
      - op: replace
        path: /data/config.yaml
        value: |
          namespace: $namespace
          publicURL: https://$hub_ip:30444
          bootstrapAdmins: [$admin]
          # The hub's address as the spoke's pods see it, for the connector's credential.
          connectors: {hubURL: https://$hub-control-plane:6443}
YAML
phase "installing config/hub into $hub" "look at: kubectl --kubeconfig $state_dir/$hub.kubeconfig -n $namespace describe pods"
hubctl apply --server-side -k "$state_dir/hub"
hubctl wait --for=condition=Established crd --all --timeout=60s
hubctl -n $namespace rollout status deployment/infra-operator --timeout=180s

phase "registering the spoke as destination $destination" "look at hack/add-destination.ts's message above"
# The connector's identity in the hub and its single-use bootstrap credential, as
# `infra destinations add` makes them (no Infra session exists yet: the hub admin's).
bootstrap_token=$(KUBECONFIG=$state_dir/$hub.kubeconfig INFRA_NAMESPACE=$namespace "$root/node_modules/.bin/node" "$root/hack/add-destination.ts" $destination)
hubctl -n $namespace get secret infra-operator-ca -o jsonpath='{.data.tls\.crt}' | base64 -d >"$state_dir/operator-ca.crt"

cat >"$state_dir/spoke/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../config/spoke
components:
  - ../../../config/components/connector-nodeport
images:
$(image_entry ghcr.io/infrahq/infra-connector "$connector_img")
patches:
$(image_id_patch infra-connector "$connector_img")
  - target: {kind: ConfigMap, name: infra-connector}
    patch: |
      - op: replace
        path: /data/config.yaml
        value: |
          destination: $destination
          namespace: $namespace
          issuer: https://$hub_ip:30444
          issuerCAFile: /etc/infra/hub/issuer-ca.crt
          proxy:
            url: https://$spoke_ip:30443
            ipAddresses: [$spoke_ip]
            kubeconfig: /etc/infra/proxy-kubeconfig.yaml
YAML
phase "installing config/spoke into $spoke" "look at: kubectl --kubeconfig $state_dir/$spoke.kubeconfig -n $namespace describe pods, and the connector's log"
spokectl create namespace $namespace --dry-run=client -o yaml | spokectl apply -f - >/dev/null
spokectl -n $namespace create secret generic infra-connector-hub --from-file=issuer-ca.crt="$state_dir/operator-ca.crt" \
  --dry-run=client -o yaml | spokectl apply -f - >/dev/null
# The bootstrap credential in its Secret, as `infra destinations add` prints it.
spokectl -n $namespace create secret generic infra-connector-bootstrap --from-file=token=<(printf %s "$bootstrap_token") \
  --dry-run=client -o yaml | spokectl apply -f - >/dev/null
spokectl apply --server-side -k "$state_dir/spoke"
spokectl -n $namespace rollout status deployment/infra-connector --timeout=180s
hubctl wait --for=condition=Ready destination/$destination --timeout=120s

# The same state file the local control plane writes, so E2E_CLUSTER=kind finds these
# clusters: the CAs (and their keys) let tests mint users as they do locally.
for cluster in $hub $spoke; do
  pki=$state_dir/$cluster-pki
  mkdir -p "$pki"
  for file in ca.crt ca.key front-proxy-ca.crt front-proxy-ca.key sa.key; do
    docker cp -q "$cluster-control-plane:/etc/kubernetes/pki/$file" "$pki/$file"
  done
done
entry() { # <name> <cluster>
  local pki=$state_dir/$2-pki server
  server=$(kubectl --kubeconfig "$state_dir/$2.kubeconfig" config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  printf '"%s": {"name": "%s", "server": "%s", "adminKubeconfig": "%s", "hostAddress": "%s", "pid": 0, "files": {"servingCA": "%s/ca.crt", "clientCA": "%s/ca.crt", "clientCAKey": "%s/ca.key", "frontProxyCA": "%s/front-proxy-ca.crt", "frontProxyCAKey": "%s/front-proxy-ca.key", "serviceAccountKey": "%s/sa.key", "log": ""}}' \
    "$1" "$1" "$server" "$state_dir/$2.kubeconfig" "$host_ip" "$pki" "$pki" "$pki" "$pki" "$pki" "$pki"
}
version=$(hubctl version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1)
cat >"$state_dir/state.json" <<JSON
{"dir": "$state_dir", "etcd": {"pid": 0, "url": "in the kind nodes", "log": ""}, "processes": [], "kubernetesVersion": "$version",
 "clusters": {$(entry hub $hub), $(entry spoke $spoke)}}
JSON

cat <<DONE
Infra is running on kind:
  hub:   KUBECONFIG=$state_dir/$hub.kubeconfig   operator at https://$hub_ip:30444 (CA: $state_dir/operator-ca.crt)
  spoke: KUBECONFIG=$state_dir/$spoke.kubeconfig connector proxy at https://$spoke_ip:30443 (destination $destination)
Log in:  infra login https://$hub_ip:30444 --ca-file $state_dir/operator-ca.crt   (bootstrap admin: $admin)
Tests:   E2E_CLUSTER=kind make e2e
DONE
