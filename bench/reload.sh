#!/usr/bin/env bash
# Live-reload figures (issue "Editing zone files"), on loopback only:
#   1. edit → served latency over 50 edits of a small zone (median, max);
#   2. time and peak memory to load, and to reload and swap, a generated
#      1,000,000-record zone;
#   3. query latency (p50/p99/max) of a local name while that reload happens,
#      against the same without a reload (dnsperf -v, rate-limited).
# Needs dnsperf (installed from Debian if missing) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=5410
RECORDS=${RECORDS:-1000000}
need() { command -v "$1" >/dev/null 2>&1; }
if ! need dnsperf || ! need dig; then apt-get update -qq && apt-get install -y -qq dnsperf bind9-dnsutils >/dev/null; fi
cargo build --release --locked -q
BIN=$PWD/target/release/altroot
WORK=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

mkdir -p "$WORK/zones"
cat > "$WORK/zones/geek.zone" <<'EOF'
$TTL 300
@ 300 SOA ns.geek. h.geek. 1 3600 600 86400 60
@ NS ns.geek.
ns A 127.0.0.1
www A 192.0.2.0
EOF
python3 - "$WORK/zones/big.zone" "$RECORDS" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("$TTL 3600\n@ 300 SOA ns.big. h.big. 1 3600 600 86400 300\n@ NS ns.big.\nns A 127.0.0.1\n")
    for i in range(n - 3):
        f.write(f"h{i} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n")
EOF
cat > "$WORK/altroot.toml" <<EOF
[server]
listen = ["127.0.0.1:$PORT"]
[[root]]
name = "alt"
zones = "zones"
EOF
echo "zone file: $(wc -l < "$WORK/zones/big.zone") lines, $(du -h "$WORK/zones/big.zone" | cut -f1)" >&2

export RUST_LOG="warn,altroot::commands=info,altroot::service=info"
t0=$(date +%s.%N)
"$BIN" serve --config "$WORK/altroot.toml" 2>"$WORK/log" & PID=$!
until grep -q "altroot ready" "$WORK/log"; do sleep 0.05; done
t1=$(date +%s.%N)
load_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
rss_load=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)

# 1. edit → served, 50 edits written in place.
python3 - "$WORK/zones/geek.zone" "$PORT" > "$WORK/edits.txt" <<'EOF'
import socket, struct, sys, time, random
path, port = sys.argv[1], int(sys.argv[2])
def ask():
    q = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
    q += b"\x03www\x04geek\x00" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
    s.sendto(q, ("127.0.0.1", port)); r = s.recv(512); s.close()
    return r[-4:]
for n in range(1, 51):
    text = open(path).read().rsplit("www", 1)[0] + f"www A 192.0.2.{n}\n"
    start = time.monotonic()
    with open(path, "w") as f:
        f.write(text)
    want = bytes([192, 0, 2, n])
    while ask() != want:
        if time.monotonic() - start > 10: raise SystemExit(f"edit {n} never served")
        time.sleep(0.002)
    print(f"{(time.monotonic() - start) * 1000:.1f}")
    time.sleep(0.1)
EOF
read -r med max <<<"$(sort -n "$WORK/edits.txt" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[NR]}')"

# 3a. baseline latency, no reload.
printf 'www.geek A\nh4242.big A\n' > "$WORK/q.txt"
lat() { awk '/^> / {print $NF * 1000}' | sort -n | awk '{a[NR]=$1} END {printf "%.3f %.3f %.3f %d", a[int(NR*0.5)], a[int(NR*0.99)], a[NR], NR}'; }
read -r b50 b99 bmax bn <<<"$(dnsperf -s 127.0.0.1 -p $PORT -d "$WORK/q.txt" -l 10 -Q 5000 -v 2>/dev/null | lat)"

# 2 + 3b. change the big zone while dnsperf runs; time the reload from the log.
dnsperf -s 127.0.0.1 -p $PORT -d "$WORK/q.txt" -l 20 -Q 5000 -v > "$WORK/during.txt" 2>/dev/null &
DP=$!
sleep 3
before=$(grep -c "zones reloaded" "$WORK/log" || true)
t2=$(date +%s.%N)
echo "extra A 192.0.2.99" >> "$WORK/zones/big.zone"
until [ "$(grep -c "zones reloaded" "$WORK/log")" -gt "$before" ]; do sleep 0.05; done
t3=$(date +%s.%N)
wait $DP
reload_s=$(awk -v a="$t2" -v b="$t3" 'BEGIN { printf "%.2f", b - a }')
rss_peak=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
read -r d50 d99 dmax dn <<<"$(lat < "$WORK/during.txt")"
served=$(dig +short @127.0.0.1 -p $PORT extra.big A)

{
    echo "## Live reload, $(date -u +%Y-%m-%d), $(nproc) cores"
    echo
    echo "| what | figure |"
    echo "|---|---|"
    echo "| edit → served, 50 in-place edits of a small zone | median $med ms, max $max ms |"
    echo "| start-up with a $RECORDS-record zone (load + check) | $load_s s, peak RSS $((rss_load / 1024)) MiB |"
    echo "| edit of that zone → reloaded and swapped | $reload_s s (new record served: $served) |"
    echo "| peak RSS across the reload (old and new zone both held) | $((rss_peak / 1024)) MiB |"
    echo "| local-name latency, no reload (dnsperf -Q 5000, $bn queries) | p50 $b50 ms, p99 $b99 ms, max $bmax ms |"
    echo "| the same while the 1M-record zone reloads ($dn queries) | p50 $d50 ms, p99 $d99 ms, max $dmax ms |"
} | tee bench/reload-results.md
