#!/usr/bin/env python3
"""Writes fuzz/seeds/request/: one file per query, byte 0 the selector
(bit 0: TCP; bits 1-3: client), then a DNS query for a name of the fixture zones;
and (issue 14) queries whose question name has every wire length from 1 to 258
bytes (root label included), its labels cut in several ways."""
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


# Names of every wire length, root label included (issue 14, REVIEW finding 1: a
# 256-byte name overran the hot path's key and stopped a UDP socket). Each length
# is cut one way, in turn (63-byte labels first, the short label first, labels of
# about equal length, one-byte labels); lengths near the limit every way. The
# names end in geek. where they can, so that the shorter ones are answered from
# the fixture zone and made ready; a few are bare labels (the finding's own
# packet: 63/63/63/62).
def cut(room, how):
    """Label lengths whose labels take `room` wire bytes (1 + length each)."""
    greedy = []
    left = room
    while left > 0:
        n = left - 1 if left <= 64 else (63 if left - 64 >= 2 else 62)
        greedy.append(n)
        left -= n + 1
    if how == "greedy":
        return greedy
    if how == "short-first":
        return greedy[::-1]
    if how == "even":
        k = -(-room // 64)
        b = room - k
        return [b // k + (1 if i < b % k else 0) for i in range(k)]
    if how == "small":
        return [1] * (room // 2) if room % 2 == 0 else [2] + [1] * ((room - 3) // 2)
    raise ValueError(how)


def wire_name(total, how, suffix=b"\x04geek\x00"):
    if total < len(suffix) + 2:
        suffix = b"\x00"
    room = total - len(suffix)
    out = b""
    for i, n in enumerate(cut(room, how) if room else []):
        out += bytes([n]) + bytes((b"aB"[(i + j) % 2]) for j in range(n))
    out += suffix
    assert len(out) == total, (total, how, len(out))
    return out


def raw_query(qid, wname, edns=None, dnssec=False):
    ar = 1 if edns is not None else 0
    m = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, ar) + wname + struct.pack(">HH", 1, 1)
    if edns is not None:
        m += b"\0" + struct.pack(">HHBBHH", 41, edns, 0, 0, 0x8000 if dnssec else 0, 0)
    return m


HOWS = ["greedy", "short-first", "even", "small"]
SHAPES = [(0, None, False), (1, 1232, False), (0, 4096, True), (2 * 5 + 1, None, False)]
for total in range(1, 259):
    if total == 2:
        continue  # a label takes two bytes at least
    hows = HOWS if total >= 245 else [HOWS[total % 4]]
    for k, how in enumerate(hows):
        sel, edns, dnssec = SHAPES[(total + k) % len(SHAPES)]
        with open(os.path.join(here, f"n{total:03}-{how}"), "wb") as f:
            f.write(bytes([sel]) + raw_query(0x2000 + total, wire_name(total, how), edns, dnssec))
# The finding's packet as sent: 272 bytes, no EDNS, over UDP and over TCP.
bare = b"".join(bytes([n]) + b"x" * n for n in (63, 63, 63, 62)) + b"\0"
assert len(raw_query(0x0272, bare)) == 272
for sel in (0, 1):
    with open(os.path.join(here, f"n256-finding-{'tcp' if sel else 'udp'}"), "wb") as f:
        f.write(bytes([sel]) + raw_query(0x0272, bare))
