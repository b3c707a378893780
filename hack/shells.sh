#!/usr/bin/env bash
# Provides real zsh and fish for the completion tests without root: downloads Debian's
# packages with `apt-get download` (no install), extracts them with `dpkg-deb -x` into a
# cache under ~/.cache/infra/shells keyed by the package versions, and prints on stdout,
# one `name=value` a line, how to run them from there (progress goes to stderr). A warm
# cache answers in milliseconds. Safe to run concurrently (flock).
#
# Printed: zsh (the binary), zsh_module_path (for `module_path`: zsh ignores MODULE_PATH
# from the environment), zsh_fpath (for FPATH), fish (the binary), library_path (for
# LD_LIBRARY_PATH: fish needs libpcre2-32, which hosts rarely have).
set -euo pipefail

# fish finds its functions relative to its binary; libpcre2-32-0 is the only library of
# theirs a host with Node (libstdc++) and bash (libtinfo) may lack.
packages=(zsh zsh-common fish fish-common libpcre2-32-0)

fail() {
  echo "shells: $*" >&2
  exit 1
}

for tool in apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null || fail "$tool is required: the completion tests run zsh and fish from Debian's packages, fetched with apt (run them on a Debian or Ubuntu host)"
done

# One apt-cache call (each costs about a second): "package=version", one a line.
mapfile -t versions < <(apt-cache show --no-all-versions "${packages[@]}" 2>/dev/null | awk '/^Package: /{p=$2} /^Version: /{print p "=" $2}')
for package in "${packages[@]}"; do
  [[ " ${versions[*]} " == *" $package="* ]] || fail "apt knows no package $package: run \`apt-get update\` (as root) so its package lists are present"
done

cache_dir=${INFRA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infra}/shells
key=$(printf '%s\n' "${versions[@]}" | sha256sum | cut -c1-12)
root=$cache_dir/$key
mkdir -p "$cache_dir"

exec 9>"$cache_dir/install.lock"
flock 9

# The marker says the extraction finished (an interrupted one is made again).
if [[ ! -e $root/.installed ]]; then
  echo "shells: downloading ${versions[*]} into $root..." >&2
  rm -rf "$root"
  mkdir -p "$root/debs" "$root/tree"
  (cd "$root/debs" && apt-get download "${versions[@]}" >&2) || fail "apt-get download ${versions[*]} failed (see above): this needs network access to the host's apt sources"
  for deb in "$root"/debs/*.deb; do dpkg-deb -x "$deb" "$root/tree"; done
  rm -rf "$root/debs"
  # fish relocates itself (share/fish, etc/fish) only when both sit beside its bin/.
  ln -s ../etc "$root/tree/usr/etc"
  touch "$root/.installed"
fi

tree=$root/tree
library=$(find "$tree/usr/lib" -name 'libpcre2-32.so.0' -printf '%h\n' | head -n1)
modules=$(find "$tree/usr/lib" -path '*/zsh/*/zsh/parameter.so' -printf '%h\n' | head -n1)
[[ -n $library && -n $modules ]] || fail "$tree lacks libpcre2-32.so.0 or zsh's modules: remove $root and run again"

echo "zsh=$tree/bin/zsh"
echo "zsh_module_path=${modules%/zsh}"
echo "zsh_fpath=$(find "$tree/usr/share/zsh/functions" -type d | sort | paste -sd:)"
echo "fish=$tree/usr/bin/fish"
echo "library_path=$library"
