#!/usr/bin/env bash
# Makes sure a Docker engine answers that can run kind's --privileged nodes, and says
# what it did on stderr (one line per action):
#
# - An engine that answers (docker info) is used as it is and never touched. If it cannot
#   run --privileged containers the script stops and says how to restart it.
# - With none answering, on a host where Debian's packages are reachable and we are root,
#   it installs docker.io (if dockerd is missing) and starts dockerd in the background
#   (log: ~/.cache/infra/dockerd.log). It stays running after kind-down.
# - Hosts whose capability bounding set lacks a capability docker grants --privileged
#   containers (CAP_SYS_RESOURCE on some CI sandboxes) make runc fail with "unable to
#   apply caps: operation not permitted". Only there, dockerd is restarted with the
#   runtime wrapper hack/tools/runc-capbound as its default runtime: it drops exactly the
#   missing capabilities from the OCI spec before it execs runc.
#
# Exit status 0 when an engine answers and runs --privileged containers; otherwise one
# line naming the cause and the fix, and status 1.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_dir=${INFRA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infra}
dockerd_log=$cache_dir/dockerd.log
wrapper_name=runc-capbound
# A one-layer image with no files: enough to see whether runc applies --privileged's caps.
probe_image=infra-probe/empty:1
start_timeout_s=60

say() { echo "docker-engine: $*" >&2; }
fail() {
  say "$*"
  exit 1
}

answers() { docker info >/dev/null 2>&1; }

# privileged_probe: empty when --privileged works, else what went wrong.
privileged_probe() {
  if ! docker image inspect "$probe_image" >/dev/null 2>&1; then
    tar -c -f - --files-from /dev/null | docker import - "$probe_image" >/dev/null 2>&1 || {
      echo "cannot make the probe image ($probe_image) with docker import"
      return
    }
  fi
  # The image has no /probe: runc applies the capabilities first, so "no such file"
  # means they applied.
  local out
  out=$(docker run --rm --privileged --network none "$probe_image" /probe 2>&1) || true
  grep -q 'no such file or directory' <<<"$out" || grep -m1 . <<<"$out" || echo "docker run --privileged printed nothing"
}

command -v docker >/dev/null || fail "the docker CLI is not on PATH; install Docker (https://docs.docker.com/engine/install/)"

if answers; then
  version=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown)
  problem=$(privileged_probe)
  [[ -z $problem ]] || fail "the Docker engine that answers (server $version) cannot run --privileged containers ($problem); it was left as it is. Restart it with the wrapper: dockerd --add-runtime $wrapper_name=$("$root/hack/build-tools.sh" $wrapper_name)/$wrapper_name --default-runtime $wrapper_name"
  say "using the Docker engine that answers (server $version); nothing changed"
  exit 0
fi

[[ -z ${DOCKER_HOST:-} ]] || fail "DOCKER_HOST=$DOCKER_HOST does not answer (docker info failed); start that engine or unset DOCKER_HOST"
[[ $(id -u) == 0 ]] || fail "no Docker engine answers and starting one needs root; start Docker (sudo systemctl start docker) or run as root"
if ! command -v dockerd >/dev/null; then
  command -v apt-get >/dev/null || fail "no Docker engine answers and this host has no apt-get to install one; install Docker (https://docs.docker.com/engine/install/)"
  say "no Docker engine answers: installing Debian's docker.io (apt-get install docker.io)"
  mkdir -p "$cache_dir"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io; } >"$cache_dir/apt-docker.log" 2>&1 ||
    fail "installing docker.io failed (log: $cache_dir/apt-docker.log); check that Debian's package mirrors are reachable, or install Docker yourself"
fi

# start_dockerd [dockerd flags…]: starts it detached, waits until it answers.
start_dockerd() {
  mkdir -p "$cache_dir"
  echo "--- $(date -u +%FT%TZ) dockerd $*" >>"$dockerd_log"
  setsid nohup dockerd "$@" >>"$dockerd_log" 2>&1 </dev/null &
  local pid=$! deadline=$((SECONDS + start_timeout_s))
  until answers; do
    kill -0 "$pid" 2>/dev/null || fail "dockerd exited at start (last line of $dockerd_log: $(tail -1 "$dockerd_log")); fix that and run again"
    ((SECONDS < deadline)) || fail "dockerd did not answer within ${start_timeout_s}s (log: $dockerd_log); stop it (kill $pid) and look there"
    sleep 1
  done
  echo "$pid"
}

pid=$(start_dockerd)
say "started dockerd (pid $pid, log $dockerd_log)"
problem=$(privileged_probe)
if [[ -n $problem ]]; then
  say "--privileged fails here ($problem): restarting dockerd with the runtime wrapper $wrapper_name"
  wrapper=$("$root/hack/build-tools.sh" $wrapper_name)/$wrapper_name
  kill "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  pid=$(start_dockerd --add-runtime "$wrapper_name=$wrapper" --default-runtime "$wrapper_name")
  problem=$(privileged_probe)
  [[ -z $problem ]] || fail "--privileged still fails with the runtime wrapper ($problem); see $dockerd_log"
  say "restarted dockerd (pid $pid) with default runtime $wrapper_name ($wrapper); --privileged containers run"
fi
say "Docker $(docker version --format '{{.Server.Version}}') answers; it keeps running (stop it with: kill $pid)"
