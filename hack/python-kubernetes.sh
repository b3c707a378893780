#!/usr/bin/env bash
# Installs the official Kubernetes Python client pinned in hack/python-kubernetes/requirements.txt
# into a venv cached under ~/.cache/infra/python, keyed by the Python version and the hash
# of that file, and prints the venv's python on stdout (progress goes to stderr). The e2e
# suite that runs the client calls it, so `make test` installs it on a fresh machine; a
# warm cache answers in milliseconds. Safe to run concurrently (flock).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
requirements=$root/hack/python-kubernetes/requirements.txt
cache_dir=${INFRA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infra}/python
mkdir -p "$cache_dir"

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "python-kubernetes: $python is required (Python >= 3.10 with venv and pip; set PYTHON to use another)" >&2; exit 1; }
python_version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

key=$(sha256sum "$requirements" | cut -c1-12)
venv=$cache_dir/kubernetes-py$python_version-$key

exec 9>"$cache_dir/install.lock"
flock 9

# A venv names its own path in its scripts, so it is made where it stays; the marker says
# the install finished (an interrupted one is made again).
if [[ ! -e $venv/.installed ]]; then
  echo "python-kubernetes: installing the Kubernetes Python client into $venv..." >&2
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2 || { echo "python-kubernetes: $python cannot make a venv: install its venv module (Debian: apt-get install python3-venv)" >&2; exit 1; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements" >&2
  touch "$venv/.installed"
fi
echo "$venv/bin/python"
