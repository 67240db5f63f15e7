#!/usr/bin/env bash
# Offline vs online signing (issue 15 §3b): what signing a 1,000,000-record zone
# costs when the zone set is built, and what one signature costs (the price per
# answer of signing online, as PowerDNS does, before any signature cache).
#
#   bench/sign.sh                 # 1,000,000 records
#   RECORDS=200000 bench/sign.sh
#
# The zone is bench/zone-load.sh's TLD-like zone (40 % delegations to outside
# name servers, 20 % delegations with glue, addresses, MX, TXT). `altroot check`
# loads it (read, build, checks, and with keys/ the signing) three times:
# unsigned, with an ECDSA P-256 key set, with an Ed25519 key set; wall time
# and peak RSS each (GNU time). Then bench/sign_one.rs times one signature per
# algorithm on one core. Appends the figures to bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${RECORDS:-1000000}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --bin altroot --example sign-one
BIN=$TARGET/release/altroot
ONE=$TARGET/release/examples/sign-one
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/zones"
bench/big-zone.sh "$RECORDS" > "$work/zones/big.zone"
printf '[[root]]\nname = "alt"\nzones = "zones"\n' > "$work/altroot.toml"

# Prints "seconds peak-RSS-MB" of `altroot check` on the folder.
measure() {
    /usr/bin/time -f "%e %M" -o "$work/time" "$BIN" check --config "$work/altroot.toml" \
        > "$work/check.out" 2>&1 || { cat "$work/check.out"; exit 1; }
    awk '{ printf "%s %.0f", $1, $2 / 1024 }' "$work/time"
}

cores=$(nproc)
unsigned=$(measure)
"$BIN" keygen --root alt --config "$work/altroot.toml" > /dev/null
ecdsa=$(measure)
"$BIN" keygen --root alt --algorithm ed25519 --force --config "$work/altroot.toml" > /dev/null
ed=$(measure)
one=$("$ONE" 20000)

line="$(date -u +%F) sign.sh: $RECORDS records, $cores cores; check unsigned ${unsigned% *} s ${unsigned#* } MB; signed ECDSAP256 ${ecdsa% *} s ${ecdsa#* } MB; signed Ed25519 ${ed% *} s ${ed#* } MB; one RRSIG: $(echo "$one" | tr '\n' ';')"
echo "$line"
echo "- $line" >> bench/results.md
