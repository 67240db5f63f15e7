//! Config: the keys of a `[[root]]` beyond its source — a root copy, transfer in,
//! `since`, `root-port`, `tld-list` — each mistake at its line.
use super::tests::parse;
use super::*;

// `copy` and `verify` (RFC 8806 root copy): only on hints roots, verify one of
// four words and only with a copy, the copy file readable; each error at its line.
#[test]
fn root_copy_mistakes_name_their_line() {
    let cases = [
        (
            "[[root]]\nname = \"a\"\nzones = \"/\"\ncopy = \"/etc/hostname\"\n",
            4,
            "copy is only for hints roots",
        ),
        (
            "[[root]]\nname = \"a\"\nhints = \"builtin\"\ncopy = \"/etc/hostname\"\nverify = \"sha1\"\n",
            5,
            "verify \"sha1\" is not one of zonemd+dnssec, zonemd, dnssec, none",
        ),
        (
            "[[root]]\nname = \"a\"\nhints = \"builtin\"\nverify = \"none\"\n",
            4,
            "verify is only for a root with a copy",
        ),
        (
            "[[root]]\nname = \"a\"\nhints = \"builtin\"\ncopy = \"no-such.zone\"\n",
            4,
            "cannot read copy /nonexistent/no-such.zone",
        ),
    ];
    for (text, line, want) in cases {
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.message.contains(want), "{e}");
    }
    let c = parse("[[root]]\nname = \"a\"\nhints = \"builtin\"\ncopy = \"/etc/hostname\"\nverify = \"zonemd\"\n")
        .unwrap();
    let copy = c.roots[0].copy.as_ref().unwrap();
    assert_eq!(copy.verify, crate::rootcopy::Verify::Zonemd);
    assert_eq!(copy.file, Path::new("/etc/hostname"));
}

// `transfer-from`, `transfer-zones`, `transfer-key` (zone transfer in): zones
// roots and hints roots with a copy; addresses, zone names and key names checked,
// each error at its line.
#[test]
fn transfer_in_mistakes_name_their_line() {
    let key = "[transfer]\nkeys = [{ name = \"xfr\", secret = \"MDEyMzQ1Njc4OWFiY2RlZg==\" }]\n";
    let cases = [
        (
            "[[root]]\nname = \"a\"\nforward = [\"192.0.2.1\"]\ntransfer-from = [\"192.0.2.2\"]\n",
            4,
            "transfer-from is for zones roots and hints roots with a copy",
        ),
        (
            "[[root]]\nname = \"a\"\nhints = \"builtin\"\ntransfer-from = [\"192.0.2.2\"]\n",
            4,
            "needs copy",
        ),
        (
            "[[root]]\nname = \"a\"\nzones = \"/\"\ntransfer-from = [\n  \"192.0.2.2\",\n  \"ns1.example\",\n]\n",
            6,
            "\"ns1.example\" is not an address",
        ),
        (
            "[[root]]\nname = \"a\"\nzones = \"/\"\ntransfer-from = []\n",
            4,
            "lists no primary",
        ),
        (
            "[[root]]\nname = \"a\"\nzones = \"/\"\ntransfer-zones = [\"geek\"]\n",
            4,
            "transfer-zones needs transfer-from",
        ),
        (
            "[[root]]\nname = \"a\"\nzones = \"/\"\ntransfer-from = [\"192.0.2.2\"]\ntransfer-zones = [\"geek\", \"GEEK.\"]\n",
            5,
            "lists geek. twice",
        ),
        (
            "[[root]]\nname = \"a\"\nzones = \"/\"\ntransfer-from = [\"192.0.2.2\"]\ntransfer-key = \"nokey\"\n",
            5,
            "transfer-key \"nokey\" is not a key of [transfer] keys",
        ),
    ];
    for (text, line, want) in cases {
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, Some(line), "{text}: {e}");
        assert!(e.message.contains(want), "{e}");
    }
    let text = format!(
        "[[root]]\nname = \"a\"\nzones = \"/\"\ntransfer-from = [\"192.0.2.2\", \"[2001:db8::1]:5353\"]\ntransfer-zones = [\".\", \"geek\"]\ntransfer-key = \"xfr.\"\n\n{key}"
    );
    let c = parse(&text).unwrap();
    let t = c.roots[0].transfer_in.as_ref().unwrap();
    assert_eq!(t.primaries[0].to_string(), "192.0.2.2:53");
    assert_eq!(t.primaries[1].to_string(), "[2001:db8::1]:5353");
    assert_eq!(
        t.zones,
        vec![hickory_proto::rr::Name::root(), "geek.".parse().unwrap()]
    );
    assert_eq!(t.key.as_ref().unwrap().name.to_string(), "xfr.");
    // A secondary's folder is made when missing; a hints root's copy may be absent.
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("a/b");
    let c = parse(&format!(
        "[[root]]\nname = \"a\"\nzones = \"{}\"\ntransfer-from = [\"192.0.2.2\"]\n\n[[root]]\nname = \"b\"\nhints = \"builtin\"\ncopy = \"{}\"\ntransfer-from = [\"192.0.2.2\"]\n",
        folder.display(),
        dir.path().join("c/root.zone").display()
    ))
    .unwrap();
    assert!(folder.is_dir());
    assert!(c.roots[1].transfer_in.is_some());
    assert!(dir.path().join("c").is_dir());
}

// `policy = "first-come"` and `since` (issue 20): dates YYYY[-MM[-DD]], each bad
// one reported at its line.
#[test]
fn first_come_and_since() {
    let c = parse("[[root]]\nname = \"a\"\nzones = \"/\"\nsince = { biz = \"1995\", web = \"1999-06-01\" }\n\n[collisions]\npolicy = \"first-come\"\n").unwrap();
    assert_eq!(c.collisions.policy, Policy::FirstCome);
    assert_eq!(c.roots[0].since["biz"].to_string(), "1995");
    assert_eq!(c.roots[0].since["web"].to_string(), "1999-06-01");
    let e =
        parse("[[root]]\nname = \"a\"\nzones = \"/\"\nsince = {\n biz = \"95\" }\n").unwrap_err();
    assert_eq!(e.line, Some(5), "{e}");
    assert!(
        e.message.contains("since: biz = \"95\" is not a date"),
        "{e}"
    );
    let e = parse("[[root]]\nname = \"a\"\nzones = \"/\"\nsince = { \"a.b\" = \"1995\" }\n")
        .unwrap_err();
    assert!(e.message.contains("\"a.b\" is not a TLD"), "{e}");
    let e = parse("[collisions]\npolicy = \"oldest\"\n").unwrap_err();
    assert!(
        e.message
            .contains("is not \"first\", \"interrupt\" or \"first-come\""),
        "{e}"
    );
}

// `root-port` (issue 17): a hints root's root servers on their own port, the
// servers below on `port`; it defaults to `port`, and only hints roots have it.
#[test]
fn root_port_is_for_hints_roots_and_defaults_to_port() {
    let c = parse("[[root]]\nname = \"hns\"\nhints = \"builtin\"\nport = 53\nroot-port = 5349\n")
        .unwrap();
    assert_eq!((c.roots[0].port, c.roots[0].root_port), (53, 5349));
    let c = parse("[[root]]\nname = \"a\"\nhints = \"builtin\"\nport = 5300\n").unwrap();
    assert_eq!((c.roots[0].port, c.roots[0].root_port), (5300, 5300));
    for (text, line, want) in [
        (
            "[[root]]\nname = \"a\"\nzones = \"/\"\nroot-port = 5349\n",
            4,
            "root \"a\": root-port is only for hints roots",
        ),
        (
            "[[root]]\nname = \"a\"\nforward = [\"192.0.2.1\"]\nroot-port = 5349\n",
            4,
            "root \"a\": root-port is only for hints roots",
        ),
        (
            "[[root]]\nname = \"a\"\nhints = \"builtin\"\n\nroot-port = 0\n",
            5,
            "root \"a\": root-port 0 is not a port",
        ),
    ] {
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.message.contains(want), "{e}");
    }
    let e = parse("[[root]]\nname = \"a\"\nhints = \"builtin\"\nroot-port = 70000\n").unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
}

// `tld-list` (the bundled list a root stands for offline): hints and forward roots,
// "icann" or "opennic"; the builtin hints stand for ICANN's unless told otherwise;
// mistakes at their line.
#[test]
fn tld_list_names_a_bundled_list() {
    let c = parse(
        "[[root]]\nname = \"opennic\"\nhints = \"/etc/hostname\"\ntld-list = \"opennic\"\n\n[[root]]\nname = \"t2\"\nforward = [\"192.0.2.1\"]\ntlds = [\"geek\"]\ntld-list = \"opennic\"\n\n[[root]]\nname = \"icann\"\nhints = \"builtin\"\n",
    )
    .unwrap();
    let lists: Vec<Option<TldList>> = c.roots.iter().map(|r| r.tld_list).collect();
    assert_eq!(
        lists,
        vec![
            Some(TldList::Opennic),
            Some(TldList::Opennic),
            Some(TldList::Icann)
        ]
    );
    let c = parse("[[root]]\nname = \"h\"\nhints = \"/etc/hostname\"\n").unwrap();
    assert_eq!(c.roots[0].tld_list, None);
    assert_eq!(Config::builtin().roots[0].tld_list, Some(TldList::Icann));
    for (text, line, want) in [
        (
            "[[root]]\nname = \"a\"\nhints = \"builtin\"\n\ntld-list = \"opennik\"\n",
            5,
            "tld-list \"opennik\" is not a bundled list (\"icann\" or \"opennic\")",
        ),
        (
            "[[root]]\nname = \"a\"\nzones = \"/\"\ntld-list = \"opennic\"\n",
            4,
            "tld-list is only for hints and forward roots",
        ),
    ] {
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, Some(line), "{text}: {e}");
        assert!(e.message.contains(want), "{e}");
    }
}
