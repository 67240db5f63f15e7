//! Config: loading, defaults, validation messages.
use super::*;

pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("/nonexistent/altroot.toml")).map_err(|e| e.first().clone())
}

#[test]
fn unknown_key_names_key_and_line() {
    let e = parse("[server]\nlisten = [\"127.0.0.1:53\"]\nbogus = 1\n").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.to_string().contains("bogus"), "{e}");
    assert!(
        e.to_string()
            .starts_with("/nonexistent/altroot.toml:3: error:"),
        "{e}"
    );
}

#[test]
fn unknown_key_in_every_table_is_rejected() {
    for table in [
        "[server]",
        "[cache]",
        "[limits]",
        "[[root]]\nname = \"x\"\nhints = \"builtin\"",
        "[[root]]\nname = \"x\"\nhints = \"builtin\"\ntrust-anchors = []\nnegative-trust-anchors = []",
        "[collisions]",
        "[metrics]",
        "[log]",
        "[transfer]",
    ] {
        let text = format!("{table}\nnot-a-key = 1\n");
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("not-a-key"), "{table}: {e}");
    }
}

// `[transfer] allow`: networks, each bad one reported at its line; nobody by default.
#[test]
fn transfer_allow_and_secondaries() {
    assert!(parse("").unwrap().transfer.allow.is_empty());
    let c = parse("[transfer]\nallow = [\"127.0.0.1\", \"10.0.0.0/8\"]\n").unwrap();
    assert_eq!(c.transfer.allow.len(), 2);
    let e = parse("[transfer]\nallow = [\n  \"127.0.0.1\",\n  \"everyone\",\n]\n").unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.contains("\"everyone\" is not a network"), "{e}");
    let c = parse("[transfer]\nsecondaries = [\"127.0.0.1:5300\", \"192.0.2.1\"]\n").unwrap();
    let want: Vec<SocketAddr> = vec![
        "127.0.0.1:5300".parse().unwrap(),
        "192.0.2.1:53".parse().unwrap(),
    ];
    assert_eq!(c.transfer.secondaries, want);
    let e = parse("[transfer]\n\nsecondaries = [\"ns1.example\"]\n").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert!(
        e.message.contains("\"ns1.example\" is not an address"),
        "{e}"
    );
}

// `[transfer] keys`: hmac-sha256 by default, the secret base64; a bad
// algorithm, secret or a name defined twice is reported at its line; the secret
// never shows in the config's debug form.
#[test]
fn transfer_keys() {
    let k = |alg: &str, secret: &str| {
        format!("[transfer]\nkeys = [\n  {{ name = \"xfr\", {alg}secret = \"{secret}\" }},\n]\n")
    };
    let good = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let c = parse(&k("", good)).unwrap();
    assert_eq!(c.transfer.keys.len(), 1);
    assert_eq!(c.transfer.keys[0].name.to_string(), "xfr.");
    assert_eq!(
        c.transfer.keys[0].secret,
        b"0123456789abcdef0123456789abcdef"
    );
    assert!(!format!("{c:?}").contains("0123456789"));
    assert!(!c.transfer.require_tsig);
    for (alg, secret, what) in [
        ("algorithm = \"hmac-md5\", ", good, "is not \"hmac-sha256\""),
        ("", "not base64!", "is not base64"),
        ("", "c2hvcnQ=", "shorter than 16 bytes"),
    ] {
        let e = parse(&k(alg, secret)).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains(what), "{e}");
    }
    let twice = format!(
        "[transfer]\nkeys = [\n {{ name = \"a.\", secret = \"{good}\" }},\n {{ name = \"a\", secret = \"{good}\" }},\n]\n"
    );
    let e = parse(&twice).unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.contains("defined twice"), "{e}");
    let e =
        parse("[transfer]\nkeys = [{ name = \"a\", secret = \"x\", colour = 1 }]\n").unwrap_err();
    assert!(e.message.contains("colour"), "{e}");
}

#[test]
fn root_needs_exactly_one_source() {
    let e = parse("[[root]]\nname = \"a\"\nhints = \"builtin\"\nforward = [\"127.0.0.1\"]\n")
        .unwrap_err();
    assert!(e.message.contains("exactly one"), "{e}");
    assert_eq!(e.line, Some(2));
}

#[test]
fn duplicate_root_name() {
    let e = parse("[[root]]\nname = \"a\"\nhints = \"builtin\"\n[[root]]\nname = \"a\"\nhints = \"builtin\"\n")
        .unwrap_err();
    assert!(e.message.contains("used twice"), "{e}");
}

#[test]
fn bad_address_and_duration() {
    let e = parse("[server]\nlisten = [\"nope\"]\n").unwrap_err();
    assert_eq!(e.line, Some(2));
    let e = parse("[server]\nquery-timeout = \"soon\"\n").unwrap_err();
    assert!(e.message.contains("bad duration"), "{e}");
}

#[test]
fn defaults_and_forward() {
    let c = parse("[[root]]\nname = \"up\"\nforward = [\"127.0.0.9\", \"[::1]:5300\"]\ntlds = [\"Example.\"]\n")
        .unwrap();
    assert_eq!(c.server.query_timeout, defaults::QUERY_TIMEOUT);
    match &c.roots[0].source {
        RootSource::Forward {
            upstreams, tlds, ..
        } => {
            assert_eq!(upstreams[0].addr, "127.0.0.9:53".parse().unwrap());
            assert_eq!(upstreams[1].addr, "[::1]:5300".parse().unwrap());
            assert_eq!(tlds, &vec!["example".to_string()]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pin_must_name_a_root() {
    let e = parse(
        "[[root]]\nname = \"a\"\nhints = \"builtin\"\n[collisions]\npin = { biz = \"zz\" }\n",
    )
    .unwrap_err();
    assert!(e.message.contains("names no [[root]]"), "{e}");
}

#[test]
fn paths_are_cleaned() {
    assert_eq!(
        join_clean(Path::new("config"), "../zones"),
        PathBuf::from("zones")
    );
    assert_eq!(join_clean(Path::new(""), "zones"), PathBuf::from("zones"));
    assert_eq!(
        join_clean(Path::new("/etc/altroot"), "./z"),
        PathBuf::from("/etc/altroot/z")
    );
    assert_eq!(join_clean(Path::new("a"), "../../z"), PathBuf::from("../z"));
}

#[test]
fn shipped_config_parses_and_shows_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/altroot.toml");
    let c = Config::load(&path).unwrap();
    assert_eq!(c.roots[0].name, "alt");
    assert!(
        c.roots[0].allow_loopback_upstream,
        "the demo's pirate delegation"
    );
    assert_eq!(c.roots.last().map(|r| r.name.as_str()), Some("icann"));
    assert!(!c.roots[1].allow_loopback_upstream);
    let d = Config::builtin();
    assert_eq!(c.server.listen, d.server.listen);
    assert_eq!(c.server.allow, d.server.allow);
    assert_eq!(c.server.query_timeout, d.server.query_timeout);
    assert_eq!(c.server.upstream_deny, d.server.upstream_deny);
    assert_eq!(c.server.tcp_clients, d.server.tcp_clients);
    assert_eq!(c.server.tcp_idle_timeout, d.server.tcp_idle_timeout);
    assert_eq!(c.server.tls_listen, d.server.tls_listen);
    assert_eq!(c.server.https_listen, d.server.https_listen);
    assert_eq!(c.server.quic_listen, d.server.quic_listen);
    assert_eq!(c.cache, d.cache);
    assert_eq!(c.limits, d.limits);
    assert_eq!(c.log, d.log);
    assert_eq!(
        c.metrics.listen.map(|a| a.to_string()).as_deref(),
        Some(defaults::METRICS_LISTEN_EXAMPLE),
        "the demo turns the status page on"
    );
    assert_eq!(c.metrics.allow_remote, d.metrics.allow_remote);
}

#[test]
fn catch_all_forward_root_must_be_last() {
    let e = parse("[[root]]\nname = \"up\"\nforward = [\"192.0.2.1\"]\n[[root]]\nname = \"icann\"\nhints = \"builtin\"\n")
        .unwrap_err();
    assert!(e.message.contains("must be the last root"), "{e}");
    assert_eq!(e.line, Some(2));
    parse("[[root]]\nname = \"up\"\nforward = [\"192.0.2.1\"]\ntlds = [\"x\"]\n[[root]]\nname = \"icann\"\nhints = \"builtin\"\n")
        .unwrap();
}

#[test]
fn limits_and_new_keys() {
    let c = parse("[limits]\nmax-upstream-queries = 7\nmax-glueless-ns = 1\nrate-limit = 20\n[cache]\nmin-ttl = \"5s\"\nserve-stale = \"1d\"\n[server]\nupstream-deny = [\"10.0.0.0/8\"]\n")
        .unwrap();
    assert_eq!(c.limits.max_upstream_queries, 7);
    assert_eq!(c.limits.max_glueless_ns, 1);
    assert_eq!(c.limits.rate_limit, 20);
    assert_eq!(c.limits.max_cname_chain, defaults::MAX_CNAME_CHAIN);
    assert_eq!(c.cache.min_ttl, Duration::from_secs(5));
    assert_eq!(c.cache.serve_stale, Duration::from_secs(86_400));
    assert_eq!(validate::parse_size("1GiB"), Some(1 << 30));
    assert_eq!(validate::parse_size("512k"), Some(512 << 10));
    assert_eq!(validate::parse_size("4096"), Some(4096));
    assert_eq!(validate::parse_size("12 parsecs"), None);
    assert_eq!(
        c.server.upstream_deny,
        vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]
    );
    let e = parse("[limits]\nmax-resolutions = 0\n").unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.message.contains("at least 1"), "{e}");
    let e = parse("[server]\nupstream-deny = [\"nope\"]\n").unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    let e = parse("[limits]\nrate-limit-slip = 11\n").unwrap_err();
    assert!(e.message.contains("0 to 10"), "{e}");
}

fn all_errors(text: &str) -> Vec<(Option<usize>, String)> {
    Config::from_toml(text, Path::new("/nonexistent/altroot.toml"))
        .unwrap_err()
        .errors()
        .iter()
        .map(|e| (e.line, e.message.clone()))
        .collect()
}

// Issue 14: only the first config error was reported. Every value at fault is
// reported in one run, in file order, each at its line.
#[test]
fn every_value_error_is_reported_in_one_run() {
    let e = all_errors(
        "[server]\nlisten = [\"nope\", \"127.0.0.1:53\", \"nope2\"]\nquery-timeout = \"0s\"\n\
         [cache]\nmax-ttl = \"forever\"\n\
         [[root]]\nname = \"a\"\nzones = \"/nonexistent/zones\"\n\
         [[root]]\nname = \"b\"\nforward = [\"tls://dns.example\"]\n\
         [collisions]\npin = { x = \"a\", y = \"c\" }\n",
    );
    let lines: Vec<Option<usize>> = e.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [2, 2, 3, 5, 8, 11, 13].map(Some).to_vec(), "{e:#?}");
    // A pin to a root with errors of its own ("a") is not a second error.
    assert!(e[6].1.contains("y = \"c\" names no [[root]]"), "{e:#?}");
}

// Unknown keys and wrong types anywhere (tables, [[root]], inline tables) are all
// reported, and the values' own errors after them; the key at fault is named.
#[test]
fn every_shape_error_is_reported_and_then_the_values() {
    let e = all_errors(
        "[server]\nlisten-port = 53\ntcp-clients = \"many\"\n\
         [[root]]\nname = \"icann\"\nhints = \"builtin\"\nzone = \"x\"\n\
         [limits]\nmax-depth = -1\n\
         [collisions]\npolicy = \"last\"\n",
    );
    let lines: Vec<Option<usize>> = e.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [2, 3, 7, 9, 11].map(Some).to_vec(), "{e:#?}");
    assert!(e[0].1.contains("`listen-port`"), "{e:#?}");
    assert!(e[1].1.starts_with("tcp-clients: invalid type"), "{e:#?}");
    assert!(e[2].1.contains("`zone`"), "{e:#?}");
    assert!(e[3].1.starts_with("max-depth: invalid value"), "{e:#?}");
    assert!(e[4].1.starts_with("policy: \"last\""), "{e:#?}");
}

// A table that is wrong as a whole (a [[root]] without its name) stops the shape
// errors there rather than reporting everything that mentions it; a syntax error
// stops at once.
#[test]
fn a_whole_table_error_or_a_syntax_error_stops() {
    let e = all_errors("[[root]]\nhints = \"builtin\"\n[collisions]\npin = { x = \"icann\" }\n");
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].1.contains("missing field `name`"), "{e:#?}");
    let e = all_errors("[server]\nlisten = [\"127.0.0.1:0\"\nbogus = 1\n[cache]\nnope = 2\n");
    assert_eq!(e.len(), 1, "{e:#?}");
}

//------------ trust-anchors, negative-trust-anchors (issue 15) ----------------

/// A config in a temporary folder beside the given files.
fn load_with(
    config: &str,
    files: &[(&str, &str)],
) -> (tempfile::TempDir, Result<Config, ConfigErrors>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let path = dir.path().join("altroot.toml");
    std::fs::write(&path, config).unwrap();
    let c = Config::load(&path);
    (dir, c)
}

const ANCHORS: &str = "; an alt root's KSK as DS, and a DNSKEY for a TLD below it\n\
    . 3600 IN DS 52112 8 2 0060C4489F0654E4C2B8D4C8866A4BC4AD32D6DF9E905DB189D978A2266393CC\n\
    geek. IN DNSKEY 257 3 13 kXKkvWU3vGYfTJGl3qBd4qhiWp5aRs7YtkCJxD2d+t7KXqwahww5IgJtxJT2yFItlggazyfXqJEVOmMJ3qT0tQ==\n";

#[test]
fn the_icann_root_has_iana_anchors_by_default_and_others_none() {
    let c = parse("[[root]]\nname = \"alt\"\nforward = [\"192.0.2.1\"]\ntlds = [\"geek\"]\n[[root]]\nname = \"icann\"\nhints = \"builtin\"\n").unwrap();
    assert!(
        c.roots[0].trust_anchors.is_empty(),
        "alt: no anchors unless given"
    );
    assert!(!c.roots[1].trust_anchors.is_empty());
    assert_eq!(
        c.roots[1].trust_anchors.as_ref(),
        &crate::dnssec::TrustAnchors::icann()
    );
    // No [[root]] at all: the built-in icann root validates too.
    assert_eq!(
        Config::builtin().roots[0].trust_anchors.as_ref(),
        &crate::dnssec::TrustAnchors::icann()
    );
    // trust-anchors = [] turns it off.
    let c = parse("[[root]]\nname = \"icann\"\nhints = \"builtin\"\ntrust-anchors = []\n").unwrap();
    assert!(c.roots[0].trust_anchors.is_empty());
}

#[test]
fn trust_anchor_files_are_read_relative_to_the_config() {
    let (_dir, c) = load_with(
        "[[root]]\nname = \"alt\"\nhints = \"builtin\"\ntrust-anchors = [\"alt.anchors\"]\n\
         negative-trust-anchors = [\"broken.geek\", \"libre.\"]\n",
        &[("alt.anchors", ANCHORS)],
    );
    let c = c.unwrap();
    let a = &c.roots[0].trust_anchors;
    let owners: Vec<String> = a.owners().map(|n| n.to_string()).collect();
    assert_eq!(owners, [".", "geek."]);
    let (at, trust) = a.anchor_for(&"www.geek.".parse().unwrap()).unwrap();
    assert_eq!(at.to_string(), "geek.");
    assert_eq!(trust.dnskeys.len(), 1);
    assert!(a.is_negative(&"www.broken.geek.".parse().unwrap()));
    assert!(a.is_negative(&"libre.".parse().unwrap()));
    assert!(!a.is_negative(&"geek.".parse().unwrap()));
    assert!(c.roots[0].trust_anchor_files[0].ends_with("alt.anchors"));
    // The file replaces the built-in anchors; it does not add to them.
    assert_ne!(a.as_ref(), &crate::dnssec::TrustAnchors::icann());
}

#[test]
fn trust_anchor_errors_name_their_file_and_line() {
    let (dir, c) = load_with(
        "[[root]]\nname = \"alt\"\nforward = [\"192.0.2.1\"]\ntlds = [\"geek\"]\n\
         trust-anchors = [\"alt.anchors\", \"missing.anchors\", \"bad.anchors\"]\n\
         negative-trust-anchors = [\"example.com\", \"bad..name\"]\n",
        &[
            ("alt.anchors", ANCHORS),
            (
                "bad.anchors",
                "geek. IN DS 1 8 2 00\ngeek. 3600 IN A 192.0.2.1\n",
            ),
        ],
    );
    let errors: Vec<String> = c
        .unwrap_err()
        .errors()
        .iter()
        .map(|e| {
            e.to_string()
                .replace(&dir.path().display().to_string(), "DIR")
        })
        .collect();
    let has = |s: &str| errors.iter().any(|e| e.contains(s));
    // The root's DS is outside a forward root that answers for geek only.
    assert!(
        has(
            "DIR/alt.anchors:2: error: root \"alt\": trust anchor . is outside root \"alt\"'s namespace (geek.)"
        ),
        "{errors:#?}"
    );
    assert!(
        has(
            "DIR/altroot.toml:5: error: root \"alt\": cannot read trust-anchors file DIR/missing.anchors"
        ),
        "{errors:#?}"
    );
    assert!(
        has("DIR/bad.anchors:1: error: root \"alt\": DS digest type 2 takes a digest of 32 octets"),
        "{errors:#?}"
    );
    assert!(
        has(
            "DIR/altroot.toml:6: error: root \"alt\": negative trust anchor example.com. is outside its namespace (geek.)"
        ),
        "{errors:#?}"
    );
    assert!(
        has(
            "DIR/altroot.toml:6: error: root \"alt\": negative trust anchor \"bad..name\" is not a domain name"
        ),
        "{errors:#?}"
    );
}
