# Shared by bench/run.sh and bench/cold.sh (sourced after they set LOAD_CPU, SECS,
# TCK, LIGHT_SECS and LIGHT_QPS): the Debian packages the benches need, and
# dnsperf runs measured in answers per second of the resolver's own CPU time.

need() { command -v "$1" >/dev/null 2>&1; }
if ! need dnsperf || ! need unbound || ! need nsd || ! need kresd || ! need dig; then
    echo "installing dnsperf, unbound, nsd, knot-resolver, dig (Debian packages)" >&2
    apt-get update -qq && apt-get install -y -qq dnsperf unbound nsd knot-resolver bind9-dnsutils >/dev/null
fi
# The packaged services are not wanted; only our own instances on loopback.
systemctl stop unbound nsd kresd@1 2>/dev/null || true

# CPU ticks (user + system) of a process, or the sum over "pid,pid,...".
cpu() { local p t=0; for p in ${1//,/ }; do t=$(( t + $(awk '{ print $14 + $15 }' "/proc/$p/stat") )); done; echo $t; }
# One dnsperf run against a resolver: "qps answers-per-CPU-second noerror%"
# (pid may be "pid,pid,..." for a resolver of several processes; dnsperf sends
# from DNSPERF_THREADS threads, one unless set).
measure() { # pid port file [extra dnsperf args]
    local pid=$1 port=$2 file=$3; shift 3
    local c0 c1 out
    c0=$(cpu "$pid")
    out=$(taskset -c $LOAD_CPU dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$SECS" -c 4 -T "${DNSPERF_THREADS:-1}" -q 200 "$@" 2>&1)
    c1=$(cpu "$pid")
    echo "$out" | awk -v c0="$c0" -v c1="$c1" -v tck="$TCK" '
        /Queries completed/ { done = $3 }
        /Queries per second/ { qps = $4 }
        /Response codes/ { for (i = 1; i <= NF; i++) if ($i == "NOERROR") ok = $(i + 1) }
        END { cpu = (c1 - c0) / tck; if (cpu <= 0) cpu = 0.01;
              printf "%d %d %.1f\n", qps, done / cpu, (done ? 100 * ok / done : 0) }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# Light fixed-rate latency: "p50 p99" in ms (the callers take the median over rounds:
# one run's p99 is a handful of samples, and this machine's noise moves it by 2x).
latency_once() { # port file
    taskset -c $LOAD_CPU dnsperf -s 127.0.0.1 -p "$1" -d "$2" -l "$LIGHT_SECS" -Q "$LIGHT_QPS" -v 2>/dev/null \
        | awk '/^> / { print $NF * 1000 }' | sort -n \
        | awk '{ v[NR] = $1 } END { if (NR) printf "%.3f %.3f\n", v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1]; else print "- -" }'
}
