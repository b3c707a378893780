#!/usr/bin/env bash
# Creates the hub identity for one destination's connector and prints its kubeconfig.
#
#   KUBECONFIG=<hub> hack/add-destination.sh production > production-hub.kubeconfig
#
# In the hub it creates (idempotently) the Destination, a ServiceAccount
# connector-<destination> in the operator's namespace, and a ClusterRole bound to it that
# allows exactly what a connector does: read Grants, write Grant status (the Synced
# condition), and update its own Destination and that Destination's status. The printed
# kubeconfig carries a token for that ServiceAccount (valid for INFRA_TOKEN_DURATION,
# default one year; run the script again to renew it). INFRA_HUB_SERVER sets the hub
# address written into it when spokes reach the hub at another address than you do.
#
# RBAC lets it patch every Grant's status; the hub's connector isolation policy
# (config/admission) narrows that to its own destination's Grants, and reads the
# destination from the ServiceAccount's name: keep it connector-<destination>.
set -euo pipefail

destination=${1:?usage: hack/add-destination.sh DESTINATION   (with KUBECONFIG pointing at the hub)}
namespace=${INFRA_NAMESPACE:-infra-system}
duration=${INFRA_TOKEN_DURATION:-8760h}
[[ $destination =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ && $destination != infra ]] || {
  echo "add-destination: \"$destination\" is not a valid destination name: use a DNS label (lowercase letters, digits, -), not \"infra\"" >&2
  exit 2
}
account=connector-$destination
role=infra:connector:$destination

kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -f - >/dev/null <<YAML
apiVersion: infrahq.com/v1alpha1
kind: Destination
metadata:
  name: $destination
spec:
  kind: kubernetes
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: $account
  namespace: $namespace
  labels: {app.kubernetes.io/part-of: infra, infrahq.com/destination: $destination}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: $role
  labels: {app.kubernetes.io/part-of: infra, infrahq.com/destination: $destination}
rules:
  - apiGroups: [infrahq.com]
    resources: [grants]
    verbs: [get, list, watch]
  - apiGroups: [infrahq.com]
    resources: [grants/status]
    verbs: [patch]
  - apiGroups: [infrahq.com]
    resources: [destinations, destinations/status]
    resourceNames: [$destination]
    verbs: [get, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: $role
  labels: {app.kubernetes.io/part-of: infra, infrahq.com/destination: $destination}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: $role}
subjects:
  - {kind: ServiceAccount, name: $account, namespace: $namespace}
YAML

token=$(kubectl create token "$account" -n "$namespace" --duration="$duration")
# The hub as the spoke reaches it; the current context's address unless INFRA_HUB_SERVER says otherwise.
server=${INFRA_HUB_SERVER:-$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')}
ca=$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
cat <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: infra-hub
    cluster:
      server: $server
      certificate-authority-data: $ca
users:
  - name: $account
    user:
      token: $token
contexts:
  - name: infra-hub
    context: {cluster: infra-hub, user: $account}
current-context: infra-hub
KUBECONFIG
