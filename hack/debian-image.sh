#!/usr/bin/env bash
# debian-image.sh NAME PACKAGE…: a Debian image made from Debian's packages with
# debootstrap, for hosts with no image registry. Prints the image's name on stdout.
#
# The image is infra-local/NAME:KEY, KEY the hash of the suite, the variant and the
# package list: a second call with the same arguments finds it in the Docker engine and
# builds nothing. Needs root (debootstrap) and Debian's package mirror; installs
# debootstrap with apt-get if it is missing.
set -euo pipefail

suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache_dir=${INFRA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infra}

fail() {
  echo "debian-image: $*" >&2
  exit 1
}

(($# >= 2)) || fail "usage: $0 NAME PACKAGE… (the packages to add to debootstrap's minbase)"
name=$1
shift
packages=$(printf '%s\n' "$@" | sort -u | paste -sd, -)
key=$(printf '%s %s minbase %s' "$suite" "$mirror" "$packages" | sha256sum | cut -c1-12)
image=infra-local/$name:$key

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "debian-image: $image cached" >&2
  echo "$image"
  exit 0
fi

[[ $(id -u) == 0 ]] || fail "building $image runs debootstrap, which needs root; run as root"
if ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null || fail "debootstrap is missing and this host has no apt-get; install debootstrap"
  echo "debian-image: installing debootstrap (apt-get install debootstrap)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
    fail "installing debootstrap failed; check that Debian's package mirrors are reachable"
fi

mkdir -p "$cache_dir/debootstrap"
rootfs=$(mktemp -d "$cache_dir/debootstrap/$name.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT
log=$cache_dir/debootstrap/$name.log
echo "debian-image: building $image: debootstrap $suite with $packages (about a minute; log $log)" >&2
start=$SECONDS
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$log" 2>&1 ||
  fail "debootstrap $suite failed (last line of $log: $(tail -1 "$log")); check that $mirror is reachable"
# Package lists and caches only make the image bigger.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
tar -C "$rootfs" -c . | docker import - "$image" >/dev/null || fail "docker import of $rootfs failed"
echo "debian-image: built $image in $((SECONDS - start))s" >&2
echo "$image"
