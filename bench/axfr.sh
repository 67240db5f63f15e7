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
awk -v n="$RECORDS" 'BEGIN {
    print "$TTL 3600"
    print "@ SOA ns.big. hostmaster.big. 1 3600 600 86400 300"
    print "@ NS ns.big."
    print "ns A 192.0.2.53"
    i = 0; made = 2
    while (made < n) {
        k = i % 20
        if (k < 4)       { printf "d%d NS ns1.host%d.net.\nd%d NS ns2.host%d.net.\n", i, i % 977, i, i % 977; made += 2 }
        else if (k < 6)  { printf "g%d NS ns.g%d\nns.g%d A 10.%d.%d.%d\n", i, i, i, (i/65536)%256, (i/256)%256, i%256; made += 2 }
        else if (k < 10) { printf "h%d A 10.%d.%d.%d\n", i, (i/65536)%256, (i/256)%256, i%256; made += 1 }
        else if (k < 12) { printf "h%d AAAA 2001:db8::%x:%x\n", i, int(i/65536), i%65536; made += 1 }
        else if (k < 13) { printf "m%d MX 10 mail.m%d.example.\n", i, i; made += 1 }
        else if (k < 14) { printf "t%d TXT \"v=spf1 ip4:192.0.2.%d -all\"\n", i, i%256; made += 1 }
        else             { printf "h%d A 10.%d.%d.%d\n", i, (i/65536)%256, (i/256)%256, i%256; made += 1 }
        i++
    }
}' > "$work/zones/big.zone"
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
    kdig +short +tries=1 +timeout=1 @127.0.0.1 -p "$port" big. SOA 2>/dev/null | grep -q hostmaster && break
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
