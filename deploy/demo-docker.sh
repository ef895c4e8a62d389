#!/usr/bin/env bash
# `make demo`: the Docker demo. Makes sure an engine runs, builds berth and
# whoami into images FROM scratch, starts docker-compose.yml and prints
# what to try.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/ensure-docker.sh
make -s build
DOCKER_GID=$(stat -c %g /var/run/docker.sock)
export DOCKER_GID
docker-compose -p berth-demo build
docker-compose -p berth-demo up -d
for _ in $(seq 1 100); do
  if curl -fsS -H 'Host: whoami.localhost' http://127.0.0.1:8000/ >/dev/null 2>&1; then
    break
  fi
  sleep 0.1
done
cat <<'MSG'

berth runs in Docker and routes to the labelled containers. Try:
  curl -H 'Host: whoami.localhost' http://127.0.0.1:8000/           # two replicas, balanced
  curl -H 'Host: api.localhost' http://127.0.0.1:8000/api/hello     # stripPrefix middleware
  curl http://127.0.0.1:8080/ping
  curl http://127.0.0.1:8080/api/http/routers                        # the API; the dashboard: http://127.0.0.1:8080/dashboard/
  curl -s http://127.0.0.1:8080/metrics | grep berth_service_requests_total
  docker-compose -p berth-demo up -d --scale whoami=3               # a third replica, routed at once
Stop it with: docker-compose -p berth-demo down --rmi local
MSG
