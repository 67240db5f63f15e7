#!/usr/bin/env bash
# Zone transfer in (issue 16 §3): one altroot primary, one altroot secondary
# (`transfer-from`), both release builds on loopback.
#
#   1. the full ICANN root zone (../shared/data/icann/root.zone, 22 094 records)
#      and the shipped alternate root (zones/), served by the primary, taken by
#      the secondary at start: the secondary's own log line gives each transfer's
#      time (AXFR, written, read back and loaded), and the time from start until
#      the secondary answers from every zone is measured by the client;
#   2. edit → served: geek.zone saved on the primary with a new serial and a new
#      address; the time until the secondary answers with it (the primary's
#      reload, its NOTIFY, the secondary's SOA query, IXFR, write, reload).
#      Repeated EDITS times (default 10), median and range.
#
#   bench/xfrin.sh
#
# Loopback only; every wait bounded. Appends a line to bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."

EDITS=${EDITS:-10}
ROOT_ZONE=${ROOT_ZONE:-../shared/data/icann/root.zone}
BIN=${CARGO_TARGET_DIR:-target}/release/altroot
command -v kdig > /dev/null || { echo "kdig is needed: apt-get install knot-dnsutils" >&2; exit 2; }
[ -f "$ROOT_ZONE" ] || { echo "no root zone at $ROOT_ZONE (ROOT_ZONE=…)" >&2; exit 2; }
cargo build --release --quiet
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
ms() { echo "($2 - $1) * 1000 / 1" | bc; }

# The primary of the alternate root (the shipped zones/).
mkdir -p "$work/primary/alt"
cp zones/*.zone "$work/primary/alt/"
pport=$(free_port)
sport=$(free_port)
cat > "$work/primary/altroot.toml" <<EOF
[server]
listen = ["127.0.0.1:$pport"]
[[root]]
name = "alt"
zones = "alt"
[transfer]
allow = ["127.0.0.1/32"]
secondaries = ["127.0.0.1:$sport"]
EOF
"$BIN" serve --config "$work/primary/altroot.toml" > "$work/primary.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do
    kdig +short +retry=0 +timeout=1 @127.0.0.1 -p "$pport" geek. SOA 2>/dev/null | grep -q . && break
    sleep 0.1
done

# The primary of the full root (a transfer out serves the "." of the first
# zones root that has one, so each root has its own primary).
iport=$(free_port)
mkdir -p "$work/iprimary/zones"
cp "$ROOT_ZONE" "$work/iprimary/zones/root.zone"
cat > "$work/iprimary/altroot.toml" <<EOF
[server]
listen = ["127.0.0.1:$iport"]
[[root]]
name = "icann"
zones = "zones"
[transfer]
allow = ["127.0.0.1/32"]
EOF
"$BIN" serve --config "$work/iprimary/altroot.toml" > "$work/iprimary.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do
    kdig +short +retry=0 +timeout=1 @127.0.0.1 -p "$iport" . SOA 2>/dev/null | grep -q . && break
    sleep 0.1
done

# The secondary: the alternate root by transfer (its zones listed: an altroot
# folder serves its TLDs without delegating them in root.zone, so there is
# nothing to discover) and the full root, each from its primary.
cat > "$work/secondary.toml" <<EOF
[server]
listen = ["127.0.0.1:$sport"]
[[root]]
name = "alt"
zones = "$work/secondary/alt"
transfer-from = ["127.0.0.1:$pport"]
transfer-zones = [$(for f in zones/*.zone; do z=$(basename "$f" .zone); [ "$z" = root ] && z=.; printf '"%s", ' "$z"; done)]
allow-loopback-upstream = true
[[root]]
name = "icann"
zones = "$work/secondary/icann"
transfer-from = ["127.0.0.1:$iport"]
transfer-zones = ["."]
EOF
t0=$(now)
"$BIN" serve --config "$work/secondary.toml" > "$work/secondary.log" 2>&1 &
pids+=($!)
ready=
for _ in $(seq 1200); do
    if kdig +short +retry=0 +timeout=1 @127.0.0.1 -p "$sport" www.geek. A 2>/dev/null | grep -q . \
        && kdig +short +retry=0 +timeout=1 @127.0.0.1 -p "$sport" com. DS 2>/dev/null | grep -q .; then
        ready=$(now); break
    fi
    sleep 0.02
done
[ -n "$ready" ] || { echo "the secondary never answered from its zones:"; grep -v "warning:" "$work/secondary.log" | tail -30; exit 1; }
start_ms=$(ms "$t0" "$ready")
full=$(grep "root icann: zone . serial" "$work/secondary.log" | sed -n 's/.*(\(AXFR, [0-9]* records, [0-9]* ms\)).*/\1/p' | head -1)
alt=$(grep "root alt: zone" "$work/secondary.log" | sed -n 's/.*zone \([^ ]*\) serial.*(\(AXFR, [0-9]* records, [0-9]* ms\)).*/\1 \2/p' | tr '\n' ';')
rss=$(ps -o rss= -p "${pids[2]}" | tr -d ' ')
echo "start → answering from every zone: $start_ms ms (includes process start)"
echo "full root: $full"
echo "alternate root: $alt"
echo "secondary RSS: $((rss / 1024)) MiB"

# Edits on the primary, each served by the secondary.
geek="$work/primary/alt/geek.zone"
times=()
for i in $(seq "$EDITS"); do
    ip="192.0.2.$((100 + i))"
    # The SOA serial (the first 10-digit number on the SOA line) goes up by one.
    python3 - "$geek" "$ip" <<'PY'
import re, sys
path, ip = sys.argv[1], sys.argv[2]
lines = open(path).read().splitlines(keepends=True)
for i, l in enumerate(lines):
    if " SOA " in l:
        lines[i] = re.sub(r"\b(\d{10})\b", lambda m: str(int(m.group(1)) + 1), l, count=1)
        break
lines = [l for l in lines if not l.startswith("bench-edit ")]
lines.append(f"bench-edit IN A {ip}\n")
open(path + ".tmp", "w").write("".join(lines))
PY
    t0=$(now)
    mv "$geek.tmp" "$geek"
    ok=
    for _ in $(seq 500); do
        if kdig +short +retry=0 +timeout=1 @127.0.0.1 -p "$sport" bench-edit.geek. A 2>/dev/null | grep -qx "$ip"; then
            ok=$(now); break
        fi
        sleep 0.005
    done
    [ -n "$ok" ] || { echo "edit $i never served"; tail -20 "$work/secondary.log"; exit 1; }
    times+=("$(ms "$t0" "$ok")")
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(echo "$sorted" | sed -n "$(( (EDITS + 1) / 2 ))p")
lo=$(echo "$sorted" | head -1)
hi=$(echo "$sorted" | tail -1)
ixfr=$(grep -c "IXFR" "$work/secondary.log" || true)
echo "edit on the primary → served by the secondary: median $median ms (range $lo–$hi ms, $EDITS edits, $ixfr by IXFR)"

line="- $(date +%F) xfrin.sh: secondary start → answering from every zone $start_ms ms; full root ($(grep -c . "$ROOT_ZONE") lines): $full; alternate root: $alt secondary RSS $((rss / 1024)) MiB; edit on the primary → served by the secondary: median $median ms (range $lo–$hi, $EDITS edits, $ixfr IXFR), release builds over loopback, 2 cores"
echo "$line" >> bench/results.md
echo "$line"
