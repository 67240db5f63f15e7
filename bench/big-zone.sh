#!/usr/bin/env bash
# A TLD-like zone `big.` of about N records on stdout, for the zone benches
# (zone-load.sh, sign.sh, axfr.sh): 40 % delegations with out-of-zone NS, 20 % with
# glue, then A, AAAA, MX and TXT records.
#
#   bench/big-zone.sh 1000000 > zones/big.zone
set -euo pipefail
awk -v n="${1:?records}" 'BEGIN {
    print "$TTL 3600"
    print "@ SOA ns.big. hostmaster.big. 1 3600 600 86400 300"
    print "@ NS ns.big."
    print "ns A 192.0.2.53"
    i = 0; made = 2
    while (made < n) {
        k = i % 20
        if (k < 4)       { printf "d%d NS ns1.host%d.net.\nd%d NS ns2.host%d.net.\n", i, i % 977, i, i % 977; made += 2 }
        else if (k < 6)  { printf "g%d NS ns.g%d\nns.g%d A 10.%d.%d.%d\n", i, i, i, (i/65536)%256, (i/256)%256, i%256; made += 2 }
        else if (k < 10) { printf "h%d A 10.%d.%d.%d\n", i, (i/65536)%256, (i/256)%256, i%256; made += 1 }
        else if (k < 12) { printf "h%d AAAA 2001:db8::%x:%x\n", i, int(i/65536), i%65536; made += 1 }
        else if (k < 13) { printf "m%d MX 10 mail.m%d.example.\n", i, i; made += 1 }
        else if (k < 14) { printf "t%d TXT \"v=spf1 ip4:192.0.2.%d -all\"\n", i, i%256; made += 1 }
        else             { printf "h%d A 10.%d.%d.%d\n", i, (i/65536)%256, (i/256)%256, i%256; made += 1 }
        i++
    }
}'
