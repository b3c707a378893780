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
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=$root/.infra/kind
hub=infra-hub
spoke=infra-spoke
destination=kind
namespace=infra-system
operator_img=${OPERATOR_IMG:-ghcr.io/infrahq/infra-operator:dev}
connector_img=${CONNECTOR_IMG:-ghcr.io/infrahq/infra-connector:dev}
admin=${INFRA_ADMIN:-admin@example.com}

need() {
  command -v "$1" >/dev/null || { echo "kind-up: $1 is not on PATH; install it: $2" >&2; exit 1; }
}
need docker https://docs.docker.com/engine/install/
need kind https://kind.sigs.k8s.io/docs/user/quick-start/#installation
need kubectl https://kubernetes.io/docs/tasks/tools/
docker info >/dev/null 2>&1 || { echo "kind-up: the Docker engine does not answer (docker info failed); start it, or set DOCKER_HOST" >&2; exit 1; }

mkdir -p "$state_dir"
for cluster in $hub $spoke; do
  kind get clusters 2>/dev/null | grep -qx "$cluster" || kind create cluster --name "$cluster" --wait 120s
  kind get kubeconfig --name "$cluster" >"$state_dir/$cluster.kubeconfig"
done
hubctl() { kubectl --kubeconfig "$state_dir/$hub.kubeconfig" "$@"; }
spokectl() { kubectl --kubeconfig "$state_dir/$spoke.kubeconfig" "$@"; }
node_ip() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1-control-plane"; }
hub_ip=$(node_ip $hub)
spoke_ip=$(node_ip $spoke)
# The host on the kind network: where the nodes reach processes the e2e suite starts.
host_ip=$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -v : | grep . | head -1)

docker build --target operator -t "$operator_img" "$root"
docker build --target connector -t "$connector_img" "$root"
kind load docker-image "$operator_img" --name $hub
kind load docker-image "$connector_img" --name $spoke

# An overlay per cluster: images, addresses, NodePorts. Paths are relative to the overlay.
image_entry() { # <name in config/> <built image>
  printf '  - name: %s\n    newName: %s\n    newTag: %s\n' "$1" "${2%:*}" "${2##*:}"
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
YAML
hubctl apply --server-side -k "$state_dir/hub"
hubctl wait --for=condition=Established crd --all --timeout=60s
hubctl -n $namespace rollout status deployment/infra-operator --timeout=180s

# The connector's identity in the hub, with the hub's address as the spoke's pods see it.
KUBECONFIG=$state_dir/$hub.kubeconfig INFRA_NAMESPACE=$namespace INFRA_HUB_SERVER=https://$hub-control-plane:6443 \
  "$root/hack/add-destination.sh" $destination >"$state_dir/connector-hub.kubeconfig"
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
  - target: {kind: ConfigMap, name: infra-connector}
    patch: |
      - op: replace
        path: /data/config.yaml
        value: |
          destination: $destination
          namespace: $namespace
          hubKubeconfig: /etc/infra/hub/kubeconfig
          issuer: https://$hub_ip:30444
          issuerCAFile: /etc/infra/hub/issuer-ca.crt
          proxy:
            url: https://$spoke_ip:30443
            ipAddresses: [$spoke_ip]
            kubeconfig: /etc/infra/proxy-kubeconfig.yaml
YAML
spokectl create namespace $namespace --dry-run=client -o yaml | spokectl apply -f - >/dev/null
spokectl -n $namespace create secret generic infra-connector-hub \
  --from-file=kubeconfig="$state_dir/connector-hub.kubeconfig" --from-file=issuer-ca.crt="$state_dir/operator-ca.crt" \
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
