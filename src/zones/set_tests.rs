use super::*;

#[test]
fn file_names() {
    assert_eq!(
        origin_for_file(Path::new("z/root.zone")),
        Some(Name::root())
    );
    assert_eq!(
        origin_for_file(Path::new("z/geek.zone")),
        Name::from_ascii("geek.").ok()
    );
    assert_eq!(origin_for_file(Path::new("z/.geek.zone.swp")), None);
    assert_eq!(origin_for_file(Path::new("z/geek.zone~")), None);
}

const ROOT: &str = ". 3600 IN SOA a.root. admin.root. 1 1800 900 604800 3600\n. 3600 IN NS a.root.\na.root. 3600 IN A 192.0.2.1\n";
const GEEK: &str = "geek. 3600 IN SOA ns.geek. admin.geek. 1 1800 900 604800 3600\ngeek. 3600 IN NS ns.geek.\nns.geek. 3600 IN A 192.0.2.2\n";
const T0: u64 = 1_800_000_000;

fn keyed_folder() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("root.zone"), ROOT).unwrap();
    std::fs::write(d.path().join("geek.zone"), GEEK).unwrap();
    keys::generate(d.path(), keys::KeyAlgorithm::EcdsaP256, false).unwrap();
    d
}

fn load(dir: &Path, prev: Option<&ZoneSet>, now: u64) -> ZoneSet {
    let (set, problems) = ZoneSet::load_at(dir, prev, &LoadOptions::default(), false, now);
    let errors: Vec<&Problem> = problems.iter().filter(|p| p.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    set
}

fn zone<'a>(set: &'a ZoneSet, origin: &str) -> &'a Arc<Zone> {
    set.get(&LowerName::new(&Name::from_ascii(origin).unwrap()))
        .unwrap()
}

// With keys every zone is signed; the root zone holds geek.'s DS, which a DS
// question for geek. is answered from; an unchanged reload keeps the zones.
#[test]
fn a_keyed_root_is_signed_and_kept_while_fresh() {
    let d = keyed_folder();
    let set = load(d.path(), None, T0);
    let root = zone(&set, ".");
    assert_eq!(root.resign_at(), Some(T0 + 4 * 86_400));
    assert!(root.has_ds(&LowerName::new(&Name::from_ascii("geek.").unwrap())));
    let geek = LowerName::new(&Name::from_ascii("geek.").unwrap());
    assert!(Arc::ptr_eq(set.for_ds(&geek).unwrap(), root));
    assert!(!set.resign_due(T0 + 4 * 86_400 - 1));
    assert!(set.resign_due(T0 + 4 * 86_400));
    let again = load(d.path(), Some(&set), T0 + 3600);
    assert!(again.same_zones(&set), "nothing changed, nothing due");
}

// Due zones are signed again on the next reload, though their files did not
// change.
#[test]
fn due_signatures_are_renewed_on_reload() {
    let d = keyed_folder();
    let set = load(d.path(), None, T0);
    let later = T0 + 4 * 86_400;
    let again = load(d.path(), Some(&set), later);
    assert!(!again.same_zones(&set));
    assert_eq!(zone(&again, "geek.").resign_at(), Some(later + 4 * 86_400));
    assert!(!again.resign_due(later));
}

// A new child zone file: its parent is signed again with the new DS. New
// keys: everything is signed again. Keys removed: served unsigned.
#[test]
fn new_children_and_new_keys_sign_again() {
    let d = keyed_folder();
    let set = load(d.path(), None, T0);
    std::fs::write(d.path().join("web.zone"), GEEK.replace("geek.", "web.")).unwrap();
    let again = load(d.path(), Some(&set), T0 + 60);
    let web = LowerName::new(&Name::from_ascii("web.").unwrap());
    assert!(zone(&again, ".").has_ds(&web));
    assert!(Arc::ptr_eq(zone(&again, "geek."), zone(&set, "geek.")));
    keys::generate(d.path(), keys::KeyAlgorithm::Ed25519, true).unwrap();
    let third = load(d.path(), Some(&again), T0 + 120);
    assert!(!Arc::ptr_eq(zone(&third, "geek."), zone(&again, "geek.")));
    std::fs::remove_dir_all(d.path().join("keys")).unwrap();
    let fourth = load(d.path(), Some(&third), T0 + 180);
    assert_eq!(zone(&fourth, "geek.").resign_at(), None);
    assert!(!zone(&fourth, ".").has_ds(&web));
}

// In a keyed root a pre-signed file, or half a key set, is an error at its
// file and line (check reports it, a reload is refused).
#[test]
fn presigned_files_and_half_a_key_set_are_errors() {
    let d = keyed_folder();
    std::fs::write(
        d.path().join("geek.zone"),
        format!("{GEEK}geek. 3600 IN NSEC ns.geek. SOA NS NSEC RRSIG\n"),
    )
    .unwrap();
    let (_, problems) = ZoneSet::load_at(d.path(), None, &LoadOptions::default(), true, T0);
    let e: Vec<String> = problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| p.to_string())
        .collect();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("geek.zone:4: error: geek. NSEC: this zone is signed already"),
        "{e:?}"
    );
    std::fs::write(d.path().join("geek.zone"), GEEK).unwrap();
    std::fs::remove_file(d.path().join("keys/ksk.pem")).unwrap();
    let (_, problems) = ZoneSet::load_at(d.path(), None, &LoadOptions::default(), true, T0);
    let e: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(
        e.iter()
            .any(|p| p.contains("keys/ksk.pem:1: error: the KSK is missing")),
        "{e:?}"
    );
}

#[test]
fn serial_arithmetic_wraps() {
    assert!(serial_lt(1, 2));
    assert!(!serial_lt(2, 2));
    assert!(serial_lt(0xFFFF_FFFF, 0), "RFC 1982: 0 follows 2^32 - 1");
    assert!(!serial_lt(0, 0x8000_0000), "undefined: neither is before");
}
