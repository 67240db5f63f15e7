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

SOA = b"@ IN SOA a.root-servers.alt. hostmaster.root-servers.alt. ( 5 7200 900 1209600 300 )\n@ IN NS ns\nns IN A 192.0.2.53\n"
put("x-include", 0, b"$TTL 300\n" + SOA + b"$INCLUDE inc.txt\n$INCLUDE inc.txt sub\n")
put("x-both", 2 | (0 << 2), b"$ORIGIN fz.\n" + SOA)
put("x-beside-root", 3 | (1 << 2), SOA)
put("x-serial-down", 0x40, SOA)
put("x-dname-apex", 5 << 2, b"$TTL 60\n" + SOA + b"@ IN DNAME geek.\n")
put("x-parens-txt", 0, SOA + b'www IN TXT ( "a" ; c\n "b" )\nwww IN MX ( 10\n mail )\n')
put("x-idn", 7 << 2, b"\xef\xbb\xbf" + SOA.replace(b"\n", b"\r\n") + "bücher IN A 192.0.2.1\r\n".encode())
