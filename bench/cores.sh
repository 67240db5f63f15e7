#!/usr/bin/env bash
# Scaling across cores (issue 19 part 5): ready answers (the local and cached
# workloads of bench/run.sh) with the resolvers on 1 core and on 2 cores, for
# altroot (one UDP socket and thread per core it may run on), Unbound
# (num-threads 1 / 2, so-reuseport), Knot Resolver (1 / 2 kresd processes on one
# port, one shared cache) and the C ceiling (1 / 2 copies on one port).
#
#   bench/cores.sh                     # about 6 minutes
#   SECS=5 REPS=3 bench/cores.sh
#
# With 1 server core: dnsperf and NSD on core 0, the resolver on core 1 (as
# bench/run.sh). With 2 server cores on a 2-core machine there is no core left
# for the load: the resolver may use both cores and dnsperf (2 threads) shares
# them, so qps is what the pair manages together and the figure to read is
# answers per CPU-second of the resolver's own processes (utime + stime summed
# over them): how much each answer costs once the work is spread over two
# threads (locks, shared cache lines, the kernel's reuseport spreading). Rounds
# are interleaved over the resolvers. Prints a Markdown table (also appended to
# bench/results.md).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-5}
REPS=${REPS:-3}
LIGHT_QPS=2000 LIGHT_SECS=5
PORT_UP=5452 PORT_ALT=5450 PORT_UNB=5451 PORT_KRES=5453 PORT_CEIL=5458
TCK=$(getconf CLK_TCK)
LOAD_CPU=0
. bench/lib.sh
[ "$(nproc)" -ge 2 ] || { echo "bench/cores.sh needs 2 cores" >&2; exit 1; }

cargo build --release --locked -q
CEIL_BIN=$(mktemp)
cc -O2 -o "$CEIL_BIN" bench/ceiling.c
BIN=target/release/altroot
WORK=$(mktemp -d)
PIDS=()
stop_all() { # the resolvers (NSD runs on)
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}
cleanup() {
    stop_all
    [ -n "${NSD_PID:-}" ] && kill "$NSD_PID" 2>/dev/null
    wait 2>/dev/null || true
    rm -rf "$WORK" "$CEIL_BIN"
}
trap cleanup EXIT

# The upstream of the cached workload: NSD with 1,000 names, on core 0.
{
    echo '$TTL 86400'
    echo '@ SOA ns.example. h.example. 1 3600 600 86400 3600'
    echo '@ NS ns.example.'
    echo 'ns A 127.0.0.1'
    for i in $(seq 0 999); do echo "h$i A 192.0.2.$((i % 250 + 1))"; done
} > "$WORK/example.zone"
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
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "example."
    zonefile: "example.zone"
EOF
taskset -c 0 nsd -d -c "$WORK/nsd.conf" 2>"$WORK/nsd.err" & NSD_PID=$!

printf '%s\n' "www.geek A" "mail.geek A" "www.geek AAAA" "www.libre AAAA" > "$WORK/local.txt"
for i in $(seq 0 999); do echo "h$i.example A"; done > "$WORK/cached.txt"

start_resolvers() { # n: server cores (1: core 1; 2: cores 0-1)
    local n=$1 cpus
    cpus=$([ "$n" = 1 ] && echo 1 || echo 0,1)
    cat > "$WORK/alt.toml" <<EOF
[server]
listen = ["127.0.0.1:$PORT_ALT"]
[cache]
max-size = "2GiB"
[[root]]
name = "alt"
zones = "$PWD/zones"
[[root]]
name = "up"
forward = ["127.0.0.1:$PORT_UP"]
allow-loopback-upstream = true
EOF
    # As users run it: the query log on (to a file).
    taskset -c "$cpus" "$BIN" serve --config "$WORK/alt.toml" 2>"$WORK/alt.log" & ALT=$!; PIDS+=($!)
    cat > "$WORK/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$PORT_UNB
    num-threads: $n
    so-reuseport: yes
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    username: ""
    chroot: ""
    directory: "$WORK"
    pidfile: "$WORK/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    module-config: "iterator"
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
    taskset -c "$cpus" unbound -d -c "$WORK/unbound.conf" 2>"$WORK/unbound.log" & UNB=$!; PIDS+=($!)
    rm -rf "$WORK/kres"
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
policy.add(policy.suffix(policy.STUB({'127.0.0.1@$PORT_UP'}), {todname('example.')}))
EOF
    # Knot's way to use cores: one process per core, sharing the port and the cache.
    KRES=""
    local i
    for i in $(seq 0 $((n - 1))); do
        taskset -c "$cpus" kresd -n -c "$WORK/kresd.conf" "$WORK/kres" >"$WORK/kresd$i.log" 2>&1 &
        PIDS+=($!)
        KRES=${KRES:+$KRES,}$!
    done
    CEIL=""
    for i in $(seq 0 $((n - 1))); do
        taskset -c "$cpus" "$CEIL_BIN" 127.0.0.1 $PORT_CEIL &
        PIDS+=($!)
        CEIL=${CEIL:+$CEIL,}$!
    done
    sleep 2
    local p a b
    for p in $PORT_ALT $PORT_UNB $PORT_KRES; do
        a=$(dig +short @127.0.0.1 -p $p www.geek A); b=$(dig +short @127.0.0.1 -p $p h7.example A)
        [ "$a" = "192.0.2.1" ] && [ "$b" = "192.0.2.8" ] \
            || { echo "port $p answers wrongly: '$a' '$b'" >&2; exit 1; }
    done
}

declare -A ROWS
for n in 1 2; do
    echo "measuring on $n server core(s)" >&2
    start_resolvers "$n"
    if [ "$n" = 1 ]; then LOAD_CPU=0 DNSPERF_THREADS=1; else LOAD_CPU=0,1 DNSPERF_THREADS=2; fi
    for r in altroot unbound knot ceiling; do
        case $r in
            altroot) pid=$ALT port=$PORT_ALT ;; unbound) pid=$UNB port=$PORT_UNB ;;
            knot) pid=$KRES port=$PORT_KRES ;; ceiling) pid=$CEIL port=$PORT_CEIL ;;
        esac
        [ "$r" = ceiling ] || measure "$pid" "$port" "$WORK/cached.txt" >/dev/null # warm
    done
    for i in $(seq 1 "$REPS"); do
        for r in altroot unbound knot ceiling; do
            case $r in
                altroot) pid=$ALT port=$PORT_ALT ;; unbound) pid=$UNB port=$PORT_UNB ;;
                knot) pid=$KRES port=$PORT_KRES ;; ceiling) pid=$CEIL port=$PORT_CEIL ;;
            esac
            ROWS[$r,$n,l]+="$(measure "$pid" "$port" "$WORK/local.txt")"$'\n'
            ROWS[$r,$n,c]+="$(measure "$pid" "$port" "$WORK/cached.txt")"$'\n'
        done
    done
    stop_all
done

col() { echo -n "$1" | awk -v i="$2" '{ print $i }' | median; }
k() { awk -v v="$1" 'BEGIN { printf "%.0f", v / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
{
    echo
    echo "## $(date -u +%Y-%m-%d): scaling across cores (bench/cores.sh), altroot vs Unbound $(unbound -V | awk 'NR==1 {print $2}') and Knot Resolver $(kresd --version | awk '{print $NF}')"
    echo
    echo "$(nproc) cores ($(awk -F: '/model name/ { print $2; exit }' /proc/cpuinfo | sed 's/^ *//')). 1 server core: dnsperf (1 thread) and NSD on core 0, the resolver on core 1. 2 server cores: the resolver on both, dnsperf (2 threads) sharing them. dnsperf -c 4 -q 200 -l $SECS, medians of $REPS interleaved rounds. qps, and answers per CPU-second of the resolver's processes in thousands."
    echo
    echo "| resolver | local qps, 1 core | local qps, 2 cores | local k/CPU-s, 1 / 2 cores | cached qps, 1 core | cached qps, 2 cores | cached k/CPU-s, 1 / 2 cores |"
    echo "|---|---|---|---|---|---|---|"
    for r in altroot unbound knot ceiling; do
        case $r in
            altroot) label="altroot (query log on)" ;; unbound) label="Unbound (num-threads 1 / 2)" ;;
            knot) label="Knot Resolver (1 / 2 processes)" ;; ceiling) label="**C recvmmsg loop (1 / 2 copies)**" ;;
        esac
        echo "| $label | $(col "${ROWS[$r,1,l]}" 1) | $(col "${ROWS[$r,2,l]}" 1) | $(k "$(col "${ROWS[$r,1,l]}" 2)") / $(k "$(col "${ROWS[$r,2,l]}" 2)") | $(col "${ROWS[$r,1,c]}" 1) | $(col "${ROWS[$r,2,c]}" 1) | $(k "$(col "${ROWS[$r,1,c]}" 2)") / $(k "$(col "${ROWS[$r,2,c]}" 2)") |"
    done
    echo
    echo -n "Cost per answer on 2 cores against 1 (answers per CPU-second, 2 / 1):"
    for r in altroot unbound knot ceiling; do
        echo -n " $r local $(ratio "$(col "${ROWS[$r,2,l]}" 2)" "$(col "${ROWS[$r,1,l]}" 2)"), cached $(ratio "$(col "${ROWS[$r,2,c]}" 2)" "$(col "${ROWS[$r,1,c]}" 2)");"
    done
    echo
} | tee -a bench/results.md
