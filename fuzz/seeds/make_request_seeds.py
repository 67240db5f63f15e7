#!/usr/bin/env python3
"""Writes fuzz/seeds/request/: one file per query, byte 0 the selector
(bit 0: TCP; bits 1-3: client), then a DNS query for a name of the fixture zones."""
import os
import struct

T = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16,
     "AAAA": 28, "SRV": 33, "DNAME": 39, "OPT": 41, "DS": 43, "AXFR": 252, "ANY": 255}


def name(n):
    out = b""
    for label in n.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(qid, qname, qtype, edns=None, flags=0x0100, opcode=0, qclass=1, version=0):
    flags |= opcode << 11
    ar = 1 if edns is not None else 0
    m = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, ar)
    m += name(qname) + struct.pack(">HH", T.get(qtype, qtype) if isinstance(qtype, str) else qtype, qclass)
    if edns is not None:
        m += b"\0" + struct.pack(">HHBBHH", 41, edns, 0, version, 0, 0)
    return m


CASES = [
    ("www.geek", "A"), ("WwW.GeEk", "AAAA"), ("geek", "SOA"), ("geek", "NS"),
    ("geek", "MX"), ("geek", "TXT"), ("wiki.geek", "A"), ("iana.geek", "A"),
    ("pir.geek", "A"), ("loop1.geek", "A"), ("c1.geek", "A"),
    ("alice.users.geek", "TXT"), ("x.old.geek", "A"), ("www.far.geek", "A"),
    ("_sip._udp.geek", "SRV"), ("ent.sub.geek", "A"), ("big.geek", "TXT"),
    ("x.lab.geek", "A"), ("lab.geek", "DS"), ("x.nogl.geek", "A"),
    ("x.lh.geek", "A"), ("x.void.geek", "A"), ("www.pirate", "A"),
    ("pirate", "NS"), ("www.biz", "A"), ("geek.biz", "AAAA"), ("lab.biz", "A"),
    ("www.web", "A"), ("x.users.web", "A"), ("www.test", "A"), ("localhost", "A"),
    ("x.localhost", "AAAA"), ("nosuch.geek", "A"), ("www.example.com", "A"),
    ("foo.invalid", "A"), (".", "NS"), (".", "SOA"), ("geek", "ANY"),
    ("geek", "AXFR"), ("www.geek", "DNAME"), ("old.geek", "DNAME"),
    ("1.2.0.192.in-addr.arpa", "PTR"),
]

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "request")
os.makedirs(here, exist_ok=True)
n = 0
VARIANTS = [(0, None), (1, 4096), (2 * 5, 1232)]  # UDP; TCP with EDNS; UDP from ::1
for i, (qn, qt) in enumerate(CASES):
    sel, edns = VARIANTS[i % 3]
    n += 1
    with open(os.path.join(here, f"{n:02}-{qn.strip('.') or 'root'}-{qt}"), "wb") as f:
        f.write(bytes([sel]) + query(0x1000 + n, qn, qt, edns))
# rejects: UPDATE, NOTIFY, BADVERS, class CH, no question, a response, a runt
extra = {
    "update": query(1, "geek", "SOA", opcode=5),
    "notify": query(2, "geek", "SOA", opcode=4),
    "badvers": query(3, "www.geek", "A", edns=1232, version=1),
    "chaos": query(4, "version.bind", "TXT", qclass=3),
    "noquestion": struct.pack(">HHHHHH", 5, 0x0100, 0, 0, 0, 0),
    "response": query(6, "www.geek", "A", flags=0x8100),
    "runt": b"\x00\x07\x01\x00",
    "tiny-edns": query(8, "big.geek", "TXT", edns=100),
}
for k, v in extra.items():
    with open(os.path.join(here, f"x-{k}"), "wb") as f:
        f.write(b"\0" + v)
