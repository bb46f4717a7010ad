#!/usr/bin/env bash
# Load benchmark: callbridge's receiver (and its delivery to a local stand-in
# for Slack) against a bare actix-web server with the same route; and
# callbridge storing only (each call planned as a reminder for tomorrow, so
# nothing is sent during the run), which shows what ingest alone costs; and
# the floor (examples/bench_floor.rs), the least a durable relay does per
# call, which bounds what any design on this store and machine can reach.
#
# Usage: bash bench/run.sh
# Knobs (environment): DURATION (15s), THREADS (2), PAYLOAD, KEEP_TMP=1 to
# keep the temp dir (config, database, logs, raw wrk output).
# Everything listens on 127.0.0.1 only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-15s}
THREADS=${THREADS:-2}
CONNECTIONS=(32 256)
PAYLOAD=${PAYLOAD:-/work/shared/payloads/01-docs-example.json}
TOKEN=bench-token-0123456789abcdef
DELIVERY_BOUND=${DELIVERY_BOUND:-300}   # seconds to wait for deliveries to catch up
RUN_ID=$(date +%s)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/callbridge-bench.XXXXXX")
PIDS=()

# --- clean-up: stop exactly the processes this script started ---------------
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

log() { echo "== $*" >&2; }

# --- tools -------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    log "installing wrk"
    SUDO=$([[ $(id -u) == 0 ]] && echo "" || echo sudo)
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null
fi
[[ -r $PAYLOAD ]] || { echo "payload not found: $PAYLOAD" >&2; exit 1; }

log "building (release)"
(cd "$ROOT" && cargo build --release --bin callbridge --example bench_bare --example bench_sink --example bench_floor)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release

# A free loopback port (nothing answers a connect on it).
free_port() {
    local port
    while :; do
        # Below the ephemeral range (32768+), where wrk's own connections
        # could hold the port.
        port=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}

# Wait (bounded) until a GET on $1 succeeds.
wait_http() {
    local i
    for i in $(seq 1 150); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    echo "no answer from $1 after 30 s" >&2
    return 1
}

now() { date +%s.%N; }
sink_count() { curl -fsS "http://127.0.0.1:$SINK_PORT/count"; }
# Peak RSS (VmHWM) in MiB, and resetting it (echo 5 > clear_refs) between runs.
peak_rss_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
reset_peak_rss() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }
# CPU time (user + system) a process has used so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)
# Microseconds of CPU per request: ticks $1..$2 over $3 requests.
cpu_per_request() { awk -v a="$1" -v b="$2" -v n="$3" -v t="$TICK" 'BEGIN { printf "%.0f", (b - a) * 1e6 / t / n }'; }

# --- wrk script: a distinct sort_key per request, status counts at the end --
cat > "$TMP/unique.lua" <<'LUA'
-- Posts the payload with sort_key = BENCH-<tag>-<thread>-<counter>, so no
-- request is a duplicate, and counts responses by status.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "r"))
  local body = f:read("*a")
  f:close()
  tag = args[2] or "run"
  counter = 0
  statuses = {}
  -- "now": the call was made now, so its call-back ("Tomorrow Morning")
  -- falls due tomorrow, after the run.
  if args[3] == "now" then
    body = body:gsub('"calltimestamp"%s*:%s*%d+', '"calltimestamp": ' .. os.time(), 1)
  end
  local s, e = body:find('"sort_key"%s*:%s*"[^"]*"')
  if s then
    prefix, suffix = body:sub(1, s - 1) .. '"sort_key": "', '"' .. body:sub(e + 1)
  else
    local brace = body:find("{", 1, true)
    prefix, suffix = body:sub(1, brace) .. '"sort_key": "', '",' .. body:sub(brace + 1)
  end
end

function request()
  counter = counter + 1
  return wrk.format("POST", nil, nil, prefix .. tag .. "-" .. id .. "-" .. counter .. suffix)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local ok, other = 0, {}
  local by = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      by[status] = (by[status] or 0) + n
    end
  end
  for status, n in pairs(by) do
    if status >= 200 and status < 300 then ok = ok + n end
    table.insert(other, status .. ":" .. n)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT ok=%d duration_us=%d p50_us=%d p99_us=%d statuses=%s errors=connect:%d,read:%d,write:%d,timeout:%d\n",
    ok, summary.duration, latency:percentile(50), latency:percentile(99),
    table.concat(other, ","), e.connect, e.read, e.write, e.timeout))
end
LUA

# Runs wrk against $1 (base URL) with $2 connections; tag $3; $4 `now` to
# post calls made now (see unique.lua). Prints the
# RESULT line and keeps wrk's full --latency output in $TMP/wrk-$3.txt.
drive() {
    wrk -t"$THREADS" -c"$2" -d"$DURATION" --timeout 10s --latency \
        -H "Content-Type: application/json" -H "Authorization: Bearer $TOKEN" \
        -s "$TMP/unique.lua" "$1/hooks/voicemate" -- "$PAYLOAD" "$RUN_ID-$3" "${4:-}" \
        > "$TMP/wrk-$3.txt"
    grep '^RESULT ' "$TMP/wrk-$3.txt"
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# --- the Slack stand-in ------------------------------------------------------
SINK_PORT=$(free_port)
"$BIN/examples/bench_sink" "127.0.0.1:$SINK_PORT" 2> "$TMP/sink.log" &
PIDS+=($!)
wait_http "http://127.0.0.1:$SINK_PORT/count"

# --- callbridge with a temp config -----------------------------------------
# write_config FILE PORT DB ROUTE_TO: every call goes to ROUTE_TO — `slack`
# (sent to the stand-in) or `callback` (a reminder planned for the call-back
# time, tomorrow for payload 01: stored, nothing sent during the run).
write_config() {
    cat > "$1" <<YAML
server:
  listen: "127.0.0.1:$2"
  max_body: 1MiB

storage:
  url: "sqlite://$3"

templates_dir: $ROOT/templates

delivery:
  concurrency: 16

sources:
  voicemate:
    token: "$TOKEN"

destinations:
  slack:
    type: slack
    webhook_url: "http://127.0.0.1:$SINK_PORT/services/T000/B000/bench"
    template: slack/call.json.hbs
  callback:
    type: reminder
    notify: [slack]

routes:
  - name: every-call
    to: [$4]
YAML
}
CB_PORT=$(free_port)
write_config "$TMP/cb.yaml" "$CB_PORT" "$TMP/bench.db" slack

log "starting callbridge on 127.0.0.1:$CB_PORT (logs: $TMP/callbridge.log)"
# Default log level (info, one line per call and per delivery), as shipped.
NO_COLOR=1 "$BIN/callbridge" --config "$TMP/cb.yaml" serve 2> "$TMP/callbridge.log" &
CB_PID=$!
PIDS+=("$CB_PID")
wait_http "http://127.0.0.1:$CB_PORT/healthz"

# Smoke test: one call must be accepted (202) and reach the sink.
status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Content-Type: application/json" \
    -H "Authorization: Bearer $TOKEN" --data-binary "@$PAYLOAD" "http://127.0.0.1:$CB_PORT/hooks/voicemate")
[[ $status == 202 ]] || { echo "smoke call answered $status, not 202" >&2; tail -20 "$TMP/callbridge.log" >&2; exit 1; }
for _ in $(seq 1 50); do [[ $(sink_count) -ge 1 ]] && break; sleep 0.2; done
[[ $(sink_count) -ge 1 ]] || { echo "smoke call never reached the sink" >&2; exit 1; }

declare -A REQS P50 P99 DELIV RSS CPU NOTES

# Waits until the sink has seen $1 more deliveries than before the run,
# then for stragglers (calls stored while wrk was stopping) to settle.
# Sets DELIVERED_AT (time of reaching the target) and DELIVERED (final count).
wait_deliveries() {
    local target=$1 deadline count last
    deadline=$(awk -v t="$(now)" -v b="$DELIVERY_BOUND" 'BEGIN { printf "%.3f", t + b }')
    DELIVERED_AT=""
    while :; do
        count=$(sink_count)
        if (( count >= target )); then DELIVERED_AT=$(now); break; fi
        if awk -v t="$(now)" -v d="$deadline" 'BEGIN { exit !(t > d) }'; then break; fi
        sleep 0.1
    done
    # Settle: stop when the count has not moved for 1 s.
    last=-1
    while count=$(sink_count); (( count != last )); do last=$count; sleep 1; done
    DELIVERED=$count
}

# relay_run ROW PID URL CONNECTIONS: one wrk run against a server that
# sends each call on to the sink, with its figures filed under ROW.
relay_run() {
    local row=$1 pid=$2 before start ticks result at_end ok dur delivered lag
    log "$row: wrk -c$4 for $DURATION"
    reset_peak_rss "$pid"
    before=$(sink_count)
    start=$(now)
    ticks=$(cpu_ticks "$pid")
    result=$(drive "$3" "$4" "${row/@/}")
    at_end=$(( $(sink_count) - before ))
    ok=$(field ok "$result"); dur=$(field duration_us "$result")
    REQS[$row]=$(awk -v n="$ok" -v d="$dur" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
    P50[$row]=$(field p50_us "$result"); P99[$row]=$(field p99_us "$result")

    wait_deliveries $(( before + ok ))
    # Ingest and delivery of every call of the run, stragglers included.
    CPU[$row]=$(cpu_per_request "$ticks" "$(cpu_ticks "$pid")" "$ok")
    delivered=$(( DELIVERED - before ))
    if [[ -n $DELIVERED_AT ]]; then
        DELIV[$row]=$(awk -v n="$ok" -v s="$start" -v e="$DELIVERED_AT" 'BEGIN { printf "%.0f", n / (e - s) }')
        lag=$(awk -v s="$start" -v e="$DELIVERED_AT" -v d="$dur" 'BEGIN { printf "%.1f", (e - s) - d / 1e6 }')
    else
        DELIV[$row]="LAG"
        lag="> $DELIVERY_BOUND"
    fi
    RSS[$row]=$(peak_rss_mib "$pid")
    NOTES[$row]="statuses $(field statuses "$result"); socket errors $(field errors "$result"); delivered during load $at_end/$ok, all $ok delivered ${lag} s after load ended; sink total for run $delivered"
}

for c in "${CONNECTIONS[@]}"; do
    relay_run "callbridge@$c" "$CB_PID" "http://127.0.0.1:$CB_PORT" "$c"
done

# answer_only ROW PID URL CONNECTIONS [now]: one wrk run against a server
# that sends nothing on, with its figures filed under ROW.
answer_only() {
    local row=$1 pid=$2 ticks result ok dur
    reset_peak_rss "$pid"
    ticks=$(cpu_ticks "$pid")
    result=$(drive "$3" "$4" "${row/@/}" "${5:-}")
    ok=$(field ok "$result"); dur=$(field duration_us "$result")
    CPU[$row]=$(cpu_per_request "$ticks" "$(cpu_ticks "$pid")" "$ok")
    REQS[$row]=$(awk -v n="$ok" -v d="$dur" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
    P50[$row]=$(field p50_us "$result"); P99[$row]=$(field p99_us "$result")
    DELIV[$row]="-"
    RSS[$row]=$(peak_rss_mib "$pid")
    NOTES[$row]="statuses $(field statuses "$result"); socket errors $(field errors "$result")"
}

# --- callbridge storing only: what ingest alone costs ------------------------
kill "$CB_PID"; wait "$CB_PID" 2>/dev/null || true
INGEST_PORT=$(free_port)
write_config "$TMP/ingest.yaml" "$INGEST_PORT" "$TMP/ingest.db" callback
NO_COLOR=1 "$BIN/callbridge" --config "$TMP/ingest.yaml" serve 2> "$TMP/ingest.log" &
INGEST_PID=$!
PIDS+=("$INGEST_PID")
wait_http "http://127.0.0.1:$INGEST_PORT/healthz"
row="ingest@32"
log "$row (stored with a reminder for tomorrow, nothing sent): wrk -c32 for $DURATION"
answer_only "$row" "$INGEST_PID" "http://127.0.0.1:$INGEST_PORT" 32 now
kill "$INGEST_PID"; wait "$INGEST_PID" 2>/dev/null || true

# --- the floor: the least a durable relay does (examples/bench_floor.rs) -----
FLOOR_PORT=$(free_port)
"$BIN/examples/bench_floor" "127.0.0.1:$FLOOR_PORT" "http://127.0.0.1:$SINK_PORT/floor" "$TMP/floor.db" "$TOKEN" \
    2> "$TMP/floor.log" &
FLOOR_PID=$!
PIDS+=("$FLOOR_PID")
for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$FLOOR_PORT") 2>/dev/null && break; sleep 0.2; done
relay_run "floor@32" "$FLOOR_PID" "http://127.0.0.1:$FLOOR_PORT" 32
kill "$FLOOR_PID"; wait "$FLOOR_PID" 2>/dev/null || true

# --- bare actix-web baseline -------------------------------------------------
BARE_PORT=$(free_port)
"$BIN/examples/bench_bare" "127.0.0.1:$BARE_PORT" 2> "$TMP/bare.log" &
BARE_PID=$!
PIDS+=("$BARE_PID")
for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$BARE_PORT") 2>/dev/null && break; sleep 0.2; done
kill -0 "$BARE_PID" 2>/dev/null || { echo "bench_bare exited:" >&2; cat "$TMP/bare.log" >&2; exit 1; }

for c in "${CONNECTIONS[@]}"; do
    row="bare@$c"
    log "$row: wrk -c$c for $DURATION"
    answer_only "$row" "$BARE_PID" "http://127.0.0.1:$BARE_PORT" "$c"
done

# --- report ------------------------------------------------------------------
ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
echo
echo "payload $(basename "$PAYLOAD"), $DURATION per run, wrk -t$THREADS, $(nproc) cores, all on one machine"
printf '%-16s %10s %11s %11s %12s %14s %12s\n' "" "req/s" "p50" "p99" "delivered/s" "peak RSS MiB" "CPU µs/req"
for row in callbridge@32 callbridge@256 ingest@32 floor@32 bare@32 bare@256; do
    printf '%-16s %10s %11s %11s %12s %14s %12s\n' "$row" "${REQS[$row]}" "$(ms "${P50[$row]}")" \
        "$(ms "${P99[$row]}")" "${DELIV[$row]}" "${RSS[$row]}" "${CPU[$row]}"
done
echo
awk -v a="${REQS[callbridge@32]}" -v b="${REQS[bare@32]}" \
    'BEGIN { printf "callbridge/bare accepted/s at 32 connections: %.3f (%.1f%%)\n", a / b, 100 * a / b }'
awk -v a="${REQS[ingest@32]}" -v b="${REQS[bare@32]}" \
    'BEGIN { printf "storing only (no send)/bare at 32 connections: %.3f (%.1f%%)\n", a / b, 100 * a / b }'
awk -v a="${REQS[floor@32]}" -v b="${REQS[bare@32]}" \
    'BEGIN { printf "floor (least durable relay)/bare at 32 connections: %.3f (%.1f%%)\n", a / b, 100 * a / b }'
echo
echo "details:"
for row in callbridge@32 callbridge@256 ingest@32 floor@32 bare@32 bare@256; do echo "  $row: ${NOTES[$row]}"; done
echo "  callbridge log: $(grep -cw ERROR "$TMP/callbridge.log" || true) ERROR, $(grep -cw WARN "$TMP/callbridge.log" || true) WARN lines; storing only: $(grep -cwE 'ERROR|WARN' "$TMP/ingest.log" || true) ERROR/WARN lines"
grep -wE 'ERROR|WARN' "$TMP/callbridge.log" | head -5 | sed 's/^/    /' || true
