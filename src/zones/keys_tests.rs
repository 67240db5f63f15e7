use super::*;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn generated_keys_read_back() {
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Ed25519] {
        let d = tmp();
        let g = generate(d.path(), alg, false).unwrap();
        let keys = read(d.path()).unwrap().unwrap();
        assert_eq!(keys.ksk.tag, g.ksk_tag);
        assert_eq!(keys.zsk.tag, g.zsk_tag);
        assert_eq!(keys.ksk.dnskey.flags(), 257);
        assert_eq!(keys.zsk.dnskey.flags(), 256);
        assert_eq!(keys.ksk.algorithm, alg.dnssec());
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| {
            std::fs::metadata(d.path().join("keys").join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("ksk.pem"), 0o600);
        assert_eq!(mode("zsk.pem"), 0o600);
        assert_eq!(mode("."), 0o700);
    }
}

#[test]
fn keygen_refuses_to_overwrite_without_force() {
    let d = tmp();
    let first = generate(d.path(), KeyAlgorithm::EcdsaP256, false).unwrap();
    let e = generate(d.path(), KeyAlgorithm::EcdsaP256, false)
        .err()
        .unwrap();
    assert!(e.contains("ksk.pem: keys exist already"), "{e}");
    let keys = read(d.path()).unwrap().unwrap();
    assert_eq!(keys.ksk.tag, first.ksk_tag, "the old keys are untouched");
    let second = generate(d.path(), KeyAlgorithm::Ed25519, true).unwrap();
    let keys = read(d.path()).unwrap().unwrap();
    assert_eq!(keys.ksk.tag, second.ksk_tag);
    assert_eq!(keys.ksk.algorithm, Algorithm::ED25519);
}

#[test]
fn no_keys_folder_is_unsigned_and_half_a_key_set_is_an_error() {
    let d = tmp();
    assert!(read(d.path()).unwrap().is_none());
    generate(d.path(), KeyAlgorithm::EcdsaP256, false).unwrap();
    std::fs::remove_file(d.path().join("keys/zsk.pem")).unwrap();
    let e = read(d.path()).unwrap_err();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].file.ends_with("keys/zsk.pem"), "{e:?}");
    assert!(e[0].message.contains("the ZSK is missing"), "{e:?}");
    std::fs::remove_file(d.path().join("keys/zsk.dnskey")).unwrap();
    std::fs::remove_file(d.path().join("keys/ksk.dnskey")).unwrap();
    let e = read(d.path()).unwrap_err();
    assert_eq!(e.len(), 2, "{e:?}");
}

#[test]
fn mismatched_and_unreadable_key_files_are_errors_at_their_line() {
    let d = tmp();
    generate(d.path(), KeyAlgorithm::EcdsaP256, false).unwrap();
    let other = tmp();
    generate(other.path(), KeyAlgorithm::EcdsaP256, false).unwrap();
    std::fs::copy(
        other.path().join("keys/zsk.dnskey"),
        d.path().join("keys/zsk.dnskey"),
    )
    .unwrap();
    let e = read(d.path()).unwrap_err();
    assert_eq!(e[0].line, 2, "{e:?}");
    assert!(e[0].message.contains("different keys"), "{e:?}");
    std::fs::write(d.path().join("keys/ksk.pem"), "garbage\n").unwrap();
    let e = read(d.path()).unwrap_err();
    assert!(
        e.iter()
            .any(|p| p.file.ends_with("keys/ksk.pem") && p.message.contains("PKCS#8")),
        "{e:?}"
    );
}

#[test]
fn ds_matches_the_ksk() {
    let d = tmp();
    generate(d.path(), KeyAlgorithm::EcdsaP256, false).unwrap();
    let keys = read(d.path()).unwrap().unwrap();
    let ds = keys.ksk.ds(&Name::root()).unwrap();
    assert!(ds.covers(&Name::root(), &keys.ksk.dnskey).unwrap());
    let line = ds_line(&Name::root(), &keys.ksk).unwrap();
    assert!(
        line.starts_with(&format!(". 3600 IN DS {} 13 2 ", keys.ksk.tag)),
        "{line}"
    );
}
