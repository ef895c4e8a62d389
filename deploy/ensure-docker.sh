#!/usr/bin/env bash
# Makes sure a Docker engine answers: used by `make demo` and by CI
# (.ci/run). If `docker info` fails, it installs Debian's docker.io (and
# docker-compose) when dockerd is missing, starts dockerd in the
# background and waits until it answers. It exits non-zero if the engine
# cannot be started, so that CI fails rather than skipping the Docker tests.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1; then
  echo "== installing docker.io and docker-compose (Debian packages)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker.io docker-compose >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "== starting dockerd"
  log=${DOCKERD_LOG:-/tmp/dockerd.log}
  # Started by hand: CI machines and containers often have no init system.
  $sudo sh -c "nohup dockerd >'$log' 2>&1 &"
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
      break
    fi
    sleep 0.5
  done
fi

if ! docker info >/dev/null 2>&1; then
  echo "error: the Docker engine did not start; see ${DOCKERD_LOG:-/tmp/dockerd.log}" >&2
  tail -20 "${DOCKERD_LOG:-/tmp/dockerd.log}" >&2 2>/dev/null || true
  exit 1
fi
echo "== Docker engine $(docker version --format '{{.Server.Version}}' 2>/dev/null) is up"
