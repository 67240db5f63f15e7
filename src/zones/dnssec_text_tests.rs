use super::*;

#[test]
fn dates_are_utc_seconds() {
    assert_eq!(date_seconds("19700101000000"), Some(0));
    assert_eq!(date_seconds("20000229120000"), Some(951_825_600));
    // dig +short: 2070-01-01 is 3155760000 (past i32, inside u32).
    assert_eq!(date_seconds("20700101000000"), Some(3_155_760_000));
    assert_eq!(date_seconds("20230229000000"), None, "not a leap year");
    assert_eq!(date_seconds("20231301000000"), None);
    assert_eq!(date_seconds("20231201240000"), None);
}

#[test]
fn types_by_name_or_number() {
    assert_eq!(record_type("a"), Some(RecordType::A));
    assert_eq!(record_type("TYPE65534"), Some(RecordType::Unknown(65534)));
    assert_eq!(record_type("type1"), Some(RecordType::A));
    assert_eq!(record_type("ZONEMD"), Some(RecordType::Unknown(63)));
    assert_eq!(record_type("TYPE"), None);
    assert_eq!(record_type("TYPE65536"), None);
    assert_eq!(record_type("BOGUS"), None);
}
