#!/usr/bin/env bash
# The zone store: load time and memory per record of a large zone (issue 8:
# ≤ 200 bytes per record, 1,000,000 records in ≤ 2 s).
#
#   bench/zone-load.sh            # 1,000,000 records
#   RECORDS=200000 bench/zone-load.sh
#
# Writes a TLD-like zone, a mix of what large zones hold: delegations with
# out-of-zone name servers (40 %), delegations with in-zone glue (20 %),
# addresses (A 20 %, AAAA 10 %), MX and TXT (5 % each). Then:
#   - `altroot check` on it: wall time and peak RSS (parse + build + checks);
#   - `altroot serve` on it: time from start to the first answer from the zone,
#     and the resident memory once loaded, minus that of the same server with a
#     one-record zone; divided by the records: bytes per record;
#   - the same with the zone's own count of store bytes (its log line).
# Appends a line to bench/results.md. Loopback only; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${RECORDS:-1000000}
BIN=target/release/altroot
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
pids=()

gen() { # $1 = folder, $2 = records
    mkdir -p "$1"
    bench/big-zone.sh "$2" > "$1/big.zone"
}

conf() { # $1 = dir, $2 = port
    cat > "$1/altroot.toml" <<EOF
[server]
listen = ["127.0.0.1:$2"]
[[root]]
name = "alt"
zones = "zones"
EOF
}

port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Serves $1, waits (at most 60 s) for an answer from the zone; prints
# "seconds-to-first-answer rss-kB store-bytes".
serve() {
    local dir=$1 p
    p=$(port)
    conf "$dir" "$p"
    local t0 t1
    t0=$(date +%s.%N)
    "$BIN" serve --config "$dir/altroot.toml" > "$dir/log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 600); do
        if dig +tries=1 +time=1 -p "$p" @127.0.0.1 ns.big A 2>/dev/null | grep -q "status: NOERROR"; then
            break
        fi
        sleep 0.1
    done
    t1=$(date +%s.%N)
    sleep 1
    local rss store
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    store=$(grep -o 'store_bytes=[0-9]*' "$dir/log" | head -1 | cut -d= -f2)
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    echo "$(echo "$t1 - $t0" | bc) $rss ${store:-0}"
}

command -v dig >/dev/null || { echo "needs dig (bind9-dnsutils)"; exit 1; }

echo "writing a $RECORDS-record zone"
gen "$work/big/zones" "$RECORDS"
gen "$work/small/zones" 3
conf "$work/big" 1
records=$(grep -vc '^\$' "$work/big/zones/big.zone")

read -r check_s check_kb < <(/usr/bin/time -f "%e %M" "$BIN" check --config "$work/big/altroot.toml" 2>&1 >/dev/null | tail -1)
read -r base_s base_kb _ < <(serve "$work/small")
read -r load_s big_kb store < <(serve "$work/big")

per_record=$(( (big_kb - base_kb) * 1024 / records ))
store_per=$(( store / records ))
printf 'records %d | check %.2f s, peak %d MiB | serve: first answer after %.2f s, RSS %d MiB (+%d MiB) | %d B/record resident, %d B/record in the store\n' \
    "$records" "$check_s" $((check_kb / 1024)) "$load_s" $((big_kb / 1024)) $(((big_kb - base_kb) / 1024)) "$per_record" "$store_per"
{
    echo
    echo "### zone-load $(date -u +%Y-%m-%d) $(nproc) cores, $(uname -m)"
    printf -- '- %d records: check %.2f s (peak %d MiB); serve answers after %.2f s; %d B/record resident (RSS over a one-record zone), %d B/record in the store\n' \
        "$records" "$check_s" $((check_kb / 1024)) "$load_s" "$per_record" "$store_per"
} >> bench/results.md
