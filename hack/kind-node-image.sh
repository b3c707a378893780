#!/usr/bin/env bash
# kind-node-image.sh: a kind node image for the Kubernetes version the project pins,
# built on this host from Debian's packages and Go modules, with no image registry.
# Prints the image's name on stdout: infra-local/kind-node:<version>-<key>, the key
# covering everything that goes in, so a second run builds nothing.
#
# What kind's own node image (kindest/node) has, made here instead of pulled:
# - the node's OS: hack/debian-image.sh with systemd, Debian's containerd and runc, and
#   Debian's containernetworking-plugins (the bridge CNI, configured for the pod subnet
#   hack/kind-config.yaml gives kind);
# - kind's node files (entrypoint, systemd units, containerd config) from the
#   sigs.k8s.io/kind module that hack/tools/kind pins;
# - kubelet, kubeadm, kubectl and crictl built by hack/build-tools.sh;
# - in the node's containerd, under the names kubeadm asks for: kube-apiserver,
#   kube-controller-manager, kube-scheduler, kube-proxy (the same Go builds), etcd
#   (hack/tools/etcd; hack/kind-config.yaml sets its tag), CoreDNS (hack/tools/coredns)
#   and pause (kubernetes' own pause.c, compiled static).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=$root/hack/tools
log_dir=${INFRA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infra}/kind-node
mkdir -p "$log_dir"

fail() {
  echo "kind-node-image: $*" >&2
  exit 1
}
say() { echo "kind-node-image: $*" >&2; }

# module_dir <tools-module-dir> <module>: where Go keeps the module's files, downloading
# them first (go list leaves Dir empty for a module not yet in the module cache).
module_dir() {
  local dir
  dir=$(cd "$1" && GOFLAGS=-mod=mod go mod download "$2" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' "$2") && [[ -n $dir ]] ||
    fail "could not download Go module $2 (required by ${1#"$root"/}); check that the Go module proxy is reachable (go env GOPROXY)"
  echo "$dir"
}
required() { sed -n "s#^\\(require \\|\\t\\)$2 \\(v[0-9.]*\\)\$#\\2#p" "$1/go.mod" | head -1; }

kube_version=$(required "$tools/kubernetes-node" k8s.io/kubernetes)
etcd_version=$(required "$tools/etcd" go.etcd.io/etcd/server/v3)
coredns_version=$(required "$tools/coredns" github.com/coredns/coredns)
kubernetes_src=$(module_dir "$tools/kubernetes-node" k8s.io/kubernetes)
kind_src=$(module_dir "$tools/kind" sigs.k8s.io/kind)
constants=$kubernetes_src/cmd/kubeadm/app/constants/constants.go
pause_version=$(sed -n 's/^\s*PauseVersion = "\(.*\)"$/\1/p' "$constants")
kubeadm_coredns=$(sed -n 's/^\s*CoreDNSVersion = "\(.*\)"$/\1/p' "$constants")
[[ -n $pause_version && $kubeadm_coredns == "$coredns_version" ]] ||
  fail "kubeadm $kube_version deploys CoreDNS $kubeadm_coredns (pause $pause_version) but hack/tools/coredns pins $coredns_version; pin the version kubeadm names"

bin_dir=$("$root/hack/build-tools.sh" kubelet kubeadm kubectl crictl kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd coredns)
pause_bin=$bin_dir/pause-$pause_version
if [[ ! -x $pause_bin ]]; then
  command -v gcc >/dev/null || fail "gcc is needed to compile the pause container (build/pause/linux/pause.c); install gcc"
  gcc -Os -static -DVERSION="$pause_version" -o "$pause_bin.tmp" "$kubernetes_src/build/pause/linux/pause.c" ||
    fail "compiling pause.c failed; glibc's static libraries come with libc6-dev"
  mv "$pause_bin.tmp" "$pause_bin"
fi

node_base=$("$root/hack/debian-image.sh" kind-node-base systemd systemd-sysv dbus containerd runc containernetworking-plugins \
  iptables nftables conntrack iproute2 ethtool util-linux mount kmod libseccomp2 pigz ca-certificates procps jq e2fsprogs)
image_base=$("$root/hack/debian-image.sh" runtime ca-certificates iptables nftables conntrack)

# The images kubeadm pulls, by the names it asks for (kubeadm config images list).
images=(
  "registry.k8s.io/kube-apiserver:$kube_version=kube-apiserver"
  "registry.k8s.io/kube-controller-manager:$kube_version=kube-controller-manager"
  "registry.k8s.io/kube-scheduler:$kube_version=kube-scheduler"
  "registry.k8s.io/kube-proxy:$kube_version=kube-proxy"
  "registry.k8s.io/etcd:${etcd_version#v}-0=etcd"
  "registry.k8s.io/coredns/coredns:$coredns_version=coredns"
  "registry.k8s.io/pause:$pause_version=pause-$pause_version"
)
key=$(
  {
    echo "$node_base $image_base ${images[*]}"
    for entry in "${images[@]}" "=kubelet" "=kubeadm" "=kubectl" "=crictl"; do readlink -f "$bin_dir/${entry#*=}"; done
    sha256sum <"$0"
    (cd "$kind_src/images/base/files" && find . -type f -exec sha256sum {} + | sort)
  } | sha256sum | cut -c1-12
)
node_image=infra-local/kind-node:$kube_version-$key
if docker image inspect "$node_image" >/dev/null 2>&1; then
  say "$node_image cached"
  echo "$node_image"
  exit 0
fi
say "building $node_image (log: $log_dir/build.log)"
start=$SECONDS
work=$(mktemp -d "$log_dir/build.XXXXXX")
staging=
cleanup() {
  [[ -z $staging ]] || docker rm -f "$staging" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# One image per program: its binary in /usr/local/bin on the Debian runtime base (which
# has kube-proxy's iptables and conntrack), pause and CoreDNS as their own entrypoints.
for entry in "${images[@]}"; do
  name=${entry%%=*} program=${entry#*=}
  context=$work/${program}
  mkdir -p "$context"
  cp "$bin_dir/$program" "$context/"
  case $program in
  pause-*) printf 'FROM %s\nCOPY %s /pause\nENTRYPOINT ["/pause"]\n' "$image_base" "$program" ;;
  coredns) printf 'FROM %s\nCOPY coredns /coredns\nENTRYPOINT ["/coredns"]\n' "$image_base" ;;
  *) printf 'FROM %s\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCOPY %s /usr/local/bin/%s\n' "$image_base" "$program" "$program" ;;
  esac >"$context/Dockerfile"
  docker build -q --force-rm -t "$name" "$context" >>"$log_dir/build.log" 2>&1 || fail "building $name failed (log: $log_dir/build.log)"
done
docker save "${images[@]%%=*}" -o "$work/images.tar" || fail "docker save of the Kubernetes images failed"

# The node's files: kind's, then ours over them.
context=$work/node
mkdir -p "$context/bin"
cp -r "$kind_src/images/base/files" "$context/files"
chmod -R u+w "$context/files"
for program in kubelet kubeadm kubectl crictl; do cp "$bin_dir/$program" "$context/bin/"; done
cat >"$context/10-bridge.conflist" <<'JSON'
{
  "cniVersion": "1.0.0",
  "name": "kind-bridge",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
cat >"$context/Dockerfile" <<DOCKERFILE
FROM $node_base
COPY files/usr/local/bin/ /usr/local/bin/
COPY files/kind/ /kind/
COPY files/etc/ /etc/
COPY bin/kubelet bin/kubeadm bin/kubectl /usr/bin/
COPY bin/crictl /usr/local/bin/
COPY 10-bridge.conflist /etc/cni/net.d/10-bridge.conflist
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# As kind's base image (images/base/Dockerfile): no services but containerd and kubelet,
# Debian's containerd where kind's units look for it, the CNI plugins where containerd
# looks, the sandbox image kubeadm names, and the base OCI spec kind's config points at.
RUN chmod 0755 /usr/local/bin/* /kind/bin/* \\
 && ln -s /usr/bin/containerd /usr/local/bin/containerd \\
 && mkdir -p /opt/cni && ln -s /usr/lib/cni /opt/cni/bin \\
 && sed -i 's#sandbox_image = .*#sandbox_image = "registry.k8s.io/pause:$pause_version"#' /etc/containerd/config.toml \\
 && ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer|length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' | jq 'del(.process.rlimits)' >/etc/containerd/cri-base.json \\
 && find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete \\
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* /lib/systemd/system/local-fs.target.wants/* \\
      /lib/systemd/system/sockets.target.wants/*udev* /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \\
 && echo ReadKMsg=no >>/etc/systemd/journald.conf \\
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \\
 && systemctl mask systemd-binfmt.service \\
 && mkdir -p /etc/kubernetes/manifests \\
 && echo "$kube_version" >/kind/version
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
DOCKERFILE
docker build -q --force-rm -t "$node_image-staging" "$context" >>"$log_dir/build.log" 2>&1 || fail "building the node's files failed (log: $log_dir/build.log)"

# Images go into the node's containerd as kind's own build does it: run containerd in the
# image, import, commit. Without unpacking: the snapshots would sit on the image's
# overlay, and containerd unpacks them on first use in the node (where /var is a volume).
staging=infra-kind-node-build-$$
docker run -d --name "$staging" --privileged --entrypoint containerd "$node_image-staging" >/dev/null ||
  fail "running containerd in $node_image-staging failed; see: docker logs $staging"
for _ in $(seq 60); do docker exec "$staging" ctr version >/dev/null 2>&1 && break || sleep 1; done
docker exec -i "$staging" ctr -n k8s.io images import --no-unpack --all-platforms - <"$work/images.tar" >>"$log_dir/build.log" 2>&1 ||
  fail "importing the Kubernetes images into the node's containerd failed (log: $log_dir/build.log)"
docker exec "$staging" ctr -n k8s.io images ls -q >>"$log_dir/build.log"
docker stop -t 10 "$staging" >/dev/null
docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' "$staging" "$node_image" >/dev/null ||
  fail "docker commit of the node failed"
docker rmi "$node_image-staging" >/dev/null 2>&1 || true
say "built $node_image in $((SECONDS - start))s"
echo "$node_image"
