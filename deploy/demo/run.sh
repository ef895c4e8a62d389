#!/usr/bin/env bash
# The local demo behind `make demo`: two whoami backends and berth in front,
# all on loopback, configured by deploy/demo/dynamic.yml (edit it live).
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BIN:-bin}
make -s build
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$bin/whoami" -addr 127.0.0.1:18081 -name whoami-1 2>/dev/null & pids+=($!)
"$bin/whoami" -addr 127.0.0.1:18082 -name whoami-2 2>/dev/null & pids+=($!)
"$bin/berth" \
  --entryPoints.web.address=127.0.0.1:8000 \
  --entryPoints.traefik.address=127.0.0.1:8080 \
  --providers.file.filename=deploy/demo/dynamic.yml \
  --providers.file.watch=true \
  --ping=true \
  --log.level=INFO & pids+=($!)

for _ in $(seq 1 50); do
  curl -fsS http://127.0.0.1:8080/ping >/dev/null 2>&1 && break
  sleep 0.1
done
cat <<'MSG'

berth is running. Try:
  curl -H 'Host: whoami.localhost' http://127.0.0.1:8000/         # balanced over whoami-1 and whoami-2
  curl -H 'Host: whoami.localhost' http://127.0.0.1:8000/api/x    # stripPrefix + headers middlewares
  curl -u admin:berth -H 'Host: admin.localhost' http://127.0.0.1:8000/   # basicAuth
  curl http://127.0.0.1:8080/ping
Edit deploy/demo/dynamic.yml and repeat: changes apply without a restart.
Press Ctrl-C to stop.
MSG
wait "${pids[2]}"
