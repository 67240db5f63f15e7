#!/usr/bin/env bash
# Throughput of `altroot compare` on 10,000 names against a loopback world.
#
# The world: two altroot instances on 127.0.0.1 acting as recursive upstreams, each
# serving its own copy of zones generated from the first 10,000 names of the Tranco
# list (shared/data/toplists, or any "rank,domain" CSV given as $1). The second copy
# drops 10 % of the names and changes the address of another 10 %, so the run has
# every verdict. `compare` is configured with one forward root per upstream and
# reads the CSV with -f, as a user would. Prints names per second and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."

LIST=${1:-../shared/data/toplists/tranco_top_50k.csv}
N=${N:-10000}
cargo build --release --locked -q
BIN=$PWD/target/release/altroot
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

head -n "$N" "$LIST" > "$WORK/names.csv"
python3 - "$WORK" <<'EOF'
import os, sys, collections
work = sys.argv[1]
names = [l.strip().split(",")[-1].lower().rstrip(".") for l in open(f"{work}/names.csv") if l.strip()]
for side in ("one", "two"):
    zones = collections.defaultdict(list)
    for i, n in enumerate(names):
        if side == "two" and i % 10 == 3:
            continue                      # only in "one"
        last = 99 if side == "two" and i % 10 == 7 else i % 250 + 1   # differs
        tld = n.rsplit(".", 1)[-1]
        zones[tld].append(f"{n}. A 198.51.{(i >> 8) % 100}.{last}")
    os.makedirs(f"{work}/{side}", exist_ok=True)
    if side == "one":
        # A forward root before another must list the TLDs it takes.
        with open(f"{work}/tlds.toml", "w") as f:
            f.write("tlds = [" + ", ".join(f'"{t}"' for t in sorted(zones)) + "]\n")
    for tld, recs in zones.items():
        with open(f"{work}/{side}/{tld}.zone", "w") as f:
            f.write(f"$TTL 3600\n@ 300 SOA ns.{tld}. h.{tld}. 1 3600 600 86400 300\n@ NS ns.{tld}.\nns.{tld}. A 127.0.0.1\n")
            seen = set()
            for r in recs:
                if r.split()[0] not in seen:   # one A per owner (Tranco has duplicates after lowercasing)
                    seen.add(r.split()[0]); f.write(r + "\n")
EOF
port=5420
for side in one two; do
    port=$((port + 1))
    printf '[server]\nlisten = ["127.0.0.1:%s"]\n[[root]]\nname = "%s"\nzones = "%s"\n' "$port" "$side" "$side" > "$WORK/$side.toml"
    "$BIN" -q serve --config "$WORK/$side.toml" 2>"$WORK/$side.log" & PIDS+=($!)
done
cat > "$WORK/compare.toml" <<EOF
[[root]]
name = "one"
forward = ["127.0.0.1:5421"]
allow-loopback-upstream = true
$(cat "$WORK/tlds.toml")
[[root]]
name = "two"
forward = ["127.0.0.1:5422"]
allow-loopback-upstream = true
EOF
sleep 1

start=$(date +%s.%N)
set +e
/usr/bin/time -v "$BIN" compare --config "$WORK/compare.toml" -f "$WORK/names.csv" > "$WORK/out.txt" 2> "$WORK/time.txt"
code=$?
set -e
end=$(date +%s.%N)
rows=$(($(wc -l < "$WORK/out.txt") - 2))
if [ "$rows" -le 0 ]; then
    echo "compare produced no rows (exit status $code):" >&2
    cat "$WORK/time.txt" >&2
    exit 1
fi
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
rate=$(awk -v n="$rows" -v s="$secs" 'BEGIN { printf "%d", n / s }')
rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/time.txt")
{
    echo "## altroot compare, $(date -u +%Y-%m-%d), $(nproc) cores"
    echo
    echo "$rows names × 2 roots (forward roots to two loopback upstreams), -j 64 (default):"
    echo "$secs s, **$rate names/s**, peak RSS $((rss / 1024)) MiB, exit status $code."
    echo
    echo '```'
    tail -1 "$WORK/out.txt"
    echo '```'
} | tee bench/compare-results.md
