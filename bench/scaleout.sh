#!/usr/bin/env bash
# Scale-out behind dnsdist (issue 16 §4): dnsperf through dnsdist to 1 and to 2
# altroot instances, and dnsdist's own cost (dnsperf → altroot direct vs → dnsdist
# → 1 altroot), all in one run on this machine. Prints a Markdown report (also
# appended to bench/scaleout.md).
#
#   bench/scaleout.sh                 # about 2 minutes after the release build
#   SECS=10 REPS=5 bench/scaleout.sh  # per-measurement seconds, repetitions (median)
#
# What this can and cannot show. On a 2-core machine the load generator, dnsdist and
# the instances share two cores: two instances cannot double anything here, and the
# 2-instance figures say how the work splits, not how it scales across machines (where
# each instance has a host of its own). Pinning (taskset; altroot has no worker-count
# key: pinned to one core it runs one tokio worker and one UDP socket per address):
#   direct          dnsperf core 0                 altroot-1 core 1
#   dnsdist → 1     dnsperf + dnsdist core 0       altroot-1 core 1
#   dnsdist → 2 (1 core)   dnsperf + dnsdist core 0    altroot-1 and altroot-2 core 1:
#                   the backends' CPU is the same as with one; what the split costs
#   dnsdist → 2 (2 cores)  dnsperf + dnsdist + altroot-2 core 0, altroot-1 core 1:
#                   more CPU for the backends, taken from the front
# Workload: names from the instances' local zones (the repository's zones/), the
# cheapest answers altroot gives, so dnsdist's cost shows most. dnsperf -c 4 -T 1
# -q 200 -l SECS, median of REPS; CPU per process from /proc (utime + stime), busy
# share of each core from /proc/stat. dnsdist has no packet cache (as shipped). Each
# altroot writes its per-query log to a file, as users run it. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-5}
REPS=${REPS:-3}
PORT_DD=5420 PORT_A1=5421 PORT_A2=5422
TCK=$(getconf CLK_TCK)
[ "$(nproc)" -ge 2 ] || { echo "needs 2 cores" >&2; exit 1; }

have() { command -v "$1" >/dev/null 2>&1; }
if ! have dnsperf || ! have dnsdist || ! have dig; then
    echo "installing dnsperf, dnsdist, dig (Debian packages)" >&2
    apt-get update -qq && apt-get install -y -qq dnsperf dnsdist bind9-dnsutils >/dev/null
fi
# The packaged service is not wanted; only our own instance on loopback.
systemctl stop dnsdist 2>/dev/null || true

cargo build --release --locked -q
BIN=${CARGO_TARGET_DIR:-target}/release/altroot
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- two instances, the same zones, as config/examples/scale-out/altroot-N.toml ----
alt_config() { # port
    cat <<EOF
[server]
listen = ["127.0.0.1:$1"]
allow = ["127.0.0.1/32"]
[limits]
max-resolutions = 1000
max-per-client = 1000
[[root]]
name = "alt"
zones = "$PWD/zones"
EOF
}
alt_config $PORT_A1 > "$WORK/a1.toml"
alt_config $PORT_A2 > "$WORK/a2.toml"
start_alt() { # config cpu log -> pid
    taskset -c "$2" "$BIN" serve --config "$1" >/dev/null 2>"$3" &
    echo $!
}
A1=$(start_alt "$WORK/a1.toml" 1 "$WORK/a1.log"); PIDS+=("$A1")
A2=$(start_alt "$WORK/a2.toml" 1 "$WORK/a2.log"); PIDS+=("$A2")

# --- dnsdist as shipped (config/examples/scale-out/dnsdist.conf), its ports moved --
dnsdist_conf() { # backend ports...
    echo 'setSecurityPollSuffix("")'
    echo "setLocal(\"127.0.0.1:$PORT_DD\")"
    echo 'setACL({"127.0.0.0/8"})'
    local i=1
    for p in "$@"; do
        echo "newServer({address=\"127.0.0.1:$p\", name=\"altroot-$i\", checkName=\".\", checkType=\"SOA\", mustResolve=true, checkInterval=1, checkTimeout=1000, maxCheckFailures=2, rise=1})"
        i=$((i + 1))
    done
    echo 'setServerPolicy(leastOutstanding)'
}
DD=""
start_dnsdist() { # backend ports...
    [ -n "$DD" ] && { kill "$DD"; wait "$DD" 2>/dev/null || true; }
    dnsdist_conf "$@" > "$WORK/dnsdist.conf"
    : > "$WORK/dnsdist.log"
    taskset -c 0 dnsdist -C "$WORK/dnsdist.conf" --supervised --disable-syslog >"$WORK/dnsdist.log" 2>&1 &
    DD=$!; PIDS+=("$DD")
    # Ready when it has marked every backend up (bounded: 10 s).
    local n=0
    while [ "$(grep -c "as 'up'" "$WORK/dnsdist.log" || true)" -lt $# ]; do
        n=$((n + 1)); [ $n -le 100 ] || { cat "$WORK/dnsdist.log" >&2; exit 1; }
        sleep 0.1
    done
}

printf '%s\n' "www.geek A" "mail.geek A" "www.geek AAAA" "www.libre AAAA" > "$WORK/local.txt"

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
cores() { awk '/^cpu[01] / { printf "%s %s ", $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; } # busy idle, per core
# One dnsperf run: "qps noerror% cpu-s(A1) cpu-s(A2) cpu-s(dnsdist) busy%(core0) busy%(core1)".
measure() { # port
    local c0 c1 k0 k1 out
    c0="$(cpu "$A1") $(cpu "$A2") $( [ -n "$DD" ] && cpu "$DD" || echo 0)"
    k0=$(cores)
    out=$(taskset -c 0 dnsperf -s 127.0.0.1 -p "$1" -d "$WORK/local.txt" -l "$SECS" -c 4 -T 1 -q 200 2>&1)
    k1=$(cores)
    c1="$(cpu "$A1") $(cpu "$A2") $( [ -n "$DD" ] && cpu "$DD" || echo 0)"
    echo "$out" | awk -v c0="$c0" -v c1="$c1" -v k0="$k0" -v k1="$k1" -v tck="$TCK" '
        /Queries completed/ { done = $3 }
        /Queries per second/ { qps = $4 }
        /Response codes/ { for (i = 1; i <= NF; i++) if ($i == "NOERROR") ok = $(i + 1) }
        END { split(c0, a); split(c1, b); split(k0, p); split(k1, q)
              printf "%d %.1f %.2f %.2f %.2f %.0f %.0f\n", qps, (done ? 100 * ok / done : 0),
                  (b[1] - a[1]) / tck, (b[2] - a[2]) / tck, (b[3] - a[3]) / tck,
                  100 * (q[1] - p[1]) / (q[1] - p[1] + q[2] - p[2]),
                  100 * (q[3] - p[3]) / (q[3] - p[3] + q[4] - p[4]) }'
}
# The run with the median qps of REPS: its whole row.
bench() { # port
    local rows="" i
    for i in $(seq 1 "$REPS"); do rows+="$(measure "$1")"$'\n'; done
    echo -n "$rows" | sort -n | awk '{ r[NR] = $0 } END { print r[int((NR + 1) / 2)] }'
}

# Sanity: both instances and dnsdist give the zone's answer before anything is timed.
sleep 1
for p in $PORT_A1 $PORT_A2; do
    [ "$(dig +short @127.0.0.1 -p $p www.geek A)" = "192.0.2.1" ] || { echo "port $p answers wrongly" >&2; exit 1; }
done

echo "measuring altroot direct" >&2
DIRECT=$(bench $PORT_A1)
start_dnsdist $PORT_A1
[ "$(dig +short @127.0.0.1 -p $PORT_DD www.geek A)" = "192.0.2.1" ] || { echo "dnsdist answers wrongly" >&2; exit 1; }
echo "measuring dnsdist → 1 instance" >&2
ONE=$(bench $PORT_DD)
start_dnsdist $PORT_A1 $PORT_A2
echo "measuring dnsdist → 2 instances on core 1" >&2
TWO_SAME=$(bench $PORT_DD)
taskset -p -c 0 "$A2" >/dev/null
for t in /proc/"$A2"/task/*; do taskset -p -c 0 "${t##*/}" >/dev/null; done
echo "measuring dnsdist → 2 instances, altroot-2 on core 0" >&2
TWO_SPREAD=$(bench $PORT_DD)

f() { echo "$1" | awk -v i="$2" '{ print $i }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
# CPU microseconds per answer of one process: cpu-s / (qps × SECS)
us() { awk -v c="$1" -v q="$2" -v s="$SECS" 'BEGIN { if (q > 0) printf "%.1f", 1e6 * c / (q * s); else print "-" }'; }
row() { # label result
    local r=$2 q
    q=$(f "$r" 1)
    echo "| $1 | $q | $(f "$r" 2) | $(us "$(f "$r" 3)" "$q") | $(us "$(f "$r" 4)" "$q") | $(us "$(f "$r" 5)" "$q") | $(f "$r" 6) / $(f "$r" 7) |"
}
{
    echo
    echo "## $(date -u +%Y-%m-%d): dnsdist $(dnsdist --version | awk 'NR==1 { print $2 }') in front of altroot $(git rev-parse --short HEAD)"
    echo
    echo "$(nproc) cores ($(awk -F: '/model name/ { print $2; exit }' /proc/cpuinfo | sed 's/^ *//')); local names, dnsperf -c 4 -T 1 -q 200 -l $SECS, the median-qps run of $REPS; CPU in µs per answer of each process (utime + stime); busy % of each core over the run, from /proc/stat (the whole machine: whatever else runs shows there too). Two instances on two cores shared with dnsperf and dnsdist cannot show the scaling of two hosts."
    echo
    echo "| path | qps | NOERROR % | altroot-1 µs/answer | altroot-2 µs/answer | dnsdist µs/answer | core 0 / core 1 busy % |"
    echo "|---|---|---|---|---|---|---|"
    row "dnsperf → altroot-1 (direct)" "$DIRECT"
    row "dnsperf → dnsdist → altroot-1" "$ONE"
    row "dnsperf → dnsdist → altroot-1 + altroot-2, both on core 1" "$TWO_SAME"
    row "dnsperf → dnsdist → altroot-1 (core 1) + altroot-2 (core 0)" "$TWO_SPREAD"
    echo
    echo "dnsdist → 1 / direct: $(ratio "$(f "$ONE" 1)" "$(f "$DIRECT" 1)") of the qps. dnsdist → 2 / dnsdist → 1: $(ratio "$(f "$TWO_SAME" 1)" "$(f "$ONE" 1)") (both on core 1), $(ratio "$(f "$TWO_SPREAD" 1)" "$(f "$ONE" 1)") (one on each core)."
} | tee -a bench/scaleout.md
