#!/usr/bin/env python3
"""The flood (issue 7 §3), measured: 10,000 distinct uncached names under a silent
server, sent from one address (100 every 20 ms), while another client keeps asking
a local name and a cached one. Prints a Markdown table: what the flood got (busy
answers), the other client's latencies during it, the silent server's questions,
altroot's RSS before and after, and how long a new question takes afterwards.

The behaviour (the caps hold, every other-client question is answered right, one
question per resolution) is asserted by `concurrency::flood_…`; the times and the
memory, which depend on the machine, are measured here.

    bench/flood.py ALTROOT_BINARY

Everything is on loopback: a fake hierarchy on 127.0.0.42-45 (root, com, net,
good.net; Python, stdlib only) and the silent server on 127.0.0.40, all on PORT.
"""

import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

PORT = int(os.environ.get("PORT", "5420"))
LISTEN = int(os.environ.get("LISTEN", "5421"))
NAMES = int(os.environ.get("NAMES", "10000"))
LOG = ""

A, NS, SOA, AAAA = 1, 2, 6, 28


def wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(msg, i):
    labels = []
    while msg[i]:
        n = msg[i]
        labels.append(msg[i + 1 : i + 1 + n].decode().lower())
        i += 1 + n
    return ".".join(labels) + ".", i + 1


def rr(name, rtype, ttl, rdata):
    return wire(name) + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def soa(zone):
    return wire("ns." + zone if zone != "." else "a.root.") + wire("h.invalid.") + struct.pack(">IIIII", 1, 3600, 600, 86400, 300)


class Zone:
    """One zone on one address: its data, and delegations with glue."""

    def __init__(self, origin, data, cuts):
        self.origin = origin
        self.data = data  # (name, type) -> [rdata]
        self.cuts = cuts  # child -> [(ns name, ip)]

    def under(self, name, parent):
        return parent == "." or name == parent or name.endswith("." + parent)

    def answer(self, q):
        ident, flags = struct.unpack(">HH", q[:4])
        qname, i = read_name(q, 12)
        qtype = struct.unpack(">H", q[i : i + 2])[0]
        question = q[12 : i + 4]
        rd = flags & 0x0100
        ans, auth, add, aa, rcode = [], [], [], 0x0400, 0
        cut = next((c for c in self.cuts if self.under(qname, c)), None)
        if not self.under(qname, self.origin):
            aa, rcode = 0, 5
        elif cut is not None:
            aa = 0
            for ns, ip in self.cuts[cut]:
                auth.append(rr(cut, NS, 86400, wire(ns)))
                add.append(rr(ns, A, 86400, socket.inet_aton(ip)))
        elif (qname, qtype) in self.data:
            ans = [rr(qname, qtype, 300, d) for d in self.data[(qname, qtype)]]
        else:
            if not any(n == qname for n, _ in self.data):
                rcode = 3
            auth.append(rr(self.origin, SOA, 300, soa(self.origin)))
        head = struct.pack(">HHHHHH", ident, 0x8000 | aa | rd | rcode, 1, len(ans), len(auth), len(add))
        return head + question + b"".join(ans + auth + add)


def serve(ip, zone, stop):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, PORT))
    s.settimeout(0.2)
    while not stop.is_set():
        try:
            q, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        try:
            s.sendto(zone.answer(q), peer)
        except Exception:
            pass


def silent(stop, seen):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.40", PORT))
    s.settimeout(0.2)
    while not stop.is_set():
        try:
            s.recvfrom(4096)
            seen[0] += 1
        except socket.timeout:
            continue


def query(name, qtype=A):
    ident = int.from_bytes(os.urandom(2), "big")
    opt = b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
    return struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 1) + wire(name) + struct.pack(">HH", qtype, 1) + opt


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def ask(sock, name, want, qtype=A):
    """One question; its time in ms, or None when unanswered or wrong."""
    t = time.monotonic()
    sock.send(query(name, qtype))
    try:
        r = sock.recv(4096)
    except (socket.timeout, ConnectionRefusedError):
        return None
    took = (time.monotonic() - t) * 1000
    return took if want in r else None


def main():
    binary = sys.argv[1]
    stop = threading.Event()
    seen = [0]
    zones = {
        "127.0.0.42": Zone(".", {(".", NS): [wire("a.root.")], ("a.root.", A): [socket.inet_aton("127.0.0.42")]},
                           {"com.": [("ns.com.", "127.0.0.43")], "net.": [("ns.net.", "127.0.0.44")]}),
        "127.0.0.43": Zone("com.", {("com.", NS): [wire("ns.com.")], ("ns.com.", A): [socket.inet_aton("127.0.0.43")]},
                           {"silent.com.": [("ns.silent.com.", "127.0.0.40")]}),
        "127.0.0.44": Zone("net.", {("net.", NS): [wire("ns.net.")], ("ns.net.", A): [socket.inet_aton("127.0.0.44")]},
                           {"good.net.": [("ns.good.net.", "127.0.0.45")]}),
        "127.0.0.45": Zone("good.net.", {("good.net.", NS): [wire("ns.good.net.")],
                                         ("ns.good.net.", A): [socket.inet_aton("127.0.0.45")],
                                         ("www.good.net.", A): [socket.inet_aton("203.0.113.2")],
                                         ("new.good.net.", A): [socket.inet_aton("203.0.113.3")]}, {}),
    }
    threads = [threading.Thread(target=serve, args=(ip, z, stop), daemon=True) for ip, z in zones.items()]
    threads.append(threading.Thread(target=silent, args=(stop, seen), daemon=True))
    for t in threads:
        t.start()

    work = tempfile.mkdtemp()
    os.makedirs(f"{work}/zones")
    with open(f"{work}/zones/geek.zone", "w") as f:
        f.write("$TTL 300\n@ SOA ns.geek. h.geek. 1 3600 600 86400 60\n@ NS ns.geek.\nns A 127.0.0.1\nwww A 192.0.2.1\n")
    with open(f"{work}/hints.txt", "w") as f:
        f.write(". 3600000 NS a.root.\na.root. 3600000 A 127.0.0.42\n")
    with open(f"{work}/altroot.toml", "w") as f:
        f.write(f"""[server]
listen = ["127.0.0.1:{LISTEN}"]
query-timeout = "3s"
[[root]]
name = "alt"
zones = "zones"
[[root]]
name = "icann"
hints = "hints.txt"
port = {PORT}
allow-loopback-upstream = true
""")
    global LOG
    LOG = f"{work}/log"
    log = open(LOG, "w")
    env = dict(os.environ, RUST_LOG="warn")
    proc = subprocess.Popen([binary, "serve", "--config", f"{work}/altroot.toml"], stderr=log, env=env)
    try:
        run(proc, seen)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        stop.set()


def run(proc, seen):
    good = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    good.bind(("127.0.0.3", 0))
    good.connect(("127.0.0.1", LISTEN))
    good.settimeout(2)
    deadline = time.monotonic() + 10
    while ask(good, "www.good.net.", socket.inet_aton("203.0.113.2")) is None:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("altroot never answered www.good.net; its log: " + LOG)
        time.sleep(0.1)
    rss_before = rss_kib(proc.pid)

    flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flood.bind(("127.0.0.2", 0))
    flood.connect(("127.0.0.1", LISTEN))
    flood.settimeout(1)
    got = {"replies": 0, "busy": 0}
    sent = threading.Event()

    def reader():
        while True:
            try:
                r = flood.recv(4096)
            except socket.timeout:
                if sent.is_set():
                    return
                continue
            got["replies"] += 1
            if b"busy:" in r:
                got["busy"] += 1

    rt = threading.Thread(target=reader)
    rt.start()

    def sender():
        for i in range(NAMES):
            flood.send(query(f"f{i}.silent.com."))
            if i % 100 == 99:
                time.sleep(0.02)
        sent.set()

    started = time.monotonic()
    st = threading.Thread(target=sender)
    st.start()
    times, lost = [], 0
    while rt.is_alive():
        for name, want in (("www.geek.", "192.0.2.1"), ("www.good.net.", "203.0.113.2")):
            took = ask(good, name, socket.inet_aton(want))
            if took is None:
                lost += 1
            else:
                times.append(took)
        time.sleep(0.005)
    st.join()
    rt.join()
    flood_s = time.monotonic() - started
    rss_after = rss_kib(proc.pid)
    time.sleep(3)  # the last resolutions give up (one 750 ms try each)
    after = ask(good, "new.good.net.", socket.inet_aton("203.0.113.3"))

    times.sort()
    p = lambda q: times[min(len(times) - 1, int(len(times) * q))]
    print(f"| flood: {NAMES} names under a silent server from one address, 100 every 20 ms | {flood_s:.1f} s; {got['replies']} replies, {got['busy']} busy at once |")
    print(f"| silent server asked | {seen[0]} |")
    print(f"| the other client during the flood: local and cached names | {len(times)} answered, {lost} lost; p50 {statistics.median(times):.2f} ms, p99 {p(0.99):.2f} ms, max {times[-1]:.2f} ms |")
    print(f"| altroot RSS before → after | {rss_before // 1024} → {rss_after // 1024} MiB (+{(rss_after - rss_before) / 1024:.1f} MiB) |")
    print(f"| afterwards, a new name (resolved through the hierarchy) | {'%.1f ms' % after if after is not None else 'no answer'} |")


if __name__ == "__main__":
    main()
