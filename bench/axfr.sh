#!/usr/bin/env bash
# Zone transfer out (issue 16 §2): how long an AXFR takes, measured by the client
# (kdig, from the query to the closing SOA), of every zone of the shipped
# alternate root (zones/) and of a generated zone (bench/zone-load.sh's mix).
#
#   bench/axfr.sh                 # 1,000,000 records
#   RECORDS=200000 bench/axfr.sh
#
# Release build; loopback only; every wait bounded. Appends a line to
# bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${RECORDS:-1000000}
BIN=${CARGO_TARGET_DIR:-target}/release/altroot
command -v kdig > /dev/null || { echo "kdig is needed: apt-get install knot-dnsutils" >&2; exit 2; }
cargo build --release --quiet
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

mkdir -p "$work/zones"
cp zones/*.zone "$work/zones/"
bench/big-zone.sh "$RECORDS" > "$work/zones/big.zone"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/altroot.toml" <<EOF
[server]
listen = ["127.0.0.1:$port"]
[[root]]
name = "alt"
zones = "zones"
[transfer]
allow = ["127.0.0.1/32"]
EOF
"$BIN" serve --config "$work/altroot.toml" > "$work/log" 2>&1 &
pid=$!
for _ in $(seq 600); do
    kdig +short +retry=0 +timeout=1 @127.0.0.1 -p "$port" big. SOA 2>/dev/null | grep -q hostmaster && break
    sleep 0.1
done

# Seconds and records of one AXFR, as kdig reports them.
axfr() {
    local t0 t1 out
    t0=$(date +%s.%N)
    out=$(kdig +tcp +timeout=120 @127.0.0.1 -p "$port" "$1" AXFR | tail -4)
    t1=$(date +%s.%N)
    printf '%s %s\n' "$(echo "$t1 - $t0" | bc)" "$(echo "$out" | sed -n 's/.*(\([0-9]* messages, [0-9]* records\)).*/\1/p')"
}

alt_total=0
alt_desc=""
for f in zones/*.zone; do
    z=$(basename "$f" .zone); [ "$z" = root ] && z=.
    [ "$z" = . ] || z="$z."
    read -r s what < <(axfr "$z")
    alt_total=$(echo "$alt_total + $s" | bc)
    alt_desc="$alt_desc $z ($what)"
done
read -r big_s big_what < <(axfr big.)
line=$(printf -- '- %s axfr.sh: the alternate root (zones/, every zone, one AXFR each): %.3f s in all:%s; %d-record zone: %.2f s (%s), kdig over loopback, %s cores' \
    "$(date -u +%F)" "$alt_total" "$alt_desc" "$RECORDS" "$big_s" "$big_what" "$(nproc)")
echo "$line"
echo "$line" >> bench/results.md
