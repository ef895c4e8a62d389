#!/usr/bin/env bash
# bench/run.sh — reproducible loopback benchmark of berth against nginx and
# HAProxy, all proxying to the same minimal backend (bench/backend).
#
# Usage: bash bench/run.sh            (or: make bench)
# Knobs (environment):
#   TARGETS="direct nginx haproxy berth"  targets to run, in order
#   DURATION=10s   measured wrk run per target (after a 2 s warm-up)
#   WARMUP=2s      warm-up wrk run per target (not measured)
#   CONNS=64       wrk connections
#   THREADS=2      wrk threads
#   BERTH_BIN=/path/to/berth   use a prebuilt berth instead of building ./cmd/berth
#   BERTH_FLAGS="--metrics.prometheus=true"   extra flags for berth (word-split),
#                  e.g. to measure the cost of metrics or the access log
#
# Output: a table on stdout, also written to bench/results/latest.txt; raw
# wrk output and each server's log in bench/results/logs/.
# Only traffic to 127.0.0.1; only processes started here are ever killed.
set -euo pipefail

TARGETS=${TARGETS:-"direct nginx haproxy berth"}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
BERTH_BIN=${BERTH_BIN:-}
BERTH_FLAGS=${BERTH_FLAGS:-}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS="$ROOT/bench/results"
LOGS="$RESULTS/logs"
mkdir -p "$LOGS"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- cleanup ---
STARTED=() # PIDs this script started; the only ones it will ever signal.

stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local pid
	for pid in "${STARTED[@]}"; do
		stop_pid "$pid"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "bench: $*" >&2
	exit 1
}

# --------------------------------------------------------------- helpers ---
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found in PATH${2:+ ($2)}"; }
need wrk "apt-get install wrk"
need curl "apt-get install curl"
need go

# free_ports N: print N distinct free TCP ports on 127.0.0.1.
free_ports() {
	local n=$1
	if command -v python3 >/dev/null 2>&1; then
		python3 - "$n" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
	else
		local ports=() p
		while ((${#ports[@]} < n)); do
			p=$((20000 + RANDOM % 30000))
			if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
				[[ " ${ports[*]-} " != *" $p "* ]]; then
				ports+=("$p")
			fi
		done
		echo "${ports[*]}"
	fi
}

# wait_ready PID PORT SECONDS: succeed once PID is alive and GET / on PORT
# answers 200; fail if the process dies or the deadline passes.
# On failure READY_WHY says why.
wait_ready() {
	local pid=$1 port=$2 secs=$3 i code=""
	READY_WHY=""
	for ((i = 0; i < secs * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			READY_WHY="exited"
			return 1
		fi
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null || true)
		[[ $code == 200 ]] && return 0
		sleep 0.1
	done
	READY_WHY="no 200 on GET / within ${secs}s, last status ${code:-none}"
	return 1
}

# proc_tree PID: PID and all its descendants (nginx master + workers).
proc_tree() {
	local pid=$1 c f
	[[ -d /proc/$pid ]] || return 0
	echo "$pid"
	for f in /proc/"$pid"/task/*/children; do
		[[ -r $f ]] || continue
		for c in $(cat "$f" 2>/dev/null); do
			proc_tree "$c"
		done
	done
}

# cpu_ticks PID: utime+stime (clock ticks) summed over the process tree.
# /proc/PID/stat covers all threads of a process. Fields 14 and 15 are
# counted after the ")" closing the comm field, which may contain spaces.
cpu_ticks() {
	local total=0 p t
	for p in $(proc_tree "$1"); do
		t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || t=0
		total=$((total + ${t:-0}))
	done
	echo "$total"
}

# rss_kib PID: VmRSS summed over the process tree, in KiB.
rss_kib() {
	local total=0 p r
	for p in $(proc_tree "$1"); do
		r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || r=0
		total=$((total + ${r:-0}))
	done
	echo "$total"
}

# ------------------------------------------------------------------ build ---
echo "bench: building backend..." >&2
(cd "$ROOT" && go build -o "$TMP/backend" ./bench/backend) || die "backend build failed"

BERTH_STATUS="" # empty = usable; otherwise the message for the table
if [[ " $TARGETS " == *" berth "* ]]; then
	if [[ -n $BERTH_BIN ]]; then
		[[ -x $BERTH_BIN ]] || BERTH_STATUS="BERTH_BIN=$BERTH_BIN is not executable"
	else
		echo "bench: building berth (./cmd/berth)..." >&2
		BERTH_BIN="$TMP/berth"
		if ! (cd "$ROOT" && go build -o "$BERTH_BIN" ./cmd/berth) >"$LOGS/berth-build.log" 2>&1; then
			BERTH_STATUS="build failed, see bench/results/logs/berth-build.log"
		fi
	fi
fi

read -r BACKEND_PORT NGINX_PORT HAPROXY_PORT BERTH_PORT <<<"$(free_ports 4)"

# ---------------------------------------------------------------- configs ---
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
# Generated by bench/run.sh. 2 workers (auto) to match berth's GOMAXPROCS=2
# and HAProxy's nbthread 2.
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log error;
events {
    worker_connections 4096;
}
http {
    access_log off;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path       $TMP/nginx/proxy;
    fastcgi_temp_path     $TMP/nginx/fastcgi;
    uwsgi_temp_path       $TMP/nginx/uwsgi;
    scgi_temp_path        $TMP/nginx/scgi;
    # No per-connection request cap (the default of 1000 would make nginx,
    # unlike HAProxy and berth, reconnect every 1000 requests).
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF

cat >"$TMP/haproxy.cfg" <<EOF
# Generated by bench/run.sh. 2 threads to match berth's GOMAXPROCS=2.
global
    nbthread 2
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend be
backend be
    server s1 127.0.0.1:$BACKEND_PORT
EOF

cat >"$TMP/berth-dyn.yml" <<EOF
http:
  routers:
    bench:
      rule: "PathPrefix(\`/\`)"
      service: backend
  services:
    backend:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:$BACKEND_PORT"
EOF

# ------------------------------------------------------------ run targets ---
# start_target NAME: start the server for NAME, set PID and PORT.
# Returns non-zero (with STATUS set) if it cannot be started.
start_target() {
	local name=$1 log="$LOGS/$1.log"
	PID="" PORT="" STATUS=""
	case $name in
	direct)
		PID=$BACKEND_PID PORT=$BACKEND_PORT
		return 0
		;;
	nginx)
		if ! command -v nginx >/dev/null 2>&1; then
			STATUS="nginx not installed"
			return 1
		fi
		PORT=$NGINX_PORT
		nginx -p "$TMP/nginx/" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' >"$log" 2>&1 &
		PID=$!
		;;
	haproxy)
		if ! command -v haproxy >/dev/null 2>&1; then
			STATUS="haproxy not installed"
			return 1
		fi
		PORT=$HAPROXY_PORT
		haproxy -db -f "$TMP/haproxy.cfg" >"$log" 2>&1 &
		PID=$!
		;;
	berth)
		if [[ -n $BERTH_STATUS ]]; then
			STATUS=$BERTH_STATUS
			return 1
		fi
		PORT=$BERTH_PORT
		"$BERTH_BIN" --entryPoints.web.address="127.0.0.1:$BERTH_PORT" \
			--providers.file.filename="$TMP/berth-dyn.yml" --log.level=ERROR $BERTH_FLAGS >"$log" 2>&1 &
		PID=$!
		;;
	*)
		STATUS="unknown target (want direct, nginx, haproxy or berth)"
		return 1
		;;
	esac
	STARTED+=("$PID")
	if ! wait_ready "$PID" "$PORT" 10; then
		STATUS="failed to start ($READY_WHY), see bench/results/logs/$name.log"
		stop_pid "$PID"
		return 1
	fi
	return 0
}

# The backend runs for the whole benchmark.
"$TMP/backend" -addr "127.0.0.1:$BACKEND_PORT" >"$LOGS/backend.log" 2>&1 &
BACKEND_PID=$!
STARTED+=("$BACKEND_PID")
wait_ready "$BACKEND_PID" "$BACKEND_PORT" 10 || die "backend failed to start, see $LOGS/backend.log"

declare -A ROW
DIRECT_RPS=""
declare -A CPU_PER_REQ

# wrk prints latencies like 812.00us / 1.23ms / 1.02s; keep them as printed.
for name in $TARGETS; do
	echo "bench: $name..." >&2
	if ! start_target "$name"; then
		ROW[$name]=$(printf '%-8s %s' "$name" "$name: $STATUS")
		echo "bench: $name: $STATUS" >&2
		continue
	fi
	url="http://127.0.0.1:$PORT/"
	wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "$url" >/dev/null 2>&1 || true

	t0=$(cpu_ticks "$PID")
	wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$url" >"$LOGS/$name.wrk.txt" 2>&1 || true
	t1=$(cpu_ticks "$PID")
	rss=$(rss_kib "$PID")
	[[ $name == direct ]] || stop_pid "$PID"

	out="$LOGS/$name.wrk.txt"
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	reqs=$(awk '/ requests in / {print $1}' "$out")
	p50=$(awk '$1 == "50%" {print $2}' "$out")
	p99=$(awk '$1 == "99%" {print $2}' "$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
	sockerr=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
	errors=$((${non2xx:-0} + ${sockerr:-0}))
	if [[ -z $rps || -z $reqs || $reqs == 0 ]]; then
		ROW[$name]=$(printf '%-8s %s' "$name" "$name: wrk failed, see bench/results/logs/$name.wrk.txt")
		continue
	fi
	[[ $name == direct ]] && DIRECT_RPS=$rps
	if [[ -n $DIRECT_RPS ]]; then
		ratio=$(awk -v a="$rps" -v b="$DIRECT_RPS" 'BEGIN {printf "%.2f", a / b}')
	else
		ratio="-"
	fi
	cpu=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')
	CPU_PER_REQ[$name]=$cpu
	rss_mib=$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')
	ROW[$name]=$(printf '%-8s %-10s %-9s %-9s %-16s %-11s %-8s %s' \
		"$name" "$(printf '%.0f' "$rps")" "$p50" "$p99" "$ratio" "$cpu" "$rss_mib" "$errors")
done

# ------------------------------------------------------------------ report ---
{
	rev=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
	echo "# berth bench $(date -u +%Y-%m-%dT%H:%M:%SZ) commit=$rev cores=$(nproc)"
	[[ -n $BERTH_FLAGS ]] && echo "# berth flags: $BERTH_FLAGS"
	echo "# wrk -t$THREADS -c$CONNS -d$DURATION (warm-up $WARMUP); nginx worker_processes auto, haproxy nbthread 2, berth GOMAXPROCS=${GOMAXPROCS:-$(nproc) (default)}"
	echo "# cpu_us/req: CPU (user+sys) of the target's processes only during the measured run / requests (direct = backend's own cost)"
	printf '%-8s %-10s %-9s %-9s %-16s %-11s %-8s %s\n' \
		target req/s p50 p99 ratio_vs_direct cpu_us/req rss_MiB errors
	for name in $TARGETS; do
		echo "${ROW[$name]}"
	done
	b=${CPU_PER_REQ[berth]:-} n=${CPU_PER_REQ[nginx]:-}
	if [[ -n $b && -n $n ]] && awk -v n="$n" 'BEGIN {exit !(n > 0)}'; then
		x=$(awk -v b="$b" -v n="$n" 'BEGIN {printf "%.2f", b / n}')
		verdict=$(awk -v x="$x" 'BEGIN {print (x <= 2.0) ? "OK, bar is <= 2.0" : "ABOVE the bar of 2.0"}')
		echo "berth cpu/req ÷ nginx cpu/req = $x ($verdict)"
	else
		echo "berth cpu/req ÷ nginx cpu/req = n/a (needs both berth and nginx measured)"
	fi
} | tee "$RESULTS/latest.txt"
