//! Reading DNSSEC record types as signers write them (BIND's and ldns's output),
//! in every spelling, with every error at its line; trust-anchor files.

use super::tests::origin;
use super::*;
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::RecordType;

//--- DNSSEC record types, as signers write them

/// `dnssec-signzone` (BIND 9.18) output, its multi-line format: RRSIGs and keys
/// split over lines in parentheses with comments, owners inherited, NSEC3 with
/// no salt.
const BIND_SIGNED: &str = r#"; File written on Sun Dec  6 07:35:30 2026
; dnssec_signzone version 9.18.49-1~deb12u3-Debian
example.		3600	IN SOA	ns1.example. host.example. (
					1          ; serial
					7200       ; refresh (2 hours)
					3600       ; retry (1 hour)
					1209600    ; expire (2 weeks)
					300        ; minimum (5 minutes)
					)
			3600	RRSIG	SOA 8 1 3600 (
					20700101000000 20200101000000 28540 example.
					osWGJCK5GZDeDJZBVOpNnbDzKVWIEGOdC2Dr
					4CdL9j0n8wvanP/vuRufemcVA6wzYIQ7JCA9
					hEMhZUKif8rV8VssCAvyL/D66ViCOAcN7jHV
					QnoRdF82kqkX+sOOu8NEm3a3wQ3U7bCZQkX0
					DY6AoaYLb5LiDqMumCTqcRN+S6g= )
			3600	DNSKEY	256 3 8 (
					AwEAAdX0P3bouD+bkBD25nUUuT0bXXSdoNxn
					bKqLVeiSKwxFbAt8GAEof02Gw7jwYgf9bZE8
					IeEoLA/j99e8MINLQpFm/CRFLnGkIvAChDZ+
					6DaaWvT3gBLkMrYDt7nGglcPOVP+S3XYWJP4
					80RPWPmCMYLkIn7ATKb/kAV0mwRhSDh5
					) ; ZSK; alg = RSASHA256 ; key id = 28540
			0	NSEC3PARAM 1 0 0 -
3MSEV9USMD4BR9S97V51R2TDVMR9IQO1.example. 300 IN NSEC3 1 0 0 - (
					99JAHPQEE6F2BU0N7I5CPSM6PBS6TP05
					NS SOA RRSIG DNSKEY NSEC3PARAM )
"#;

/// `ldns-signzone` (ldns 1.8) output: one line a record, a comment after the
/// key, NSEC3 with a salt and opt-out, two spaces before the next hash.
const LDNS_SIGNED: &str = "\
example.	3600	IN	DNSKEY	256 3 15 ipDzwFz8PCC9GX3yPlSKR7AMHkIvUscn8/VFNZh5jJY= ;{id = 16937 (zsk), size = 256b}
example.	3600	IN	DNSKEY	257 3 13 6cpyvuiR2c6H2LlsE5au72jac4LsJZpNoiw5JQkbUXz8AzaovKw96V6MPAdp6pBgen5ukFE5rt6jN7dC/l6CPQ== ;{id = 17883 (ksk), size = 256b}
example.	300	IN	NSEC	*.example. NS SOA RRSIG NSEC DNSKEY 
*.example.	300	IN	RRSIG	NSEC 15 1 300 20700101000000 20200101000000 16937 example. z5jNQ/NfE5gbzv5Cc6mg7O6bdjcLHObx0ocFN6O5HE8UBF2Y6/a5fgx9LGwsYZYPKcptHzT3/mIRyz0Di9+ACA==
example.	3600	IN	NSEC3PARAM	1 0 0 abcd 
jkpbfo2c06f5vdrj4t4g49tsr64b710e.example.	300	IN	NSEC3	1 1 0 abcd  tbh2o3j9djspf6hv93l2a44ht44iqiht NS SOA RRSIG DNSKEY NSEC3PARAM 
";

/// The DS ldns-keygen wrote for the KSK above.
const LDNS_DS: &str =
    "example.	IN	DS	17883 13 2 6d1045747ca6cb95daade57d2f6bee54bcb89d1a72a972eb6954c490c791dd99\n";

fn dnssec_of(l: &Located) -> &DNSSECRData {
    match &l.record.data {
        RData::DNSSEC(d) => d,
        other => panic!("not DNSSEC: {other:?}"),
    }
}

#[test]
fn bind_signer_output_is_read() {
    let p = read_str(BIND_SIGNED, Path::new("b"), &Name::root()).unwrap();
    let got: Vec<_> = p
        .records
        .iter()
        .map(|l| (l.record.record_type(), l.line, l.record.ttl))
        .collect();
    use RecordType::*;
    assert_eq!(
        got,
        vec![
            (SOA, 3, 3600),
            (RRSIG, 10, 3600),
            (DNSKEY, 17, 3600),
            (NSEC3PARAM, 24, 0),
            (NSEC3, 25, 300)
        ]
    );
    let DNSSECRData::RRSIG(sig) = dnssec_of(&p.records[1]) else {
        panic!()
    };
    let input = sig.input();
    assert_eq!(input.type_covered, SOA);
    assert_eq!(u8::from(input.algorithm), 8);
    assert_eq!((input.num_labels, input.original_ttl), (1, 3600));
    assert_eq!(input.sig_expiration.get(), 3_155_760_000, "2070-01-01");
    assert_eq!(input.sig_inception.get(), 1_577_836_800, "2020-01-01");
    assert_eq!(input.key_tag, 28540);
    assert_eq!(input.signer_name, Name::from_ascii("example.").unwrap());
    assert_eq!(sig.sig().len(), 128, "RSA-1024: base64 over five lines");
    let DNSSECRData::DNSKEY(key) = dnssec_of(&p.records[2]) else {
        panic!()
    };
    // The key tag covers every octet of the key: the base64 was joined right.
    assert_eq!(key.calculate_key_tag().unwrap(), 28540);
    assert_eq!(key.flags(), 256);
    let DNSSECRData::NSEC3(n3) = dnssec_of(&p.records[4]) else {
        panic!()
    };
    assert!(!n3.opt_out() && n3.salt().is_empty() && n3.iterations() == 0);
    assert_eq!(
        n3.next_hashed_owner_name_base32().unwrap().to_string(),
        "99jahpqee6f2bu0n7i5cpsm6pbs6tp05"
    );
    let types: Vec<_> = n3.type_set().iter().collect();
    assert_eq!(types, vec![NS, SOA, RRSIG, DNSKEY, NSEC3PARAM]);
}

#[test]
fn ldns_signer_output_is_read_and_its_ds_covers_its_key() {
    let p = read_str(LDNS_SIGNED, Path::new("l"), &Name::root()).unwrap();
    let tags: Vec<_> = p.records[..2]
        .iter()
        .map(|l| match dnssec_of(l) {
            DNSSECRData::DNSKEY(k) => k.calculate_key_tag().unwrap(),
            d => panic!("{d:?}"),
        })
        .collect();
    assert_eq!(tags, vec![16937, 17883]);
    let DNSSECRData::NSEC(nsec) = dnssec_of(&p.records[2]) else {
        panic!()
    };
    assert_eq!(nsec.next_domain_name().to_string(), "*.example.");
    assert_eq!(nsec.type_set().iter().count(), 5);
    let DNSSECRData::RRSIG(sig) = dnssec_of(&p.records[3]) else {
        panic!()
    };
    assert_eq!(sig.input().type_covered, RecordType::NSEC);
    assert_eq!(sig.sig().len(), 64, "Ed25519");
    let DNSSECRData::NSEC3PARAM(param) = dnssec_of(&p.records[4]) else {
        panic!()
    };
    assert_eq!((param.salt(), param.opt_out()), (&[0xab, 0xcd][..], false));
    let DNSSECRData::NSEC3(n3) = dnssec_of(&p.records[5]) else {
        panic!()
    };
    assert!(n3.opt_out());
    assert_eq!(n3.salt(), &[0xab, 0xcd]);
    assert_eq!(n3.next_hashed_owner_name().len(), 20, "SHA-1");

    let ds = read_trust_anchors_str(LDNS_DS, Path::new("ds")).unwrap();
    let (DNSSECRData::DS(ds), DNSSECRData::DNSKEY(ksk)) =
        (dnssec_of(&ds[0]), dnssec_of(&p.records[1]))
    else {
        panic!()
    };
    assert!(
        ds.covers(&Name::from_ascii("example.").unwrap(), ksk)
            .unwrap()
    );
}

#[test]
fn dnssec_records_round_trip_through_wire_form() {
    // Through `read_into` (wire form) and back, as the zone store keeps them.
    let text = format!("{LDNS_SIGNED}{LDNS_DS}");
    let p = read_str(&text, Path::new("l"), &Name::root()).unwrap();
    for l in &p.records {
        let mut bytes = Vec::new();
        wire::encode_rdata(&l.record.data, &mut bytes).unwrap();
        let back = wire::decode_rdata(l.record.record_type(), &bytes).unwrap();
        assert_eq!(back, l.record.data, "line {}", l.line);
    }
}

#[test]
fn dnssec_times_and_types_in_every_spelling() {
    let text = "$ORIGIN example.\n$TTL 60\n\
        a RRSIG TYPE65534 ECDSAP256SHA256 2 60 3155760000 1577836800 1 @ AAAA\n\
        a NSEC b.example. A TYPE65534 zonemd loc\n\
        b CDS 0 0 0 00\n\
        b CDNSKEY 0 3 0 AA==\n\
        b ds 1 8 1 ( 0123456789abcdef0123\n 456789ABCDEF01234567 )\n";
    let p = read_str(text, Path::new("z"), &Name::root()).unwrap();
    let DNSSECRData::RRSIG(sig) = dnssec_of(&p.records[0]) else {
        panic!()
    };
    let input = sig.input();
    assert_eq!(input.type_covered, RecordType::Unknown(65534));
    assert_eq!(u8::from(input.algorithm), 13);
    assert_eq!(input.sig_expiration.get(), 3_155_760_000);
    assert_eq!(input.signer_name.to_string(), "example.");
    let DNSSECRData::NSEC(nsec) = dnssec_of(&p.records[1]) else {
        panic!()
    };
    let types: Vec<u16> = nsec.type_set().iter().map(u16::from).collect();
    assert_eq!(types, vec![1, 29, 63, 65534]);
    assert_eq!(p.records.len(), 5);
    assert_eq!(p.records[4].record.name.to_string(), "b.example.");
}

#[test]
fn bad_dnssec_entries_are_errors_at_their_line() {
    let cases = [
        // A SHA-256 digest is 64 hex digits: 40 is a SHA-1 one (hickory takes it).
        (
            "x DS 1 8 2 0123456789abcdef0123456789abcdef01234567",
            "DS digest type 2 takes a digest of 32 octets (64 hex digits), not 20 octets",
        ),
        ("x DS 1 8 1 xyz", "DS digest is not hexadecimal"),
        ("x DS 70000 8 1 00", "DS key tag \"70000\" is not a number"),
        (
            "x DNSKEY 256 2 8 AwEAAQ==",
            "DNSKEY protocol must be 3, not 2",
        ),
        (
            "x DNSKEY 256 3 8 AwE*AQ==",
            "DNSKEY public key is not base64",
        ),
        ("x DNSKEY 256 3 8", "DNSKEY has no public key"),
        (
            "x DNSKEY 256 3 BOGUS AA==",
            "DNSKEY algorithm \"BOGUS\" is unknown",
        ),
        (
            "x RRSIG A 8 1 60 20701301000000 20200101000000 1 x. AA==",
            "RRSIG expiration \"20701301000000\" is neither YYYYMMDDHHmmSS",
        ),
        (
            "x RRSIG A 8 1 60 207001010000 20200101000000 1 x. AA==",
            "RRSIG expiration \"207001010000\" is neither",
        ),
        (
            "x RRSIG NOPE 8 1 60 1 0 1 x. AA==",
            "RRSIG type covered \"NOPE\" is not a record type",
        ),
        (
            "x NSEC y. A BOGUS",
            "NSEC type list: \"BOGUS\" is not a record type",
        ),
        (
            "x NSEC3 1 2 0 - 00",
            "NSEC3 flags 2 has bits no NSEC3 defines",
        ),
        (
            "x NSEC3 2 0 0 - 00",
            "NSEC3 hash algorithm 2 is not supported",
        ),
        ("x NSEC3 1 0 0 - 0!", "is not base32hex"),
        (
            "x NSEC3PARAM 1 0 0 - extra",
            "NSEC3PARAM has \"extra\" after its data",
        ),
        ("x CH DS 1 8 1 00", "class CH is not served"),
    ];
    for (entry, want) in cases {
        let text = format!("$TTL 60\nok A 192.0.2.1\n{entry}\n");
        let e = read_str(&text, Path::new("z.zone"), &origin()).unwrap_err();
        assert_eq!(e.len(), 1, "{entry}: {e:?}");
        assert_eq!(e[0].line, 3, "{entry}");
        assert!(
            e[0].message.contains(want),
            "{entry}: {:?} lacks {want:?}",
            e[0].message
        );
        assert!(e[0].message.contains(&format!("{entry:?}")), "{}", e[0]);
    }
}

#[test]
fn trust_anchor_files_take_ds_and_dnskey_of_any_owner() {
    let text = "$TTL 1d\n. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n\
        $ORIGIN geek.\n@ DNSKEY 257 3 15 ipDzwFz8PCC9GX3yPlSKR7AMHkIvUscn8/VFNZh5jJY=\n";
    let a = read_trust_anchors_str(text, Path::new("a.keys")).unwrap();
    let got: Vec<_> = a
        .iter()
        .map(|l| {
            (
                l.record.name.to_string(),
                l.record.record_type(),
                l.record.ttl,
                l.line,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (".".into(), RecordType::DS, 86400, 2),
            ("geek.".into(), RecordType::DNSKEY, 86400, 4)
        ]
    );
    let e = read_trust_anchors_str("x. A 192.0.2.1\n", Path::new("a.keys")).unwrap_err();
    assert_eq!(
        e[0].to_string(),
        "a.keys:1: error: x. A: a trust-anchor file holds DS and DNSKEY records only"
    );
    let e = read_trust_anchors_str("; nothing\n", Path::new("a.keys")).unwrap_err();
    assert_eq!(e[0].line, 1);
    let e = read_trust_anchors_str(". DS 1 8 2 00\n", Path::new("a.keys")).unwrap_err();
    assert!(
        e[0].to_string()
            .starts_with("a.keys:1: error: DS digest type 2"),
        "{}",
        e[0]
    );
}
