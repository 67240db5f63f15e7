#!/usr/bin/env python3
"""Writes fuzz/seeds/zone/: byte 0 the selector (bits 0-1: as <tld>.zone, as
root.zone, as both, or beside a good root.zone; bits 2-4: the TLD, an index into
TLDS of fuzz/harness/zone.rs; bit 5: the special-use config; bit 6: a serials
file), then zone text: the shipped zones, the fixture zones of the request target,
the `check` fixtures, and a few more."""
import glob
import os

TLDS = ["fz", "geek", "biz", "test", "localhost", "alt", "sub.fz", "xn--bcher-kva"]
here = os.path.dirname(os.path.abspath(__file__))
top = os.path.dirname(os.path.dirname(here))
out = os.path.join(here, "zone")
os.makedirs(out, exist_ok=True)


def put(name, sel, text):
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([sel]) + text)


files = sorted(glob.glob(os.path.join(top, "zones", "*.zone")))
files += sorted(glob.glob(os.path.join(top, "fuzz", "fixture", "zones", "*.zone")))
files += sorted(glob.glob(os.path.join(top, "tests", "fixtures", "check", "*", "zones", "*.zone")))
for path in files:
    origin = os.path.basename(path)[: -len(".zone")].lower()
    rel = os.path.relpath(path, top).replace("/", "_")
    text = open(path, "rb").read()
    if origin == "root":
        put(rel, 1, text)
    elif origin in TLDS:
        sel = TLDS.index(origin) << 2
        if origin == "test":
            sel |= 0x20
        put(rel, sel, text)

# Signed zones (tests/fixtures/dnssec-zones, ldns-signzone and dnssec-signzone
# output) renamed to fz.: the signatures no longer verify, which serving never
# checks; their RRSIG, NSEC and NSEC3 records are what the seeds are for.
for name, origin in [("sec", b"sec."), ("opt", b"opt.")]:
    path = os.path.join(top, "tests", "fixtures", "dnssec-zones", "zones", name + ".zone")
    text = open(path, "rb").read().replace(origin, b"fz.")
    put("x-signed-" + name, 0, text)

SOA = b"@ IN SOA a.root-servers.alt. hostmaster.root-servers.alt. ( 5 7200 900 1209600 300 )\n@ IN NS ns\nns IN A 192.0.2.53\n"
put("x-include", 0, b"$TTL 300\n" + SOA + b"$INCLUDE inc.txt\n$INCLUDE inc.txt sub\n")
put("x-both", 2 | (0 << 2), b"$ORIGIN fz.\n" + SOA)
put("x-beside-root", 3 | (1 << 2), SOA)
put("x-serial-down", 0x40, SOA)
put("x-dname-apex", 5 << 2, b"$TTL 60\n" + SOA + b"@ IN DNAME geek.\n")
put("x-parens-txt", 0, SOA + b'www IN TXT ( "a" ; c\n "b" )\nwww IN MX ( 10\n mail )\n')
put("x-idn", 7 << 2, b"\xef\xbb\xbf" + SOA.replace(b"\n", b"\r\n") + "bücher IN A 192.0.2.1\r\n".encode())

# Every record type hickory's zone parser reads, after the valid apex (bit 7).
RICH = b"""www A 192.0.2.1
www AAAA 2001:db8::1
an ANAME www
caa CAA 0 issue "letsencrypt.org"
caa CAA 128 tbs "x"
caa CAA 0 iodef "mailto:a@b.c"
cert CERT 1 2 3 AAAA
hi HINFO "x86" "linux"
na NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp
pgp OPENPGPKEY AAAA
sm SMIMEA 3 1 1 abcdef
ss SSHFP 1 1 abcdef0123
tl TLSA 3 1 1 abcdef
sv SVCB 1 . alpn=h2,h3 port=443
ht HTTPS 1 . ipv4hint=192.0.2.1 ech=AAAA
cs CSYNC 66 3 A NS AAAA
p PTR www
s SRV 1 2 3 www
t TXT "" "a" ( "b"
  "c" )
mx MX 10 www
*.w CNAME www
d DNAME www
sub NS ns.sub
ns.sub A 192.0.2.9
"""
put("x-rich-apex", 0x80, RICH)
put("x-rich-apex-geek", 0x80 | (1 << 2), b"$ORIGIN geek.\n" + RICH)
put("x-rich-full", 0, b"$TTL 300\n" + SOA + RICH)
