#!/usr/bin/env bash
# Runs every chatbench workload against framechat (cs168, and IRC on its
# IRC listener), ngIRCd and InspIRCd in one go, RUNS times each, on
# loopback. Fan-out is measured as chat clients
# send: one line per write, at most 32 lines of a sender in flight
# (chatbench's default). Needs ngircd and inspircd (apt-get install ngircd
# inspircd); both are configured in testdata/ with flood control off and
# their connection limits out of the way.
# Usage: cmd/chatbench/compare.sh [RUNS [SERVER...]]   (from the repository
# root; SERVER is framechat, framechat-irc, framechat-irc-nagle, ngircd or
# inspircd; all by default, with the run of framechat at its defaults
# first). framechat-irc-nagle is the IRC listener with -nagle: Nagle's
# algorithm on, as ngIRCd and InspIRCd leave it, so that CPU per line can
# be compared on the same TCP footing.
set -euo pipefail
runs=${1:-3}
shift || true
servers=${*:-defaults framechat framechat-irc framechat-irc-nagle ngircd inspircd}
out=$(mktemp -d)
go build -o "$out/server" ./cmd/framechat
go build -o "$out/chatbench" ./cmd/chatbench
pid=
trap 'stop; rm -rf "$out"' EXIT

start() {
  case $1 in
  framechat) # flood control off, as for the IRC servers; the slow-consumer bound
    # is raised to 64 MiB, as the IRC servers' send queues are.
    "$out/server" -addr 127.0.0.1 -log "" -queue 67108864 -flood-rate -1 25600 >/dev/null &
    pid=$!; target="-label framechat -proto cs168 -addr 127.0.0.1:25600" ;;
  framechat-irc) # the same server and settings, its IRC listener
    "$out/server" -addr 127.0.0.1 -log "" -queue 67108864 -flood-rate -1 -irc 127.0.0.1:6669 -cs168 127.0.0.1:25600 >/dev/null &
    pid=$!; target="-label framechat-irc -proto irc -addr 127.0.0.1:6669" ;;
  framechat-irc-nagle) # the same, with Nagle's algorithm on, as the IRC servers have it
    "$out/server" -addr 127.0.0.1 -log "" -queue 67108864 -flood-rate -1 -nagle -irc 127.0.0.1:6669 -cs168 127.0.0.1:25600 >/dev/null &
    pid=$!; target="-label framechat-irc-nagle -proto irc -addr 127.0.0.1:6669" ;;
  ngircd)
    ngircd -n -f cmd/chatbench/testdata/ngircd.conf >/dev/null 2>&1 &
    pid=$!; target="-label ngircd -proto irc -addr 127.0.0.1:6667" ;;
  inspircd)
    inspircd --nofork --runasroot --config="$PWD/cmd/chatbench/testdata/inspircd.conf" >/dev/null 2>&1 &
    pid=$!; target="-label inspircd -proto irc -addr 127.0.0.1:6668" ;;
  esac
  sleep 1
}
# InspIRCd exits non-zero when stopped: that must not end the script (set -e).
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; fi; pid=; }
bench() { "$out/chatbench" $target -pid "$pid" "$@" 2>"$out/err" || { cat "$out/err" >&2; exit 1; }; }

if [[ " $servers " == *" defaults "* ]]; then
echo "### framechat at its defaults (flood control, 64 KiB slow-consumer bound), with and without stuck members"
"$out/server" -addr 127.0.0.1 -log "" 25601 >/dev/null &
pid=$!; target="-label framechat-defaults -proto cs168 -addr 127.0.0.1:25601"; sleep 1
bench -runs "$runs" -rooms 10 -members 10 -messages 300 fanout
bench -runs "$runs" -rooms 10 -members 11 -messages 300 -rate 10000 -stuck 1 fanout
stop
fi

for server in $servers; do
  [ "$server" = defaults ] && continue
  echo "### $server"
  start $server
  bench -runs "$runs" -rooms 10 -members 10 -messages 1000 fanout
  bench -runs "$runs" -rooms 1 -members 100 -messages 200 fanout
  bench -runs "$runs" -rooms 10 -members 10 -messages 300 -rate 10000 fanout
  bench -runs "$runs" -rooms 1 -members 100 -messages 60 -rate 2000 fanout
  bench -runs "$runs" -workers 16 -duration 5s churn
  stop
  for i in $(seq "$runs"); do # memory is measured on a fresh server each time
    start $server
    # ngircd's listen queue is short: thousands of simultaneous dials time out.
    # InspIRCd 3 completes registrations once a second (its background user
    # tick), so 64 at a time would take 156 s: it gets 1000.
    # Read 3 s after the last connection joined, as the targets say.
    case $server in ngircd) parallel=4 ;; inspircd) parallel=1000 ;; *) parallel=64 ;; esac
    bench -conns 10000 -settle 3s -parallel "$parallel" idle
    stop
  done
done
