#!/usr/bin/env bash
# Encrypted DNS throughput: answers per CPU-second of the server for cached names
# over UDP, DoT and DoH, for altroot and — in the same run, same query file, same
# dnsperf settings — for Unbound's UDP, DoT and DoH listeners (the anchor); and
# altroot's DoQ listener (quic-listen), which neither dnsperf 2.10 (udp, tcp, dot,
# doh) nor Unbound 1.17.1 (no DoQ before 1.22) speaks: it is asked by altroot's
# own DoQ client (bench/upstream_clients.rs `load`), and so is its DoT listener
# in a row beside it, so that DoQ is read against DoT with the same client.
# Appends a Markdown table to bench/results.md.
#
#   bench/encrypted.sh              # 10 s per measurement, about 2 minutes in all
#   SECONDS_PER_RUN=5 bench/encrypted.sh
#
# dnsperf 2.10 speaks all three (-m udp|dot|doh; DoH is HTTP/2 GET of
# /dns-query). A server's CPU time is read from /proc/PID/stat around each run, so
# "answers per CPU-second" is what one core of the server gives, independent of
# how much of the machine dnsperf takes; qps is shown beside it. Every DoT/DoH
# client keeps its connection open (dnsperf -c connections), so this measures
# encrypted answering, not handshakes. Loopback only; every run bounded by -l.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECONDS_PER_RUN:-10}
CLIENTS=${CLIENTS:-4}
P_UDP=5410 P_DOT=5411 P_DOH=5412 P_UP=5413 U_UDP=5414 U_DOT=5415 U_DOH=5416 P_DOQ=5417

need() { command -v "$1" >/dev/null 2>&1; }
if ! need dnsperf || ! need unbound || ! need dig || ! need openssl; then
    echo "installing dnsperf, unbound, dig and openssl (Debian packages)" >&2
    apt-get update -qq && apt-get install -y -qq dnsperf unbound bind9-dnsutils openssl >/dev/null
fi
systemctl stop unbound 2>/dev/null || true

cargo build --release --locked -q --bin altroot --example upstream-clients
T=${CARGO_TARGET_DIR:-target}/release
BIN=$T/altroot
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# --- a CA and a certificate for bench.test and 127.0.0.1 (dnsperf does not verify;
# altroot's client does, and refuses a self-signed CA:TRUE certificate as a leaf)
EC="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
# shellcheck disable=SC2086
openssl req -x509 $EC -days 2 -subj /CN=bench-ca -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null
# shellcheck disable=SC2086
openssl req $EC -subj /CN=bench.test -keyout "$WORK/key.pem" -out "$WORK/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:bench.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$WORK/leaf.ext"
openssl x509 -req -in "$WORK/leaf.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
    -days 2 -extfile "$WORK/leaf.ext" -out "$WORK/cert.pem" 2>/dev/null

# --- the upstream: 1,000 names in "example." -----------------------------------
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
listen = ["127.0.0.1:$P_UP"]
[[root]]
name = "up"
zones = "up-zones"
EOF
"$BIN" -q serve --config "$WORK/up.toml" 2>"$WORK/up.log" & PIDS+=($!)

# --- altroot under test: UDP, DoT and DoH in front of a forward root -------------
cat > "$WORK/alt.toml" <<EOF
[server]
listen = ["127.0.0.1:$P_UDP"]
tls-listen = ["127.0.0.1:$P_DOT"]
https-listen = ["127.0.0.1:$P_DOH"]
quic-listen = ["127.0.0.1:$P_DOQ"]
tls-cert = "cert.pem"
tls-key = "key.pem"
tcp-clients = 150
[[root]]
name = "up"
forward = ["127.0.0.1:$P_UP"]
allow-loopback-upstream = true
EOF
"$BIN" -q serve --config "$WORK/alt.toml" 2>"$WORK/alt.log" & ALT=$!; PIDS+=($ALT)

# --- Unbound with the same upstream and the same certificate --------------------
cat > "$WORK/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$U_UDP
    interface: 127.0.0.1@$U_DOT
    interface: 127.0.0.1@$U_DOH
    tls-port: $U_DOT
    https-port: $U_DOH
    tls-service-key: "$WORK/key.pem"
    tls-service-pem: "$WORK/cert.pem"
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
    incoming-num-tcp: 200
forward-zone:
    name: "example."
    forward-addr: 127.0.0.1@$P_UP
remote-control:
    control-enable: no
EOF
unbound -d -c "$WORK/unbound.conf" 2>"$WORK/unbound.log" & UNB=$!; PIDS+=($UNB)
sleep 1

for i in $(seq 0 999); do echo "h$i.example A"; done > "$WORK/cached.txt"
for p in $P_UDP $U_UDP; do
    a=$(dig +short @127.0.0.1 -p $p h7.example A)
    [ "$a" = "192.0.2.8" ] || { echo "port $p answers wrongly: '$a'" >&2; exit 1; }
done

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # clock ticks, user + system
HZ=$(getconf CLK_TCK)
# DoH: one query in flight per connection, 64 connections. dnsperf 2.10's DoH
# client loses answers when one TLS record carries the responses of several
# streams (as hyper's HTTP/2 sends them under load; curl, dig and browsers read
# them fine), so with several queries per connection it measures its own losses.
doh_args() { if [ "$1" = doh ]; then echo "-c 64 -q 64"; else echo "-c $CLIENTS -q 200"; fi; }
# pid mode port -> "qps answers-per-cpu-second"
perf() {
    local before after out done_
    before=$(cpu "$1")
    # shellcheck disable=SC2046
    out=$(dnsperf -m "$2" -s 127.0.0.1 -p "$3" -d "$WORK/cached.txt" -l "$SECS" \
        $(doh_args "$2") -T 1 2>&1)
    after=$(cpu "$1")
    done_=$(awk '/Queries completed/ {print $3}' <<<"$out")
    awk -v q="$(awk '/Queries per second/ {print $4}' <<<"$out")" -v n="$done_" \
        -v t=$((after - before)) -v hz="$HZ" \
        'BEGIN { printf "%d %d", q, (t > 0 ? n / (t / hz) : 0) }'
}

# Warm both caches over UDP.
perf "$ALT" udp $P_UDP >/dev/null
perf "$UNB" udp $U_UDP >/dev/null

declare -A R
for m in udp:$P_UDP:$U_UDP dot:$P_DOT:$U_DOT doh:$P_DOH:$U_DOH; do
    IFS=: read -r mode pa pu <<<"$m"
    R[alt_$mode]=$(perf "$ALT" "$mode" "$pa")
    R[unb_$mode]=$(perf "$UNB" "$mode" "$pu")
done
# DoT and DoQ by altroot's own client: CLIENTS connections, 200 in flight as
# dnsperf has them (-c CLIENTS -q 200).
rust_load() { # mode port -> "qps answers-per-cpu-second"
    local before after out
    before=$(cpu "$ALT")
    out=$(IN_FLIGHT=200 "$T/examples/upstream-clients" load "$1" "127.0.0.1:$2" "$WORK/ca.pem" \
        bench.test "$SECS" "$WORK/cached.txt" "$CLIENTS")
    after=$(cpu "$ALT")
    read -r n wall <<<"$out"
    awk -v n="$n" -v w="$wall" -v t=$((after - before)) -v hz="$HZ" \
        'BEGIN { printf "%d %d", n / w, (t > 0 ? n / (t / hz) : 0) }'
}
R[alt_rdot]=$(rust_load dot $P_DOT)
R[alt_rdoq]=$(rust_load doq $P_DOQ)
rss=$(awk '/VmHWM/ {print $2, $3}' /proc/$ALT/status)

row() { # mode label
    read -r aq ac <<<"${R[alt_$1]}"; read -r uq uc <<<"${R[unb_$1]}"
    echo "| $2 | $aq | $ac | $uq | $uc | $(awk -v a="$ac" -v b="$uc" 'BEGIN { printf "%.2f", (b ? a / b : 0) }') |"
}
{
    echo
    echo "## Encrypted DNS: altroot vs Unbound $(unbound -V | awk 'NR==1 {print $2}'), $(date -u +%Y-%m-%d)"
    echo
    echo "$(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), shared with dnsperf;"
    echo "cached names (1,000, forwarded once), dnsperf -T 1 -l $SECS per row: -c $CLIENTS -q 200 over"
    echo "UDP and DoT, -c 64 -q 64 over DoH (see the script); the last two rows by altroot's own client"
    echo "(-c $CLIENTS, 200 in flight; Unbound 1.17.1 has no DoQ). Connections stay open: no handshakes timed."
    echo
    echo "| transport | altroot qps | altroot answers/CPU-s | Unbound qps | Unbound answers/CPU-s | altroot / Unbound (per CPU-s) |"
    echo "|---|---|---|---|---|---|"
    row udp "UDP"
    row dot "DoT (RFC 7858)"
    row doh "DoH (RFC 8484, HTTP/2 GET)"
    for m in rdot:"DoT, altroot's client" rdoq:"DoQ (RFC 9250), altroot's client"; do
        read -r aq ac <<<"${R[alt_${m%%:*}]}"
        echo "| ${m#*:} | $aq | $ac | — | — | — |"
    done
    echo
    echo "altroot peak RSS (VmHWM) after the runs: $rss."
} | tee -a bench/results.md
