#!/usr/bin/env bash
# altroot against Unbound, Knot Resolver and a canned-answer ceiling, side by side in
# one run on this machine. Prints a Markdown report (also appended to
# bench/results.md).
#
#   bench/run.sh                      # about 9 minutes
#   SECS=10 REPS=3 bench/run.sh       # per-measurement seconds, repetitions (median)
#   BEFORE_BIN=/path/to/old/altroot bench/run.sh
#                                     # also measures an earlier build, in the same
#                                     # run and the same interleaved latency rounds
#                                     # (before/after tables for an issue)
#   DNSSEC=1 bench/run.sh             # the upstream zone signed (ldns-signzone,
#                                     # ECDSA P-256, NSEC), every resolver validating
#                                     # it from a trust anchor at example. (Unbound's
#                                     # validator module, Knot's FORWARD policy), and
#                                     # altroot also without validation, same binary,
#                                     # in the "before" slot. Unbound runs with
#                                     # aggressive-nsec: no: with it (the default) its
#                                     # negative cache's lookups grow with every cold
#                                     # name's NSEC and it falls to ~1,400 qps here
#                                     # (perf: 90% in a few loops of its own; 5,800 qps
#                                     # without), a pathology of this workload, not
#                                     # the cost of validating
#
# Method (issue 8): dnsperf and the fake world (NSD, the authoritative upstream) are
# pinned to one core, each resolver to the other (taskset), and the figure that
# matters is answers per second of the resolver's own CPU time (utime + stime from
# /proc), which survives dnsperf's own cap and the machine's noise. Workloads:
#   local   names from local data (altroot zones, Unbound local-data, Knot hints)
#   cached  1,000 names learned from the upstream, then answered from the cache
#   cold    distinct names under a wildcard of the upstream: every query a miss
# plus light fixed-rate runs (LIGHT_QPS, REPS interleaved rounds over the resolvers)
# per workload for latency (p50/p99 from dnsperf -v, medians). Everything is on 127.0.0.1; every run is bounded by -l.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-5}
REPS=${REPS:-3}
LIGHT_QPS=${LIGHT_QPS:-2000}
LIGHT_SECS=${LIGHT_SECS:-5}
COLD_NAMES=${COLD_NAMES:-400000}
PORT_ALT=5400 PORT_UNB=5401 PORT_UP=5402 PORT_KRES=5403 PORT_ALTQ=5404 PORT_ALTB=5405 PORT_CAN=5409 PORT_CEIL=5408
BEFORE_BIN=${BEFORE_BIN:-}
DNSSEC=${DNSSEC:-}
LOAD_CPU=0
SERVER_CPU=$(( $(nproc) > 1 ? 1 : 0 ))
TCK=$(getconf CLK_TCK)

. bench/lib.sh
if [ -n "$DNSSEC" ] && ! need ldns-signzone; then
    apt-get install -y -qq ldnsutils >/dev/null
fi

cargo build --release --locked -q
cargo build --release --locked -q --example canned
# The ceiling: a bare C recvmmsg/sendmmsg loop answering every question with one
# canned record (bench/ceiling.c): what the kernel allows a UDP server here.
CEIL_BIN=$(mktemp)
cc -O2 -o "$CEIL_BIN" bench/ceiling.c
BIN=target/release/altroot
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK" "$CEIL_BIN"
}
trap cleanup EXIT

# --- the fake world: NSD serving example. (1,000 names and a wildcard) ---------
{
    echo '$TTL 86400'
    echo '@ SOA ns.example. h.example. 1 3600 600 86400 3600'
    echo '@ NS ns.example.'
    echo 'ns A 127.0.0.1'
    for i in $(seq 0 999); do echo "h$i A 192.0.2.$((i % 250 + 1))"; done
    echo '*.cold A 198.51.100.7'
} > "$WORK/example.zone"
ZONEFILE=example.zone
if [ -n "$DNSSEC" ]; then
    # Keys and signatures made fresh for the run; valid until 2070.
    (cd "$WORK" && ksk=$(ldns-keygen -a ECDSAP256SHA256 -k example.) && zsk=$(ldns-keygen -a ECDSAP256SHA256 example.) \
        && ldns-signzone -o example. -e 20700101000000 example.zone "$zsk" "$ksk" && cp "$ksk.ds" example.ds) >/dev/null
    ZONEFILE=example.zone.signed
    [ -z "$BEFORE_BIN" ] && BEFORE_BIN=$(pwd)/target/release/altroot
fi
cat > "$WORK/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$PORT_UP
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$WORK"
    pidfile: "$WORK/nsd.pid"
    database: ""
    xfrdfile: "$WORK/xfrd.state"
    zonelistfile: "$WORK/zone.list"
    verbosity: 0
    logfile: "$WORK/nsd.log"
    # NSD's response rate limiting (on by default, 200/s) would be the bottleneck.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "example."
    zonefile: "$ZONEFILE"
EOF
taskset -c $LOAD_CPU nsd -d -c "$WORK/nsd.conf" 2>"$WORK/nsd.err" & PIDS+=($!)

# --- the resolvers, each with the same data, on the server core ----------------
alt_config() { # port [validate: 1]
    local anchors=""
    [ -n "$DNSSEC" ] && [ "${2:-1}" = 1 ] && anchors="trust-anchors = [\"$WORK/example.ds\"]"
    cat <<EOF
[server]
listen = ["127.0.0.1:$1"]
[cache]
max-size = "2GiB"
[[root]]
name = "alt"
zones = "$PWD/zones"
[[root]]
name = "up"
forward = ["127.0.0.1:$PORT_UP"]
allow-loopback-upstream = true
$anchors
EOF
}
alt_config $PORT_ALT > "$WORK/alt.toml"
alt_config $PORT_ALTQ > "$WORK/altq.toml"
# As users run it: the per-query log line on, written to a file.
taskset -c $SERVER_CPU "$BIN" serve --config "$WORK/alt.toml" 2>"$WORK/alt.log" & ALT_PID=$!; PIDS+=($ALT_PID)
taskset -c $SERVER_CPU "$BIN" -q serve --config "$WORK/altq.toml" 2>"$WORK/altq.log" & ALTQ_PID=$!; PIDS+=($ALTQ_PID)
if [ -n "$BEFORE_BIN" ]; then
    alt_config $PORT_ALTB "$([ -n "$DNSSEC" ] && echo 0 || echo 1)" > "$WORK/altb.toml"
    taskset -c $SERVER_CPU "$BEFORE_BIN" serve --config "$WORK/altb.toml" 2>"$WORK/altb.log" & ALTB_PID=$!; PIDS+=($ALTB_PID)
fi

cat > "$WORK/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$PORT_UNB
    num-threads: 1
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    username: ""
    chroot: ""
    directory: "$WORK"
    pidfile: "$WORK/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    module-config: "$([ -n "$DNSSEC" ] && echo "validator iterator" || echo iterator)"
$([ -n "$DNSSEC" ] && echo "    trust-anchor-file: \"$WORK/example.ds\"")
$([ -n "$DNSSEC" ] && echo "    aggressive-nsec: no")
    msg-cache-size: 512m
    rrset-cache-size: 1024m
    local-zone: "geek." static
    local-data: "geek. 3600 IN SOA a.root-servers.alt. hostmaster.root-servers.alt. 2026112701 7200 900 1209600 300"
    local-data: "www.geek. 3600 IN A 192.0.2.1"
    local-data: "www.geek. 3600 IN AAAA 2001:db8::1"
    local-data: "mail.geek. 3600 IN A 192.0.2.2"
    local-zone: "libre." static
    local-data: "libre. 3600 IN SOA a.root-servers.alt. hostmaster.root-servers.alt. 2026112701 7200 900 1209600 300"
    local-data: "www.libre. 3600 IN AAAA 2001:db8:1::7"
forward-zone:
    name: "example."
    forward-addr: 127.0.0.1@$PORT_UP
EOF
taskset -c $SERVER_CPU unbound -d -c "$WORK/unbound.conf" 2>"$WORK/unbound.log" & UNB_PID=$!; PIDS+=($UNB_PID)

mkdir -p "$WORK/kres"
cat > "$WORK/kresd.conf" <<EOF
net.listen('127.0.0.1', $PORT_KRES, { kind = 'dns' })
cache.open(1024 * MB, 'lmdb://$WORK/kres/cache')
trust_anchors.remove('.')
modules = { 'hints > iterate' }
hints.set('www.geek 192.0.2.1')
hints.set('www.geek 2001:db8::1')
hints.set('mail.geek 192.0.2.2')
hints.set('www.libre 2001:db8:1::7')
$(if [ -n "$DNSSEC" ]; then
    echo "trust_anchors.add('$(tr '\t' ' ' < "$WORK/example.ds")')"
    echo "policy.add(policy.suffix(policy.FORWARD({'127.0.0.1@$PORT_UP'}), {todname('example.')}))"
else
    echo "policy.add(policy.suffix(policy.STUB({'127.0.0.1@$PORT_UP'}), {todname('example.')}))"
fi)
EOF
taskset -c $SERVER_CPU kresd -n -c "$WORK/kresd.conf" "$WORK/kres" >"$WORK/kresd.log" 2>&1 & KRES_PID=$!; PIDS+=($KRES_PID)

taskset -c $SERVER_CPU target/release/examples/canned 127.0.0.1:$PORT_CAN & CAN_PID=$!; PIDS+=($CAN_PID)
taskset -c $SERVER_CPU "$CEIL_BIN" 127.0.0.1 $PORT_CEIL & CEIL_PID=$!; PIDS+=($CEIL_PID)
sleep 2

# --- query files ---------------------------------------------------------------
printf '%s\n' "www.geek A" "mail.geek A" "www.geek AAAA" "www.libre AAAA" > "$WORK/local.txt"
for i in $(seq 0 999); do echo "h$i.example A"; done > "$WORK/cached.txt"
cold_file() { # tag -> path of COLD_NAMES fresh names
    awk -v t="$1" -v n="$COLD_NAMES" 'BEGIN { for (i = 0; i < n; i++) printf "%s-%d.cold.example A\n", t, i }' \
        > "$WORK/cold-$1.txt"
    echo "$WORK/cold-$1.txt"
}

# Sanity: every resolver gives the same answers before anything is timed.
for p in $PORT_ALT $PORT_ALTQ $PORT_UNB $PORT_KRES ${BEFORE_BIN:+$PORT_ALTB}; do
    a=$(dig +short @127.0.0.1 -p $p www.geek A); b=$(dig +short @127.0.0.1 -p $p h7.example A)
    c=$(dig +short @127.0.0.1 -p $p x.cold.example A)
    [ "$a" = "192.0.2.1" ] && [ "$b" = "192.0.2.8" ] && [ "$c" = "198.51.100.7" ] \
        || { echo "port $p answers wrongly: '$a' '$b' '$c'" >&2; exit 1; }
done

# Load runs in interleaved rounds: round i measures every resolver on every
# workload in turn, and each figure is the median over the rounds, so that the
# machine's drift over minutes (this one's moves a resolver's figure by 20% from one
# minute to the next) falls on every resolver alike and the ratios hold still.
rss_kib() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }
declare -A LROW CROW XROW LOCAL CACHED COLD LAT_L LAT_C LAT_X RSS0 HWM
KEYS="altroot unbound knot"
[ -n "$BEFORE_BIN" ] && KEYS="altroot before unbound knot"
pid_of() {
    case $1 in
        altroot) echo "$ALT_PID $PORT_ALT" ;; before) echo "${ALTB_PID:-} $PORT_ALTB" ;;
        unbound) echo "$UNB_PID $PORT_UNB" ;; knot) echo "$KRES_PID $PORT_KRES" ;;
        altq) echo "$ALTQ_PID $PORT_ALTQ" ;; canned) echo "$CAN_PID $PORT_CAN" ;;
        ceiling) echo "$CEIL_PID $PORT_CEIL" ;;
    esac
}
for k in $KEYS canned ceiling; do
    read -r pid port <<<"$(pid_of $k)"
    measure "$pid" "$port" "$WORK/cached.txt" >/dev/null # warm
    RSS0[$k]=$(rss_kib "$pid")
done
for i in $(seq 1 "$REPS"); do
    echo "measuring, round $i of $REPS" >&2
    for k in $KEYS altq canned ceiling; do
        read -r pid port <<<"$(pid_of $k)"
        LROW[$k]+="$(measure "$pid" "$port" "$WORK/local.txt")"$'\n'
        [ "$k" = altq ] && continue
        CROW[$k]+="$(measure "$pid" "$port" "$WORK/cached.txt")"$'\n'
        case $k in canned | ceiling) continue ;; esac
        f=$(cold_file "$k$i")
        XROW[$k]+="$(measure "$pid" "$port" "$f")"$'\n'
        rm -f "$f"
    done
done
med3() { # rows -> "qps aps noerror", each the median over the rounds
    local c out=""
    for c in 1 2 3; do out+="$(echo -n "$1" | awk -v c=$c '{ print $c }' | median) "; done
    echo "${out% }"
}
for k in $KEYS altq canned ceiling; do
    LOCAL[$k]=$(med3 "${LROW[$k]}")
    [ -n "${CROW[$k]:-}" ] && CACHED[$k]=$(med3 "${CROW[$k]}")
    if [ -n "${XROW[$k]:-}" ]; then
        COLD[$k]=$(med3 "${XROW[$k]}")
        read -r pid port <<<"$(pid_of $k)"
        HWM[$k]=$(hwm_kib "$pid")
    fi
done
ALTQ_LOCAL=${LOCAL[altq]}
CAN_LOCAL=${LOCAL[canned]} CAN_CACHED=${CACHED[canned]}
CEIL_LOCAL=${LOCAL[ceiling]} CEIL_CACHED=${CACHED[ceiling]}

# Latency last, after every load run, and interleaved: round i measures each
# resolver in turn, so whatever the machine does meanwhile (another resolver's
# page-cache writeback, a noisy neighbour) falls on all of them alike, not on
# whichever was measured first.
declare -A LROWS
echo "measuring latency ($REPS interleaved rounds)" >&2
for i in $(seq 1 "$REPS"); do
    for k in $KEYS canned; do
        case $k in
            altroot) port=$PORT_ALT ;; unbound) port=$PORT_UNB ;;
            knot) port=$PORT_KRES ;; canned) port=$PORT_CAN ;;
            before) port=$PORT_ALTB ;;
        esac
        LROWS[$k,l]+="$(latency_once "$port" "$WORK/local.txt")"$'\n'
        [ "$k" = canned ] && continue
        LROWS[$k,c]+="$(latency_once "$port" "$WORK/cached.txt")"$'\n'
        f=$(cold_file "lat$k$i")
        LROWS[$k,x]+="$(latency_once "$port" "$f")"$'\n'
        rm -f "$f"
    done
done
lat_median() { # rows -> "p50 p99", each the median over the rounds
    echo "$(echo -n "$1" | awk '{ print $1 }' | median) $(echo -n "$1" | awk '{ print $2 }' | median)"
}
for k in $KEYS; do
    LAT_L[$k]=$(lat_median "${LROWS[$k,l]}")
    LAT_C[$k]=$(lat_median "${LROWS[$k,c]}")
    LAT_X[$k]=$(lat_median "${LROWS[$k,x]}")
done
CAN_LAT=$(lat_median "${LROWS[canned,l]}")

f() { echo "$1" | awk -v i="$2" '{ print $i }'; }
k() { awk -v v="$1" 'BEGIN { printf "%.0f", v / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
per_name() { # key -> bytes of peak RSS growth per cold name resolved
    awk -v h="${HWM[$1]}" -v r="${RSS0[$1]}" -v n="$2" 'BEGIN { if (n > 0) printf "%.0f", (h - r) * 1024 / n; else print "-" }'
}
row() { # label key
    local key=$2 L=${LOCAL[$2]} C=${CACHED[$2]} X=${COLD[$2]}
    local names=$(( $(f "$X" 1) * SECS * REPS ))
    echo "| $1 | $(k "$(f "$L" 2)") | $(k "$(f "$C" 2)") | $(f "$X" 1) | $(k "$(f "$X" 2)") | ${LAT_L[$key]/ / / } | ${LAT_C[$key]/ / / } | ${LAT_X[$key]/ / / } | $(f "$L" 3) / $(f "$C" 3) / $(f "$X" 3) | $(( ${HWM[$key]} / 1024 )) MiB | $(per_name "$key" "$names") |"
}
{
    echo
    echo "## $(date -u +%Y-%m-%d)${DNSSEC:+, DNSSEC validation on}: altroot vs Unbound $(unbound -V | awk 'NR==1 {print $2}') and Knot Resolver $(kresd --version | awk '{print $NF}')"
    echo
    echo "$(nproc) cores ($(awk -F: '/model name/ { print $2; exit }' /proc/cpuinfo | sed 's/^ *//')); dnsperf and NSD pinned to core $LOAD_CPU, each resolver to core $SERVER_CPU; dnsperf -c 4 -T 1 -q 200 -l $SECS, medians of $REPS interleaved rounds; latency at $LIGHT_QPS qps for ${LIGHT_SECS} s after all load runs, medians of $REPS interleaved rounds. Answers per CPU-second in thousands; cold in qps and thousands per CPU-second; latency p50 / p99 in ms; NOERROR % local / cached / cold; RSS growth per cold name resolved."
    echo
    echo "| resolver | local k/CPU-s | cached k/CPU-s | cold qps | cold k/CPU-s | latency local | latency cached | latency cold | NOERROR % | peak RSS | bytes/cold name |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    row "altroot (query log on)" altroot
    if [ -n "$DNSSEC" ]; then
        row "altroot, validation off (same binary)" before
    elif [ -n "$BEFORE_BIN" ]; then
        row "altroot before: $BEFORE_BIN" before
    fi
    row "Unbound (1 thread)" unbound
    row "Knot Resolver (1 process)" knot
    echo "| altroot, query log off | $(k "$(f "$ALTQ_LOCAL" 2)") | | | | | | | | | |"
    echo "| canned-answer tokio loop | $(k "$(f "$CAN_LOCAL" 2)") | $(k "$(f "$CAN_CACHED" 2)") | | | ${CAN_LAT/ / / } | | | | | |"
    echo "| **C recvmmsg loop (ceiling)** | $(k "$(f "$CEIL_LOCAL" 2)") | $(k "$(f "$CEIL_CACHED" 2)") | | | | | | | | |"
    echo
    A=${LOCAL[altroot]} U=${LOCAL[unbound]}
    echo "Of the C ceiling (answers per CPU-second): altroot local $(ratio "$(f "$A" 2)" "$(f "$CEIL_LOCAL" 2)"), log off $(ratio "$(f "$ALTQ_LOCAL" 2)" "$(f "$CEIL_LOCAL" 2)"), cached $(ratio "$(f "${CACHED[altroot]}" 2)" "$(f "$CEIL_CACHED" 2)"); Unbound local $(ratio "$(f "$U" 2)" "$(f "$CEIL_LOCAL" 2)"), cached $(ratio "$(f "${CACHED[unbound]}" 2)" "$(f "$CEIL_CACHED" 2)"); tokio loop local $(ratio "$(f "$CAN_LOCAL" 2)" "$(f "$CEIL_LOCAL" 2)")."
    echo
    echo "altroot / Unbound: local $(ratio "$(f "$A" 2)" "$(f "$U" 2)"), cached $(ratio "$(f "${CACHED[altroot]}" 2)" "$(f "${CACHED[unbound]}" 2)"), cold qps $(ratio "$(f "${COLD[altroot]}" 1)" "$(f "${COLD[unbound]}" 1)"), cold per CPU-second $(ratio "$(f "${COLD[altroot]}" 2)" "$(f "${COLD[unbound]}" 2)")."
    if [ -n "$BEFORE_BIN" ]; then
        B=${LOCAL[before]}
        echo
        echo "altroot $([ -n "$DNSSEC" ] && echo "without validation" || echo before) / Unbound: local $(ratio "$(f "$B" 2)" "$(f "$U" 2)"), cached $(ratio "$(f "${CACHED[before]}" 2)" "$(f "${CACHED[unbound]}" 2)"), cold qps $(ratio "$(f "${COLD[before]}" 1)" "$(f "${COLD[unbound]}" 1)"), cold per CPU-second $(ratio "$(f "${COLD[before]}" 2)" "$(f "${COLD[unbound]}" 2)")."
    fi
} | tee -a bench/results.md
