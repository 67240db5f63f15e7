#!/usr/bin/env bash
# The flood of concurrency::flood_… measured (issue 14 moved its time and memory
# thresholds here from the test, which keeps the behaviour): 10,000 uncached
# names under a silent server from one address, another client's local and cached
# latencies meanwhile, the silent server's questions, RSS before and after.
# Loopback only; Python 3 (stdlib) plays the hierarchy. Writes
# bench/flood-results.md.
#
#   bench/flood.sh                              # release build
#   BIN=target/debug/altroot bench/flood.sh     # a build you have
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${BIN:-}" ]; then
    cargo build --release --locked -q
    BIN=target/release/altroot
fi
build=$(case "$BIN" in *release*) echo release ;; *) echo debug ;; esac)
{
    echo "## Flood, $(date -u +%Y-%m-%d), $(nproc) cores, $build build ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
    echo
    echo "| what | figure |"
    echo "|---|---|"
    python3 bench/flood.py "$BIN"
} | tee bench/flood-results.md
