#!/usr/bin/env bash
# Validation's cost (issue 19 part 4): the validator's signature checks per
# CPU-second on one thread beside ring's raw verify of the same signature over the
# same signed data, per algorithm, for an A RRset of 1 and of 8 records
# (bench/verify.rs says what each column times). The RSA key (2048 bits) is made
# here with openssl, since ring cannot make RSA keys; the others in-process.
# Appends a Markdown table, with the machine's load average, to bench/results.md.
#
#   bench/verify.sh                     # 3 rounds of 1 s of CPU per figure, about 75 s
#   SECONDS_PER_ROUND=2 bench/verify.sh
#
# No network; one process, bounded by its CPU time.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECONDS_PER_ROUND:-1}
command -v openssl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; }

cargo build --release --locked -q --example verify
T=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# PKCS#8 DER, as ring reads it (genpkey alone writes PKCS#1 in DER).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null \
    | openssl pkcs8 -topk8 -nocrypt -outform DER -out "$WORK/rsa.der"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
table=$("$T/examples/verify" --seconds "$SECS" --rsa-key "$WORK/rsa.der")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')

{
    echo
    echo "## $(date -u +%F): validation's cost (bench/verify.sh)"
    echo
    echo "$(nproc) cores ($cpu); one thread; each figure the median of 3 interleaved rounds of $SECS s of its CPU; load average $load_before before, $load_after after."
    echo "(a) altroot's dnssec::verify_rrset, (h) hickory's DNSKEY::verify_rrsig, (b) ring's verify over the built signed data."
    echo
    echo "$table"
} | tee -a bench/results.md
