#!/usr/bin/env bash
# Encrypted upstream clients, altroot's own against hickory-net 0.26's: the same
# upstream (an altroot with DoT, DoH and DoQ listeners, a wildcard zone so that
# every question is new), the same names, 64 questions in flight over one
# connection per client, SECONDS_PER_RUN seconds each, in halves (ours, hickory's,
# hickory's, ours) so that a load from elsewhere on the machine weighs on both.
# The figure to read is answers per CPU-second of the client process
# (bench/upstream_clients.rs); the upstream runs in its own process. Each half
# also prints (stderr) the loopback packets per answer. Appends a Markdown table
# to bench/results.md.
#
#   bench/upstream-clients.sh            # 10 s per measurement, about a minute
#   SECONDS_PER_RUN=5 bench/upstream-clients.sh
#   IN_FLIGHT=4 ONLY=DoH bench/upstream-clients.sh   # fewer in flight; one row
#
# Loopback only; every run bounded by its time.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECONDS_PER_RUN:-10}
P_UDP=5420 P_DOT=5421 P_DOH=5422 P_DOQ=5423

command -v openssl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; }

cargo build --release --locked -q --bin altroot --example upstream-clients
T=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# A CA and a leaf for bench.test (the clients verify: a self-signed CA:TRUE
# certificate is refused as an end entity).
EC="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
# shellcheck disable=SC2086
openssl req -x509 $EC -days 2 -subj /CN=bench-ca -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null
# shellcheck disable=SC2086
openssl req $EC -subj /CN=bench.test -keyout "$WORK/key.pem" -out "$WORK/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:bench.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$WORK/leaf.ext"
openssl x509 -req -in "$WORK/leaf.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
    -days 2 -extfile "$WORK/leaf.ext" -out "$WORK/cert.pem" 2>/dev/null

mkdir -p "$WORK/zones"
{
    echo '$TTL 0'
    echo '@ SOA ns.example. h.example. 1 3600 600 86400 0'
    echo '@ NS ns.example.'
    echo 'ns A 127.0.0.1'
    echo '*.cold A 198.51.100.7'
} > "$WORK/zones/example.zone"
cat > "$WORK/up.toml" <<EOT
[server]
listen = ["127.0.0.1:$P_UDP"]
tls-listen = ["127.0.0.1:$P_DOT"]
https-listen = ["127.0.0.1:$P_DOH"]
quic-listen = ["127.0.0.1:$P_DOQ"]
tls-cert = "cert.pem"
tls-key = "key.pem"
[limits]
max-per-client = 1000
[[root]]
name = "up"
zones = "zones"
EOT
"$T/altroot" -q serve --config "$WORK/up.toml" 2>"$WORK/up.log" & PIDS+=($!)
sleep 1 # (-q keeps the log quiet, "altroot ready" included; the client's warm-up question waits)

{
    echo
    echo "## Encrypted upstream clients: altroot's vs hickory-net 0.26.3's, $(date -u +%Y-%m-%d)"
    echo
    echo "$(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), shared with the"
    echo "upstream (altroot, DoT/DoH/DoQ listeners, a wildcard: every name new); ${IN_FLIGHT:-64} questions in flight,"
    echo "one connection per client, $SECS s per cell."
    echo
    "$T/examples/upstream-clients" "127.0.0.1:$P_DOT" "127.0.0.1:$P_DOH" "127.0.0.1:$P_DOQ" \
        "$WORK/ca.pem" bench.test "$SECS"
} | tee -a bench/results.md
