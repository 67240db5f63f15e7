use super::*;

// The periodic check looks at what a reload reads, not at what editors leave
// beside it: swap, backup and probe files (or the serials file) would otherwise
// look like a change no event announced.
#[test]
fn the_check_looks_at_zone_files_and_folders_only() {
    let dir = tempfile::tempdir().unwrap();
    let zones = dir.path().join("zones");
    std::fs::create_dir(&zones).unwrap();
    for f in [
        "geek.zone",
        ".geek.zone.swp",
        "geek.zone~",
        "4913",
        ".altroot-serials",
    ] {
        std::fs::write(zones.join(f), "x").unwrap();
    }
    let inc = dir.path().join("hosts.inc");
    std::fs::write(&inc, "x").unwrap();
    let before = Disk::look(std::slice::from_ref(&zones), std::slice::from_ref(&inc));
    let keys: Vec<&Path> = before.0.keys().map(PathBuf::as_path).collect();
    assert_eq!(
        keys,
        vec![inc.as_path(), zones.as_path(), &zones.join("geek.zone")]
    );
    std::fs::write(zones.join(".geek.zone.swp"), "xy").unwrap();
    std::fs::write(zones.join("4913"), "xy").unwrap();
    let after = Disk::look(std::slice::from_ref(&zones), std::slice::from_ref(&inc));
    assert_eq!(before, after);
    std::fs::write(zones.join("new.zone"), "x").unwrap();
    let added = Disk::look(std::slice::from_ref(&zones), std::slice::from_ref(&inc));
    assert_ne!(before, added);
    std::fs::write(&inc, "xy").unwrap();
    let edited = Disk::look(std::slice::from_ref(&zones), std::slice::from_ref(&inc));
    assert_ne!(added, edited);
}

// Paths are compared as the notifier reports them: absolute, even for a
// relative zones folder (`./zones` never matched `zones`).
#[test]
fn relevant_paths_are_absolute() {
    let cwd = std::env::current_dir().unwrap();
    let zones = absolute(Path::new("zones"));
    assert_eq!(zones, cwd.join("zones"));
    let w = Watched {
        zone_dirs: [zones.clone()].into(),
        file_dirs: [zones.clone()].into(),
        ..Watched::default()
    };
    assert!(relevant(&zones, &w));
    assert!(relevant(&zones.join("geek.zone"), &w));
    assert!(!relevant(&zones.join(".geek.zone.swp"), &w));
    assert!(!relevant(&zones.join("geek.zone~"), &w));
    assert!(!relevant(&cwd.join("altroot.toml"), &w));
}
