#!/usr/bin/env bash
# What keeping the rooms' history costs the server: cs168 fan-out, 10 rooms
# x 10 members x 300 lines at 10,000 lines/s (90,000 deliveries/s offered),
# framechat pinned to core 0 with GOMAXPROCS=1 and chatbench to core 1,
# with no history, in memory, in a file, and on a cluster without and with
# the JetStream store; the stores alternate within each round.
# Needs taskset, and nats-server on PATH or in ~/go/bin for the cluster
# rows (go install github.com/nats-io/nats-server/v2@latest).
# Usage: cmd/chatbench/history.sh [ROUNDS]   (from the repository root)
set -euo pipefail
rounds=${1:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
nats=$(command -v nats-server || echo "$HOME/go/bin/nats-server")
go build -o "$out/server" ./cmd/framechat
go build -o "$out/chatbench" ./cmd/chatbench
for r in $(seq "$rounds"); do
  for m in none memory file nats-none nats-js; do
    rm -rf "$out/h.db" "$out/js"; mkdir -p "$out/js"
    extra=(); nspid=
    case $m in
    none) extra=(-no-history) ;;
    file) extra=(-history-file "$out/h.db") ;;
    nats-none | nats-js)
      taskset -c 1 "$nats" -js -a 127.0.0.1 -p 57422 -sd "$out/js" >/dev/null 2>&1 &
      nspid=$!; sleep 1
      extra=(-nats nats://127.0.0.1:57422)
      [ "$m" = nats-none ] && extra+=(-history-jetstream=false) ;;
    esac
    GOMAXPROCS=1 taskset -c 0 "$out/server" -addr 127.0.0.1 -log "" -queue 67108864 -flood-rate -1 "${extra[@]}" 57600 >/dev/null 2>&1 &
    pid=$!; sleep 1.5
    echo "round $r, history $m"
    taskset -c 1 "$out/chatbench" -label "$m" -proto cs168 -addr 127.0.0.1:57600 -pid "$pid" \
      -rooms 10 -members 10 -messages 300 -rate 10000 fanout
    kill "$pid"; wait "$pid" 2>/dev/null || true
    if [ -n "$nspid" ]; then kill "$nspid"; wait "$nspid" 2>/dev/null || true; fi
  done
done
