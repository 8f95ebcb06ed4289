#!/usr/bin/env bash
# Cross-server delivery against the single-server figure, in one go, RUNS
# times each, on loopback: one framechat server alone; one server on NATS
# (every message makes a round trip through NATS); two servers on NATS with
# each room's members alternating between them (half of every room's
# traffic crosses servers). Needs nats-server on PATH
# (go install github.com/nats-io/nats-server/v2@latest, or Debian's).
# Usage: cmd/chatbench/cluster.sh [RUNS]   (from the repository root)
set -euo pipefail
runs=${1:-3}
out=$(mktemp -d)
go build -o "$out/server" ./cmd/framechat
go build -o "$out/chatbench" ./cmd/chatbench
pids=()
trap 'stop; rm -rf "$out"' EXIT
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done; pids=(); }
# Flood control off and a 64 MiB slow-consumer bound, as in compare.sh.
server() { "$out/server" -addr 127.0.0.1 -log "" -queue 67108864 -flood-rate -1 "$@" >/dev/null & pids+=($!); }
bench() { "$out/chatbench" -proto cs168 "$@" 2>"$out/err" || { cat "$out/err" >&2; exit 1; }; }
workloads() {
  bench "$@" -runs "$runs" -rooms 10 -members 10 -messages 1000 -batched fanout # as BENCHMARKS.md was measured
  bench "$@" -runs "$runs" -rooms 10 -members 10 -messages 300 -rate 10000 fanout
  bench "$@" -runs "$runs" -rooms 10 -members 10 -messages 300 -rate 2000 fanout
}

echo "### one server, no NATS"
server 25700; sleep 1
workloads -label single -addr 127.0.0.1:25700
stop

nats-server -a 127.0.0.1 -p 4299 -js -sd "$out/js" >/dev/null 2>&1 & pids+=($!); sleep 1
echo "### one server on NATS"
server -nats nats://127.0.0.1:4299 25701; sleep 1
workloads -label one-on-nats -addr 127.0.0.1:25701
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'

echo "### two servers on NATS, members alternating"
server -nats nats://127.0.0.1:4299 25702
server -nats nats://127.0.0.1:4299 25703; sleep 1
workloads -label two-on-nats -addr 127.0.0.1:25702,127.0.0.1:25703
