#!/usr/bin/env bash
# Throughput of altroot against Unbound on the same machine, in the same run, with
# dnsperf on loopback. Prints a Markdown table (also written to bench/results.md).
#
#   bench/run.sh            # 10 s per measurement
#   SECONDS_PER_RUN=20 bench/run.sh
#
# What is measured (same query files and dnsperf settings for both resolvers):
#   local   answers from in-process zones (altroot) / local-data (Unbound)
#   cached  answers from the cache, learned from an upstream both forward to
# The upstream is a second altroot serving a generated 1,000-name zone; after a
# warm-up every answer in the "cached" run comes from the resolver's cache.
# Everything listens on 127.0.0.1 only; every run is bounded by -l.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECONDS_PER_RUN:-10}
PORT_ALT=5400 PORT_UNBOUND=5401 PORT_UP=5402
CLIENTS=${CLIENTS:-4}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need dnsperf || ! need unbound || ! need dig; then
    echo "installing dnsperf, unbound and dig (Debian packages)" >&2
    apt-get update -qq && apt-get install -y -qq dnsperf unbound bind9-dnsutils >/dev/null
fi
# The packaged unbound service is not wanted; only our own instance on loopback.
systemctl stop unbound 2>/dev/null || true

cargo build --release --locked -q
BIN=target/release/altroot
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# --- the upstream: 1,000 names in "example." ---------------------------------
mkdir -p "$WORK/up-zones"
{
    echo '$TTL 86400'
    echo '@ SOA ns.example. h.example. 1 3600 600 86400 3600'
    echo '@ NS ns.example.'
    echo 'ns A 127.0.0.1'
    for i in $(seq 0 999); do echo "h$i A 192.0.2.$((i % 250 + 1))"; done
} > "$WORK/up-zones/example.zone"
cat > "$WORK/up.toml" <<EOF
[server]
listen = ["127.0.0.1:$PORT_UP"]
[[root]]
name = "up"
zones = "up-zones"
EOF
"$BIN" -q serve --config "$WORK/up.toml" 2>"$WORK/up.log" & PIDS+=($!)

# --- altroot under test: the shipped zones + a forward root to the upstream ----
cat > "$WORK/alt.toml" <<EOF
[server]
listen = ["127.0.0.1:$PORT_ALT"]
[[root]]
name = "alt"
zones = "$PWD/zones"
[[root]]
name = "up"
forward = ["127.0.0.1:$PORT_UP"]
allow-loopback-upstream = true
EOF
"$BIN" -q serve --config "$WORK/alt.toml" 2>"$WORK/alt.log" & ALT_PID=$!; PIDS+=($ALT_PID)

# --- Unbound with the same data ------------------------------------------------
cat > "$WORK/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$PORT_UNBOUND
    num-threads: $(nproc)
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    username: ""
    chroot: ""
    directory: "$WORK"
    pidfile: "$WORK/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    module-config: "iterator"
    msg-cache-size: 64m
    rrset-cache-size: 128m
    local-zone: "geek." static
    local-data: "geek. 3600 IN SOA a.root-servers.alt. hostmaster.root-servers.alt. 2026112701 7200 900 1209600 300"
    local-data: "www.geek. 3600 IN A 192.0.2.1"
    local-data: "www.geek. 3600 IN AAAA 2001:db8::1"
    local-data: "mail.geek. 3600 IN A 192.0.2.2"
    local-data: "wiki.geek. 3600 IN CNAME www.geek."
    local-zone: "libre." static
    local-data: "libre. 3600 IN SOA a.root-servers.alt. hostmaster.root-servers.alt. 2026112701 7200 900 1209600 300"
    local-data: "www.libre. 3600 IN AAAA 2001:db8:1::7"
forward-zone:
    name: "example."
    forward-addr: 127.0.0.1@$PORT_UP
EOF
unbound -d -c "$WORK/unbound.conf" 2>"$WORK/unbound.log" & PIDS+=($!)
sleep 1

# --- query files ---------------------------------------------------------------
printf '%s\n' "www.geek A" "mail.geek A" "www.geek AAAA" "www.libre AAAA" "wiki.geek A" "nope.geek A" \
    > "$WORK/local.txt"
for i in $(seq 0 999); do echo "h$i.example A"; done > "$WORK/cached.txt"

perf() { # port file seconds -> qps
    dnsperf -s 127.0.0.1 -p "$1" -d "$2" -l "$3" -c "$CLIENTS" -T 1 -q 200 2>&1 \
        | awk '/Queries per second/ {printf "%d", $4}'
}
lost() {
    dnsperf -s 127.0.0.1 -p "$1" -d "$2" -l 2 -c "$CLIENTS" -T 1 -q 200 2>&1 | awk '/Queries lost/ {print $3}'
}

# Sanity: both give the same answer before anything is timed.
for p in $PORT_ALT $PORT_UNBOUND; do
    a=$(dig +short @127.0.0.1 -p $p www.geek A); b=$(dig +short @127.0.0.1 -p $p h7.example A)
    [ "$a" = "192.0.2.1" ] && [ "$b" = "192.0.2.8" ] || { echo "port $p answers wrongly: '$a' '$b'" >&2; exit 1; }
done

# Warm both caches.
perf $PORT_ALT "$WORK/cached.txt" 2 >/dev/null
perf $PORT_UNBOUND "$WORK/cached.txt" 2 >/dev/null

alt_local=$(perf $PORT_ALT "$WORK/local.txt" "$SECS")
unb_local=$(perf $PORT_UNBOUND "$WORK/local.txt" "$SECS")
alt_cached=$(perf $PORT_ALT "$WORK/cached.txt" "$SECS")
unb_cached=$(perf $PORT_UNBOUND "$WORK/cached.txt" "$SECS")
rss=$(awk '/VmHWM/ {print $2, $3}' /proc/$ALT_PID/status)

# The cost of the per-query info log line (stderr to a file).
kill "$ALT_PID"; wait "$ALT_PID" 2>/dev/null || true
"$BIN" serve --config "$WORK/alt.toml" 2>"$WORK/alt-info.log" & ALT_PID=$!; PIDS+=($ALT_PID)
sleep 1
alt_local_log=$(perf $PORT_ALT "$WORK/local.txt" "$SECS")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
    echo "## altroot vs Unbound $(unbound -V | awk 'NR==1 {print $2}'), $(date -u +%Y-%m-%d)"
    echo
    echo "$(nproc) cores, dnsperf -c $CLIENTS -T 1 -q 200 -l $SECS on the same machine (it competes for the cores)."
    echo
    echo "| answers | altroot qps | Unbound qps | altroot / Unbound |"
    echo "|---|---|---|---|"
    echo "| local zone | $alt_local | $unb_local | $(ratio "$alt_local" "$unb_local") |"
    echo "| cached (forwarded once) | $alt_cached | $unb_cached | $(ratio "$alt_cached" "$unb_cached") |"
    echo "| local zone, altroot logging every query at info | $alt_local_log | $unb_local | $(ratio "$alt_local_log" "$unb_local") |"
    echo
    echo "altroot peak RSS (VmHWM) after the runs above: $rss."
} | tee bench/results.md
