#!/usr/bin/env bash
# Cold names in three shapes, altroot against Unbound and Knot Resolver in one run
# (issue 19 part 2: why does `bench/run.sh` say altroot does 1.6–1.9x Unbound's
# cold qps where another run said 1.10x?). Prints a Markdown table (also appended
# to bench/results.md).
#
#   bench/cold.sh                     # about 4 minutes
#   SECS=10 REPS=3 ZONES=20000 bench/cold.sh
#   PROFILE=wildcard bench/cold.sh    # no rounds: where altroot's time goes (perf)
#
# Shapes (every query a name never asked before):
#   forward   one upstream (NSD) answers everything: a forward root / Unbound
#             forward-zone / Knot FORWARD; names under one wildcard (bench/run.sh's)
#   wildcard  iteration from a root: "." → example. → cold.example. (a wildcard),
#             on three NSD addresses on port 53 (Unbound and Knot iterate to port 53
#             only); after the first name every delegation is cached
#   zones     iteration as above, names spread round-robin over ZONES zones
#             (zN.example., each with its own wildcard, on its own NSD address):
#             the first ZONES names each cost a delegation and an NS address lookup
#             kept per zone, as real names under many zones do
# dnsperf and NSD on core 0, each resolver alone on core 1; figures are qps and
# answers per CPU-second of the resolver; p50/p99 at LIGHT_QPS, medians of REPS
# interleaved rounds. Needs root (port 53 on 127.53.91.0/24).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-5}
REPS=${REPS:-3}
ZONES=${ZONES:-20000}
LIGHT_QPS=${LIGHT_QPS:-2000}
LIGHT_SECS=${LIGHT_SECS:-5}
NAMES=${NAMES:-400000}
PORT_UP=5452 PORT_ALT=5450 PORT_UNB=5451 PORT_KRES=5453
ROOT_IP=127.53.91.1 TLD_IP=127.53.91.2 LEAF_IP=127.53.91.3
LOAD_CPU=0
SERVER_CPU=$(( $(nproc) > 1 ? 1 : 0 ))
TCK=$(getconf CLK_TCK)

. bench/lib.sh
cargo build --release --locked -q
BIN=target/release/altroot
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- the world ------------------------------------------------------------------
soa() { echo "\$TTL 86400"; echo "@ SOA ns.$1 h.$1 1 3600 600 86400 3600"; }
{
    soa root.
    echo "@ NS a.root."
    echo "a.root. A $ROOT_IP"
    echo "example. NS ns.example."
    echo "ns.example. A $TLD_IP"
} > "$WORK/root.zone"
{
    soa example.
    echo "@ NS ns"
    echo "ns A $TLD_IP"
    echo "cold NS ns.leaf"
    echo "leaf NS ns.leaf"
    echo "ns.leaf A $LEAF_IP"
    for i in $(seq 0 $((ZONES - 1))); do echo "z$i NS ns.leaf"; done
} > "$WORK/example.zone"
# Every leaf zone (cold.example. and each zN.example.) is one file: NSD reads "@"
# as the zone's own name.
printf '$TTL 86400\n@ SOA ns.leaf.example. h.leaf.example. 1 3600 600 86400 3600\n@ NS ns.leaf.example.\n* A 198.51.100.7\n' \
    > "$WORK/leaf.zone"
# The forward shape's upstream: one zone answering everything under it.
{ soa example.; echo "@ NS ns"; echo "ns A 127.0.0.1"; echo "*.cold A 198.51.100.7"; } > "$WORK/fwd.zone"
nsd_conf() { # name ip port zones... (each "name file")
    local name=$1 ip=$2 port=$3; shift 3
    cat <<EOF
server:
    ip-address: $ip@$port
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$WORK"
    pidfile: "$WORK/$name.pid"
    database: ""
    xfrdfile: "$WORK/$name.xfrd"
    zonelistfile: "$WORK/$name.list"
    verbosity: 0
    logfile: "$WORK/$name.log"
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
EOF
    for z in "$@"; do
        echo "zone:"
        echo "    name: \"${z% *}\""
        echo "    zonefile: \"${z#* }\""
    done
}
nsd_conf root $ROOT_IP 53 ". root.zone" > "$WORK/root.conf"
nsd_conf tld $TLD_IP 53 "example. example.zone" > "$WORK/tld.conf"
{
    nsd_conf leaf $LEAF_IP 53 "cold.example. leaf.zone"
    for i in $(seq 0 $((ZONES - 1))); do
        printf 'zone:\n    name: "z%d.example."\n    zonefile: "leaf.zone"\n' "$i"
    done
} > "$WORK/leaf.conf"
nsd_conf fwd 127.0.0.1 $PORT_UP "example. fwd.zone" > "$WORK/fwd.conf"
for n in root tld leaf fwd; do
    taskset -c $LOAD_CPU nsd -d -c "$WORK/$n.conf" 2>"$WORK/$n.err" & PIDS+=($!)
done

# --- the resolvers: forward-shape and iterating instances of each ---------------
echo ". 3600000 NS a.root." > "$WORK/root.hints"
echo "a.root. 3600000 A $ROOT_IP" >> "$WORK/root.hints"
cat > "$WORK/alt.toml" <<EOF
[server]
listen = ["127.0.0.1:$PORT_ALT"]
[cache]
max-size = "2GiB"
[[root]]
name = "fwd"
forward = ["127.0.0.1:$PORT_UP"]
allow-loopback-upstream = true
tlds = ["example"]
EOF
cat > "$WORK/alti.toml" <<EOF
[server]
listen = ["127.0.0.1:$((PORT_ALT + 10))"]
[cache]
max-size = "2GiB"
[[root]]
name = "it"
hints = "$WORK/root.hints"
allow-loopback-upstream = true
EOF
unbound_conf() { # port mode
    cat <<EOF
server:
    interface: 127.0.0.1@$1
    num-threads: 1
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    username: ""
    chroot: ""
    directory: "$WORK"
    pidfile: "$WORK/unbound-$1.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    module-config: "iterator"
    msg-cache-size: 512m
    rrset-cache-size: 1024m
EOF
    if [ "$2" = fwd ]; then
        printf 'forward-zone:\n    name: "example."\n    forward-addr: 127.0.0.1@%s\n' "$PORT_UP"
    else
        printf '    root-hints: "%s"\n' "$WORK/root.hints"
    fi
}
unbound_conf $PORT_UNB fwd > "$WORK/unb.conf"
unbound_conf $((PORT_UNB + 10)) it > "$WORK/unbi.conf"
kres_conf() { # port mode
    echo "net.listen('127.0.0.1', $1, { kind = 'dns' })"
    echo "cache.open(1024 * MB, 'lmdb://$WORK/kres-$1')"
    echo "trust_anchors.remove('.')"
    if [ "$2" = fwd ]; then
        echo "policy.add(policy.suffix(policy.STUB({'127.0.0.1@$PORT_UP'}), {todname('example.')}))"
    else
        echo "modules = { 'hints > iterate' }"
        echo "option('ALLOW_LOCAL', true)"
        echo "hints.root({ ['a.root.'] = '$ROOT_IP' })"
    fi
}
kres_conf $PORT_KRES fwd > "$WORK/kres.conf"
kres_conf $((PORT_KRES + 10)) it > "$WORK/kresi.conf"
mkdir -p "$WORK/kres-$PORT_KRES" "$WORK/kres-$((PORT_KRES + 10))"
declare -A PID PORT
start() { # key port command...
    local k=$1 p=$2; shift 2
    taskset -c $SERVER_CPU "$@" >"$WORK/$k.log" 2>&1 & PID[$k]=$!; PIDS+=($!); PORT[$k]=$p
}
start altroot:fwd $PORT_ALT "$BIN" -q serve --config "$WORK/alt.toml"
start altroot:it $((PORT_ALT + 10)) "$BIN" -q serve --config "$WORK/alti.toml"
start unbound:fwd $PORT_UNB unbound -d -c "$WORK/unb.conf"
start unbound:it $((PORT_UNB + 10)) unbound -d -c "$WORK/unbi.conf"
start knot:fwd $PORT_KRES kresd -n -c "$WORK/kres.conf" "$WORK/kres-$PORT_KRES"
start knot:it $((PORT_KRES + 10)) kresd -n -c "$WORK/kresi.conf" "$WORK/kres-$((PORT_KRES + 10))"
sleep 3

# Every instance answers a name of each shape before anything is timed.
for k in "${!PORT[@]}"; do
    names="x.cold.example"
    [[ $k == *:it ]] && names="x.cold.example y.z$((ZONES - 1)).example"
    for n in $names; do
        a=$(dig +short +tries=2 +time=3 @127.0.0.1 -p "${PORT[$k]}" "$n" A)
        [ "$a" = "198.51.100.7" ] || { echo "$k answers $n wrongly: '$a'" >&2; cat "$WORK/${k}.log" >&2; exit 1; }
    done
done

names() { # shape tag -> file of NAMES fresh names
    local f="$WORK/names-$2.txt"
    case $1 in
        zones) awk -v t="$2" -v n="$NAMES" -v z="$ZONES" \
            'BEGIN { for (i = 0; i < n; i++) printf "%s-%d.z%d.example A\n", t, i, i % z }' > "$f" ;;
        *) awk -v t="$2" -v n="$NAMES" \
            'BEGIN { for (i = 0; i < n; i++) printf "%s-%d.cold.example A\n", t, i }' > "$f" ;;
    esac
    echo "$f"
}

# PROFILE=forward|wildcard|zones: instead of the rounds, where altroot's time goes
# under that shape's cold load (perf, SECS seconds): by thread, by shared object,
# and the heaviest symbols.
if [ -n "${PROFILE:-}" ]; then
    need perf || apt-get install -y -qq linux-perf >/dev/null
    k=altroot:$([ "$PROFILE" = forward ] && echo fwd || echo it)
    f=$(names "$PROFILE" prof)
    taskset -c $LOAD_CPU dnsperf -s 127.0.0.1 -p "${PORT[$k]}" -d "$f" -l $((SECS + 2)) -c 4 -T 1 -q 200 \
        > "$WORK/prof-dnsperf.txt" 2>&1 &
    load=$!
    sleep 1
    perf record -e cpu-clock -F 2999 -g -p "${PID[$k]}" -o "$WORK/prof.data" -- sleep "$SECS" >/dev/null 2>&1
    wait $load
    echo "## altroot, cold names, $PROFILE shape: $(awk '/Queries per second/ { printf "%d qps", $4 }' "$WORK/prof-dnsperf.txt")"
    for sort in comm dso sym; do
        echo "### by $sort"
        perf report -i "$WORK/prof.data" --no-children --sort $sort -g none 2>/dev/null \
            | grep -v '^#' | grep '%' | head -$([ $sort = sym ] && echo 40 || echo 8) || true
    done
    exit 0
fi

# Interleaved rounds: round r measures every resolver on every shape in turn.
declare -A ROWS LAT
SHAPES="forward wildcard zones"
for r in $(seq 1 "$REPS"); do
    echo "round $r of $REPS" >&2
    for s in $SHAPES; do
        for res in altroot unbound knot; do
            k="$res:$([ $s = forward ] && echo fwd || echo it)"
            f=$(names $s "$s$res$r")
            ROWS[$res,$s]+="$(measure "${PID[$k]}" "${PORT[$k]}" "$f")"$'\n'
            rm -f "$f"
            f=$(names $s "lat$s$res$r")
            LAT[$res,$s]+="$(latency_once "${PORT[$k]}" "$f")"$'\n'
            rm -f "$f"
        done
    done
done
col() { echo -n "$1" | awk -v i="$2" '{ print $i }' | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
{
    echo
    echo "## $(date -u +%Y-%m-%d): cold names in three shapes (bench/cold.sh), altroot vs Unbound $(unbound -V | awk 'NR==1 {print $2}') and Knot Resolver $(kresd --version | awk '{print $NF}')"
    echo
    echo "$(nproc) cores; dnsperf and NSD on core $LOAD_CPU, each resolver on core $SERVER_CPU; dnsperf -c 4 -T 1 -q 200 -l $SECS; medians of $REPS interleaved rounds; $ZONES zones in the zones shape; latency at $LIGHT_QPS qps. qps / answers per CPU-second in thousands / NOERROR % / p50 / p99 ms."
    echo
    echo "| shape | resolver | qps | k/CPU-s | NOERROR % | p50 ms | p99 ms |"
    echo "|---|---|---|---|---|---|---|"
    for s in $SHAPES; do
        for res in altroot unbound knot; do
            R=${ROWS[$res,$s]} L=${LAT[$res,$s]}
            echo "| $s | $res | $(col "$R" 1) | $(awk -v v="$(col "$R" 2)" 'BEGIN { printf "%.1f", v / 1000 }') | $(col "$R" 3) | $(col "$L" 1) | $(col "$L" 2) |"
        done
    done
    echo
    for s in $SHAPES; do
        echo "- $s: altroot / Unbound qps $(ratio "$(col "${ROWS[altroot,$s]}" 1)" "$(col "${ROWS[unbound,$s]}" 1)"), per CPU-second $(ratio "$(col "${ROWS[altroot,$s]}" 2)" "$(col "${ROWS[unbound,$s]}" 2)"); p99 altroot / Unbound $(ratio "$(col "${LAT[altroot,$s]}" 2)" "$(col "${LAT[unbound,$s]}" 2)")"
    done
} | tee -a bench/results.md
