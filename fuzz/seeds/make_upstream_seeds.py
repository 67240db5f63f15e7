#!/usr/bin/env python3
"""Writes fuzz/seeds/upstream/: one file per scripted hierarchy, as the `upstream`
target reads it (fuzz/harness/upstream.rs): chunks [len u16][mode u8][bytes], each
the reply to the next query the resolver sends. Mode bit 0 clear: flags, counts and
section bytes (the harness adds ID and question); set: a whole message."""
import os
import struct

T = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "TXT": 16, "AAAA": 28, "DNAME": 39}
AA, TC, RA = 0x0400, 0x0200, 0x0080
NOERROR, NXDOMAIN, SERVFAIL, REFUSED, FORMERR = 0, 3, 2, 5, 1


def name(n):
    if n == ".":
        return b"\0"
    out = b""
    for label in n.strip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(owner, rtype, ttl, rdata):
    return name(owner) + struct.pack(">HHIH", T[rtype], 1, ttl, len(rdata)) + rdata


def a(owner, ip, ttl=3600):
    return rr(owner, "A", ttl, bytes(int(x) for x in ip.split(".")))


def aaaa(owner, ttl=3600):
    return rr(owner, "AAAA", ttl, bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1]))


def ns(owner, target, ttl=172800):
    return rr(owner, "NS", ttl, name(target))


def cname(owner, target, ttl=300):
    return rr(owner, "CNAME", ttl, name(target))


def dname(owner, target, ttl=300):
    return rr(owner, "DNAME", ttl, name(target))


def txt(owner, text, ttl=300):
    b = text.encode()
    return rr(owner, "TXT", ttl, bytes([len(b)]) + b)


def soa(owner, minimum=300, ttl=3600):
    rd = name("ns." + owner.strip(".") + ".") + name("h.example.") + struct.pack(">IIIII", 1, 1800, 900, 604800, minimum)
    return rr(owner, "SOA", ttl, rd)


def reply(flags=0, rcode=NOERROR, an=(), ns_=(), ar=(), mode=0):
    body = struct.pack(">HHHH", flags | rcode | 0x8000, len(an), len(ns_), len(ar))
    body += b"".join(an) + b"".join(ns_) + b"".join(ar)
    return struct.pack(">HB", len(body), mode) + body


def raw(msg, mode=1):
    return struct.pack(">HB", len(msg), mode) + msg


PRIME = reply(AA, an=[ns(".", "a.root.test.", 518400)], ar=[a("a.root.test.", "192.0.2.1")])
TO_COM = reply(ns_=[ns("com.", "ns.nic.com.")], ar=[a("ns.nic.com.", "192.0.2.2")])
TO_NET = reply(ns_=[ns("net.", "ns.nic.net.")], ar=[a("ns.nic.net.", "192.0.2.4")])
TO_EXAMPLE = reply(ns_=[ns("example.com.", "ns1.example.com.")], ar=[a("ns1.example.com.", "192.0.2.10")])
TO_EXAMPLE_NET = reply(ns_=[ns("example.net.", "ns1.example.net.")], ar=[a("ns1.example.net.", "192.0.2.20")])
EX_NS = reply(AA, an=[ns("example.com.", "ns1.example.com.", 3600)], ar=[a("ns1.example.com.", "192.0.2.10")])
EX_NET_NS = reply(AA, an=[ns("example.net.", "ns1.example.net.", 3600)])
WWW = reply(AA, an=[a("www.example.com.", "198.51.100.1", 300)])
WWW_TXT = reply(AA, an=[txt("www.example.com.", "hello")])
NODATA = reply(AA, ns_=[soa("example.net.")])
NX = reply(AA, NXDOMAIN, ns_=[soa("example.net.")])

CASES = {
    # Everything answered authoritatively, qname minimisation's way.
    "plain": [PRIME, TO_COM, TO_EXAMPLE, WWW, EX_NS, TO_NET, TO_EXAMPLE_NET, NODATA, NODATA, WWW_TXT],
    # The same without AA anywhere (load balancers).
    "non-aa": [PRIME, TO_COM, TO_EXAMPLE,
               reply(an=[a("www.example.com.", "198.51.100.1")]),
               reply(an=[ns("example.com.", "ns1.example.com.")]),
               TO_NET, TO_EXAMPLE_NET, reply(ns_=[soa("example.net.")]), reply(NXDOMAIN, ns_=[soa("example.net.")])],
    # A recursive server answering with RA.
    "recursive": [PRIME, TO_COM, TO_EXAMPLE, reply(RA, an=[a("www.example.com.", "203.0.113.66")]), EX_NS],
    # CNAME chains, to another zone and back, and a DNAME.
    "chain": [PRIME, TO_COM, TO_EXAMPLE, reply(AA, an=[cname("www.example.com.", "www.example.net.")]),
              TO_NET, TO_EXAMPLE_NET, reply(AA, an=[cname("www.example.net.", "x.example.com.")]),
              reply(AA, an=[a("x.example.com.", "198.51.100.9")])],
    "dname": [PRIME, TO_COM, TO_EXAMPLE,
              reply(AA, an=[dname("example.com.", "example.net."), cname("www.example.com.", "www.example.net.")]),
              TO_NET, TO_EXAMPLE_NET, reply(AA, an=[a("www.example.net.", "198.51.100.8")])],
    "dname-under-itself": [PRIME, TO_COM, TO_EXAMPLE,
                           reply(AA, an=[dname("example.com.", "sub.example.com."),
                                         cname("www.example.com.", "www.sub.example.com.")])],
    # Negative answers.
    "nxdomain": [PRIME, TO_COM, reply(AA, NXDOMAIN, ns_=[soa("com.")]), EX_NS, TO_NET, NX, NX],
    # Lame and broken servers: REFUSED, SERVFAIL, upward referral, FORMERR without EDNS.
    "lame": [PRIME, TO_COM, reply(rcode=REFUSED), reply(rcode=SERVFAIL), reply(ns_=[ns(".", "a.root.test.")]),
             reply(rcode=FORMERR), TO_EXAMPLE, WWW],
    # Truncation: TC over UDP, the answer over TCP.
    "tc": [PRIME, TO_COM, TO_EXAMPLE, reply(AA | TC), WWW],
    # Poison in every section.
    "poison": [PRIME, TO_COM, TO_EXAMPLE,
               reply(AA, an=[a("www.example.com.", "198.51.100.1"), a("www.example.org.", "6.6.6.6")],
                     ns_=[ns("org.", "ns.evil.")], ar=[a("ns.evil.", "6.6.6.6")])],
    # A spoofed datagram first, then slow replies.
    "spoof-slow": [PRIME,
                   reply(ns_=[ns("com.", "ns.nic.com.")], ar=[a("ns.nic.com.", "192.0.2.2")], mode=8),
                   reply(ns_=[ns("example.com.", "ns1.example.com.")], ar=[a("ns1.example.com.", "192.0.2.10")], mode=4),
                   reply(AA, an=[a("www.example.com.", "198.51.100.1")], mode=6)],
    # Whole messages, the fuzzer's own question included.
    "raw": [raw(b"\0\0\x84\0\0\x01\0\x01\0\0\0\0" + name(".") + struct.pack(">HH", 2, 1) + ns(".", "a.root.test.")),
            raw(b"\0\0\x80\0\0\x01\0\0\0\0\0\0" + name("com.") + struct.pack(">HH", 2, 1))],
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "upstream")
    os.makedirs(out, exist_ok=True)
    for key, chunks in CASES.items():
        with open(os.path.join(out, key), "wb") as f:
            f.write(b"".join(chunks))


if __name__ == "__main__":
    main()
