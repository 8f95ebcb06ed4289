#!/usr/bin/env bash
# Runs every chatbench workload against framechat and ngircd in one go,
# RUNS times each, on loopback. Needs ngircd (apt-get install ngircd).
# Usage: cmd/chatbench/compare.sh [RUNS]   (from the repository root)
set -euo pipefail
runs=${1:-3}
out=$(mktemp -d)
go build -o "$out/server" ./examples/server
go build -o "$out/chatbench" ./cmd/chatbench
pid=
trap 'stop; rm -rf "$out"' EXIT

# start NAME: starts a fresh server and sets pid and target.
start() {
  case $1 in
  framechat) # flood control off, as for ngircd; the slow-consumer bound is raised
    # to 64 MiB so that a flat-out run measures throughput, not eviction.
    "$out/server" -addr 127.0.0.1 -log "" -queue 67108864 -flood-rate -1 25600 >/dev/null &
    pid=$!; target="-label framechat -proto cs168 -addr 127.0.0.1:25600" ;;
  ngircd)
    ngircd -n -f cmd/chatbench/testdata/ngircd.conf >/dev/null 2>&1 &
    pid=$!; target="-label ngircd -proto irc -addr 127.0.0.1:6667" ;;
  esac
  sleep 1
}
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=; true; }
bench() { "$out/chatbench" $target -pid "$pid" "$@" 2>"$out/err" || { cat "$out/err" >&2; exit 1; }; }

# Slow consumers: with the default 64 KiB bound, one member per room stops
# reading; it is evicted, and the others' rate and latency should not move.
echo "### framechat, default queue bound, with and without stuck members"
"$out/server" -addr 127.0.0.1 -log "" -flood-rate -1 25601 >/dev/null &
pid=$!; target="-label framechat -proto cs168 -addr 127.0.0.1:25601"; sleep 1
bench -runs "$runs" -rooms 10 -members 10 -messages 300 -rate 10000 fanout
bench -runs "$runs" -rooms 10 -members 11 -messages 300 -rate 10000 -stuck 1 fanout
stop

for server in framechat ngircd; do
  echo "### $server"
  start $server
  # -batched: 8 KiB writes with no window, as BENCHMARKS.md's Results were
  # measured (chatbench's default is now one line per write, 32 in flight).
  bench -runs "$runs" -rooms 10 -members 10 -messages 1000 -batched fanout
  bench -runs "$runs" -rooms 1 -members 100 -messages 200 -batched fanout
  bench -runs "$runs" -rooms 10 -members 10 -messages 300 -rate 10000 fanout
  bench -runs "$runs" -workers 16 -duration 5s churn
  stop
  for i in $(seq "$runs"); do # memory is measured on a fresh server each time
    start $server
    # ngircd's listen queue is short: thousands of simultaneous dials time out.
    # framechat moves a quiet connection's reader to a fresh 2 KiB stack after
    # 2 s and returns the old stacks' memory a second later: settle 5 s.
    bench -conns 10000 -settle 5s -parallel "$([ $server = ngircd ] && echo 4 || echo 64)" idle
    stop
  done
done
