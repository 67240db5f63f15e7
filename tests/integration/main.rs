//! Integration tests: a real altroot on loopback in front of fake DNS hierarchies.
//! One test binary (fast to link); each module covers one part of the contract.

mod harness; // altroot on port 0, standard worlds, raw DNS client
mod system; // Debian packages on demand, network namespaces, daemons, HTTP
mod tlskit; // test certificates (rcgen), tools installed on demand, DoT clients, a recording TLS server, Unbound
mod world; // fake authoritative and recursive servers with misbehaviours
mod worlds; // small root → com/net/org worlds and shared assertions for the tests below

mod abuse; // serve-stale (issue 7 §8), rate limiting, minimal ANY, transfers refused, UPDATE NOTIMP
mod acceptance; // which replies are believed (issue 7 §5): ID, question, class, source, AA, other roots' TLDs
mod address_policy; // upstream address policy (issue 7 §4, behaviour 9): denied addresses, localhost names, ourselves
mod browser; // the status page in headless Chromium over WebDriver (issue 9 §4)
mod budgets; // [limits] (issue 7 §2): NXNS, glueless lookups, NS per zone, queries, referrals, depth, chains
mod chapter; // the chapter "What the experiment shows" checked against `collisions` (issue 20)
mod check; // `altroot check`: one fixture per rule, golden output
mod cli; // the command line as a new user meets it (issue 14): no config, counts, spellings
mod collisions; // policy first / interrupt / pin (§4.8)
mod compare; // `altroot compare` and `altroot collisions`, golden output
mod compare_resolvers; // compare --resolver (issue 17 §3): Unbound (plain, DoT, DoH) iterating the fake ICANN world and dnsmasq as columns, in a namespace
mod concurrency; // bounded work (issue 7 §3): the flood, max-resolutions, per client, TCP, cancellation
mod crossroot; // CNAME chains across roots, delegations out of and back into our zones
mod demo; // the shipped config/ and zones/
mod dnssec_relay; // RRSIGs and proofs relayed to DO clients, from the network and the cache (issue 15)
mod dnssec_show; // the DNSSEC side made visible (issue 15 §4): two signed roots in compare, collisions, metrics, status
mod dnssec_validate; // validation end to end: NSD serving independently signed fixtures, AD, bogus with EDE, CD, insecure, NTA (issue 15)
mod dnssec_zones; // pre-signed zones served (issue 15 §3a): RRSIGs, NSEC/NSEC3 proofs, DS at cuts, DO, TC
mod docs; // the links of README.md and docs/*.md resolve to files and headings (issue 18 §3)
mod doq; // the DoQ listener (issue 17 §5): hickory's QUIC client, dnspython/aioquic, allow list, log, metrics, AXFR, malformed streams, bounds
mod edges; // adversarial edits, check, compare and CLI cases
mod edits; // edits never lost, never missed (issue 14 §4): refused reloads, folders moved or replaced, the periodic check
mod encrypted_listeners; // DoT and DoH listeners (issue 10): kdig, dig, curl; allow list; slow-loris; cert reload; check
mod encrypted_upstreams; // tls:// and https:// forward upstreams (issue 10): Unbound over DoT and DoH; reuse; rejected certificates
mod failclosed; // routing fails closed (issue 7 §6); collision checks once, retried, never remembered as "no"
mod faults; // faulty upstreams (issue 7 §7): alone → SERVFAIL in time, beside a good one → its answer
mod first_come; // policy "first-come" (issue 20): history, since, serial dates, ties, unknowns, pins, reloads
mod frontend; // transports, EDNS and TC, allow list, malformed input, forward roots
mod fuzz_regressions; // minimised fuzz findings and the fuzz seeds, through the fuzz harnesses (fuzz/harness/)
mod fuzz_upstream; // the upstream fuzz target's seeds and checks (fuzz/harness/upstream.rs), issue 14
mod handshake; // a real Handshake root (issue 17): hsd from npm on regtest, names registered through its RPC, NSD, root-port, compare, collisions, its DNSKEY
mod iterate; // iteration through the fake ICANN world: referrals, glue, caching, failures
mod local; // answers from in-process zones (DESIGN §4.3)
mod manual; // man pages and shell completions made from the CLI, as shipped in docs/ (issue 18 §2)
mod observe; // metrics, the status API, --version/--help (issue 9 §3, §4, §6)
mod opennic; // OpenNIC as a root of its own (issue 17 §2): a fake OpenNIC world, the bundled list, the shipped example
mod package; // the Debian package: config/deb/ derived from config/, built, lintian, installed, removed, purged (issue 18 §1)
mod panics; // no packet stops a listener (issue 14 §3): names around 255 bytes on every socket, panics caught and counted
mod process; // the binary: signals, logs, check exit codes
mod querylog; // the JSON-lines query log: keys, client setting, rotation, SIGUSR1 (issue 9 §5)
mod ready; // ready answers (issue 8): patched per client (ID, RD, case, EDNS, TC, DO, TTLs), the allow list first
mod recipes; // `config recipes` with real clients: getent in a namespace, Unbound, dnsmasq (issue 9 §2)
mod reload;
mod replay; // scenarios from tests/scenarios/ replayed through the engine without sockets (issue 14)
mod report; // compare --report (issue 17 §6): the HTML report's structure, numbers, self-containment // live reload: editor save patterns, atomic swaps, broken edits
mod resolution; // issue 7's resolution behaviours 1–8: NS sets, glue, cycles, DNAME, TTLs, AAAA lameness, no speculation
mod resolved; // systemd-resolved in front: per-TLD and global routing (issue 9 §2)
mod rootcopy; // a hints root's local copy of its root zone (RFC 8806, issue 16 §1): ZONEMD and DNSSEC checked, TLD answers offline, refused copies fall back
mod scaleout; // dnsdist in front of two altroot instances fed by one primary (issue 16 §4): answers, edits, a killed instance
mod scenarios; // adversarial resolver scenarios
mod secondary; // zone transfer in (issue 16 §1, §3): NSD and altroot primaries, NOTIFY, expire, restart from disk, a root copy by transfer
mod signing; // altroot signs its own alternate root (issue 15 §3b): keygen, ds, ldns-verify-zone, dnssec-verify, Unbound validating with the printed DS
mod special; // special-use names never leave the machine (§4.1)
mod systemd;
mod transfer; // zone transfers out (issue 16 §2): AXFR split, IXFR, [transfer] allow, NSD and Knot DNS as secondaries // sd_notify readiness, reload and stop; the unit passes systemd-analyze verify (issue 9 §1)
mod xfrin; // zone transfer in (issue 16 §3): altroot::xfrin against altroot, NSD and Knot DNS as primaries, and scripted misbehaving ones
