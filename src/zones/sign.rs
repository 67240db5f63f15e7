//! Signing the zones of a root that has keys (issue 15 §3b), offline: when the
//! zone set is built (start-up and every reload), not per answer.
//!
//! A zone read and checked as usual is signed whole ([`sign_zone`]):
//!
//! - the DNSKEY RRset at the apex (KSK and ZSK), signed by the KSK;
//! - DS records (SHA-256 of the KSK) at the origin of each zone of the same
//!   folder whose closest enclosing zone is this one (`geek.` in `root.zone` for
//!   `geek.zone`): the chain of trust from the root's one anchor down;
//! - an NSEC chain over every authoritative name and every delegation, in
//!   canonical order (RFC 4034 §4, §6.1); glue and names below a cut are not in
//!   it; TTL min(SOA TTL, SOA MINIMUM) (RFC 9077);
//! - an RRSIG by the ZSK over every other authoritative RRset; at a delegation
//!   only the DS and NSEC are signed, never the NS or glue (RFC 4035 §2.2).
//!
//! Signatures run from [`INCEPTION_BACKDATE`] before the build (clock skew) for
//! [`VALIDITY`]; a zone is signed again ([`Zone::resign_at`]) when less than
//! [`RESIGN_BEFORE`] of that is left, so `check`'s 7-day expiry warning never
//! fires for a served zone.
//!
//! The signed zone is then built again from the zone's records and the new ones,
//! so it is served by the same code as a pre-signed zone ([`super::signed`]).
//! A zone file that holds DNSSEC records already (DNSKEY, RRSIG, NSEC, NSEC3,
//! NSEC3PARAM) is refused in a root with keys: two signers of one zone would
//! leave two key sets and chains that contradict each other.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::path::PathBuf;
use std::sync::Arc;

use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::build::Builder;
use super::keys::{KEY_TTL, SigningKeys, ZoneKey};
use super::problem::Problem;
use super::reader::Rec;
use super::signed::canonical_cmp;
use super::store::{CUT, SetRec, Store};
use super::wire::{decode_rdata, label_count, label_starts, to_wire};
use super::zone::Zone;

/// How long signatures are valid from the build.
pub const VALIDITY: u64 = 14 * 86_400;
/// Inception this long before the build (validators with a slow clock).
pub const INCEPTION_BACKDATE: u64 = 3600;
/// A zone is signed again when less than this is left of its signatures.
pub const RESIGN_BEFORE: u64 = 10 * 86_400;

/// One name of the zone that the NSEC chain and the signatures cover.
struct Owner {
    name: Vec<u8>,
    /// Its node in the zone's store (`None`: a name only a synthesised DS owns).
    id: Option<u32>,
    /// A delegation: only DS and NSEC are signed here.
    cut: bool,
    /// The DS altroot adds here (a zone of the same folder).
    ds: Option<Vec<u8>>,
}

/// One RRset to sign: owner, type, TTL, where its records are, and which key.
struct Job<'a> {
    owner: &'a [u8],
    rtype: RecordType,
    ttl: u32,
    src: Src<'a>,
    ksk: bool,
}

/// Where a job's records are.
enum Src<'a> {
    /// A set of the zone's store.
    Set(&'a SetRec),
    /// Records altroot made (one RRset, consecutive in its list).
    Made(&'a [Made<'a>]),
}

/// A record altroot adds to the zone.
struct Made<'a> {
    owner: &'a [u8],
    rtype: RecordType,
    ttl: u32,
    rdata: Vec<u8>,
}

/// Signatures made and handed to the builder this many RRsets at a time, so
/// that they are held once (in the builder), not twice.
const BATCH: usize = 1 << 15;

/// Signs `zone` (read and checked, unsigned) with `keys`, adding DS records for
/// `children` (origins of zones of the same folder that this zone encloses
/// most closely); `now` is the Unix time of the build. Returns the signed zone
/// and its warnings, or why it cannot be signed (at the zone's file and line).
pub fn sign_zone(
    zone: &Zone,
    keys: &SigningKeys,
    children: &[Name],
    now: u64,
) -> Result<(Zone, Vec<Problem>), Vec<Problem>> {
    refuse_presigned(zone)?;
    let store = &zone.store;
    let apex = &zone.origin_wire[..];
    let (soa_file, soa_line) = zone.soa_line();

    // The names the chain covers, in canonical order.
    let mut owners: Vec<Owner> = Vec::new();
    for id in 0..store.node_count() {
        if store.sets(id).is_empty() || below_cut(zone, store.name(id)) {
            continue;
        }
        let name = store.name(id);
        owners.push(Owner {
            name: name.to_vec(),
            id: Some(id),
            cut: name != apex && store.node(id).flags & CUT != 0,
            ds: None,
        });
    }
    let zone_owners = owners.len();
    let mut problems = Vec::new();
    for child in children {
        let wire = to_wire(child, true);
        if wire == apex || below_cut(zone, &wire) {
            continue;
        }
        let ds = match ds_rdata(&keys.ksk, child) {
            Ok(d) => d,
            Err(e) => {
                let msg = format!("cannot make the DS of {child}: {e}");
                problems.push(Problem::error(&soa_file, soa_line, msg));
                continue;
            }
        };
        // The zone's own owners are in node order (binary search); the names
        // only DS records own are pushed after them.
        let id = store.find(&wire);
        let own = id.and_then(|id| {
            owners[..zone_owners]
                .binary_search_by_key(&Some(id), |o| o.id)
                .ok()
        });
        match own {
            Some(i) => owners[i].ds = Some(ds),
            None => owners.push(Owner {
                id,
                cut: false,
                name: wire,
                ds: Some(ds),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    owners.sort_by(|a, b| canonical_cmp(&a.name, &b.name));

    // What altroot adds: DNSKEY, DS, NSEC; each RRset's records consecutive.
    let mut made: Vec<Made<'_>> = Vec::with_capacity(owners.len() + 2);
    for k in [&keys.ksk, &keys.zsk] {
        made.push(Made {
            owner: apex,
            rtype: RecordType::DNSKEY,
            ttl: KEY_TTL,
            rdata: dnskey_rdata(k),
        });
    }
    let nsec_ttl = zone.negative_soa.ttl;
    for (i, o) in owners.iter().enumerate() {
        if let Some(ds) = &o.ds {
            made.push(Made {
                owner: &o.name,
                rtype: RecordType::DS,
                ttl: KEY_TTL,
                rdata: ds.clone(),
            });
        }
        let next = &owners[(i + 1) % owners.len()].name;
        let mut types: Vec<u16> = signed_sets(zone, o)
            .map(|s| u16::from(s.rtype()))
            .chain([u16::from(RecordType::NSEC), u16::from(RecordType::RRSIG)])
            .collect();
        if o.cut {
            types.push(u16::from(RecordType::NS));
        }
        if o.name == apex {
            types.push(u16::from(RecordType::DNSKEY));
        }
        if o.ds.is_some() {
            types.push(u16::from(RecordType::DS));
        }
        let mut rdata = next.clone();
        rdata.extend(type_bitmap(&mut types));
        made.push(Made {
            owner: &o.name,
            rtype: RecordType::NSEC,
            ttl: nsec_ttl,
            rdata,
        });
    }

    // Every RRset to sign: the zone's authoritative ones and what was made.
    let mut jobs: Vec<Job<'_>> = Vec::new();
    for o in &owners {
        for set in signed_sets(zone, o) {
            jobs.push(Job {
                owner: &o.name,
                rtype: set.rtype(),
                ttl: set.ttl,
                src: Src::Set(set),
                ksk: false,
            });
        }
    }
    for group in made.chunk_by(|a, b| a.owner == b.owner && a.rtype == b.rtype) {
        jobs.push(Job {
            owner: group[0].owner,
            rtype: group[0].rtype,
            ttl: group[0].ttl,
            src: Src::Made(group),
            ksk: group[0].rtype == RecordType::DNSKEY,
        });
    }

    // The zone again, with its new records and their signatures.
    let files: Vec<Arc<PathBuf>> = zone.files.iter().cloned().map(Arc::new).collect();
    let main = Arc::new(soa_file.clone());
    let mut b = Builder::new(zone.origin());
    for id in 0..store.node_count() {
        for set in store.sets(id) {
            let file = files.get(set.file as usize).unwrap_or(&main);
            for rdata in store.rdatas(set) {
                b.add(Rec {
                    owner: store.name(id),
                    rtype: set.rtype(),
                    ttl: set.ttl,
                    rdata,
                    file,
                    line: set.line as usize,
                });
            }
        }
    }
    for m in &made {
        b.add(Rec {
            owner: m.owner,
            rtype: m.rtype,
            ttl: m.ttl,
            rdata: &m.rdata,
            file: &main,
            line: soa_line,
        });
    }
    let times = Times {
        inception: now.saturating_sub(INCEPTION_BACKDATE) as u32,
        expiration: (now + VALIDITY) as u32,
    };
    for batch in jobs.chunks(BATCH) {
        let sigs = sign_all(store, batch, keys, apex, times).map_err(|e| {
            vec![Problem::error(
                &soa_file,
                soa_line,
                format!("cannot sign the zone: {e}"),
            )]
        })?;
        for (job, sig) in batch.iter().zip(&sigs) {
            b.add(Rec {
                owner: job.owner,
                rtype: RecordType::RRSIG,
                ttl: job.ttl,
                rdata: sig,
                file: &main,
                line: soa_line,
            });
        }
    }
    drop(jobs);
    drop(made);
    drop(owners);
    let (mut signed, warnings) = b.finish(zone.files.clone())?;
    signed.stamps = zone.stamps.clone();
    signed.resign_at = Some(now + VALIDITY - RESIGN_BEFORE);
    signed.signed_children = children.to_vec();
    Ok((signed, warnings))
}

/// A zone that holds DNSSEC records already: the first one, as an error.
fn refuse_presigned(zone: &Zone) -> Result<(), Vec<Problem>> {
    let store = &zone.store;
    let dnssec = |t: RecordType| {
        matches!(
            t,
            RecordType::DNSKEY
                | RecordType::RRSIG
                | RecordType::NSEC
                | RecordType::NSEC3
                | RecordType::NSEC3PARAM
        )
    };
    let found = (0..store.node_count())
        .flat_map(|id| store.sets(id).iter().map(move |s| (id, s)))
        .filter(|(_, s)| dnssec(s.rtype()))
        .min_by_key(|(_, s)| (s.file, s.line));
    let at = match found {
        Some((id, s)) => Some((
            zone.files.get(s.file as usize).cloned().unwrap_or_default(),
            s.line as usize,
            format!("{} {}", super::wire::to_name(store.name(id)), s.rtype()),
        )),
        // NSEC3 records live apart, in the chain.
        None if zone.signed.is_some() => {
            let (f, l) = zone.soa_line();
            Some((f, l, "NSEC3 records".to_string()))
        }
        None => None,
    };
    match at {
        None => Ok(()),
        Some((file, line, what)) => Err(vec![Problem::error(
            file,
            line,
            format!(
                "{what}: this zone is signed already, but its root has keys and altroot signs its zones itself; \
                 remove the DNSSEC records (DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM) or the root's keys folder"
            ),
        )]),
    }
}

/// Is `name` strictly below a delegation of the zone (glue, occluded data)?
fn below_cut(zone: &Zone, name: &[u8]) -> bool {
    if !zone.has_cuts_or_dnames {
        return false;
    }
    let starts = label_starts(name);
    let first = label_count(&zone.origin_wire) + 1;
    (first..starts.count()).any(|k| {
        zone.store
            .find(&name[starts.suffix(k)..])
            .is_some_and(|a| zone.store.node(a).flags & CUT != 0)
    })
}

/// The zone's RRsets at `o` that get an RRSIG: all of them, but at a delegation
/// only the DS.
fn signed_sets<'z>(zone: &'z Zone, o: &Owner) -> impl Iterator<Item = &'z SetRec> + 'z {
    let sets = o.id.map(|id| zone.store.sets(id)).unwrap_or(&[]);
    let cut = o.cut;
    sets.iter()
        .filter(move |s| !cut || s.rtype() == RecordType::DS)
}

/// RDATA in canonical form (RFC 4034 §6.2: names in the RDATA of the types it
/// lists in lower case). Types without names are as stored.
fn canonical(rtype: RecordType, rdata: &[u8]) -> Cow<'_, [u8]> {
    use RecordType as T;
    if matches!(
        rtype,
        T::A | T::AAAA
            | T::TXT
            | T::DS
            | T::DNSKEY
            | T::CAA
            | T::SSHFP
            | T::TLSA
            | T::HINFO
            | T::OPENPGPKEY
    ) {
        return Cow::Borrowed(rdata);
    }
    let Ok(data) = decode_rdata(rtype, rdata) else {
        return Cow::Borrowed(rdata);
    };
    let mut out = Vec::with_capacity(rdata.len());
    let mut e = BinEncoder::new(&mut out);
    e.set_canonical_form(true);
    e.set_name_encoding(NameEncoding::Uncompressed);
    match data.emit(&mut e) {
        Ok(()) => Cow::Owned(out),
        Err(_) => Cow::Borrowed(rdata),
    }
}

fn dnskey_rdata(k: &ZoneKey) -> Vec<u8> {
    let mut out = k.dnskey.flags().to_be_bytes().to_vec();
    out.push(3);
    out.push(u8::from(k.algorithm));
    out.extend_from_slice(hickory_proto::dnssec::PublicKey::public_bytes(
        k.dnskey.public_key(),
    ));
    out
}

fn ds_rdata(ksk: &ZoneKey, owner: &Name) -> Result<Vec<u8>, String> {
    let ds = ksk.ds(owner)?;
    let mut out = ds.key_tag().to_be_bytes().to_vec();
    out.push(u8::from(ds.algorithm()));
    out.push(2); // SHA-256
    out.extend_from_slice(ds.digest());
    Ok(out)
}

/// The NSEC type bit maps (RFC 4034 §4.1.2) of `types`.
fn type_bitmap(types: &mut Vec<u16>) -> Vec<u8> {
    types.sort_unstable();
    types.dedup();
    let mut out = Vec::new();
    for window in types.chunk_by(|a, b| a >> 8 == b >> 8) {
        let mut bits = [0u8; 32];
        let mut len = 0;
        for &t in window {
            let low = (t & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
        }
        out.push((window[0] >> 8) as u8);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
    out
}

/// Signature inception and expiration (RFC 1982 serials of Unix time).
#[derive(Clone, Copy)]
struct Times {
    inception: u32,
    expiration: u32,
}

/// Signs every job, on as many threads as there are cores; RRSIG RDATAs in the
/// order of `jobs`.
fn sign_all(
    store: &Store,
    jobs: &[Job<'_>],
    keys: &SigningKeys,
    signer: &[u8],
    times: Times,
) -> Result<Vec<Vec<u8>>, String> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(jobs.len().max(1));
    let per = jobs.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<Vec<u8>>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|j| {
                            let key = if j.ksk { &keys.ksk } else { &keys.zsk };
                            rrsig(store, j, key, signer, times)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a signing thread failed".into()))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(jobs.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// The RRSIG RDATA over one RRset (RFC 4034 §3.1.8.1): the RDATA without the
/// signature, then each record in canonical order (RDATA in canonical form,
/// sorted as octet strings, §6.2–6.3) as owner | type | class | original TTL |
/// RDATA length | RDATA.
fn rrsig(
    store: &Store,
    job: &Job<'_>,
    key: &ZoneKey,
    signer: &[u8],
    times: Times,
) -> Result<Vec<u8>, String> {
    let wildcard = job.owner.starts_with(b"\x01*");
    let labels = label_count(job.owner) - usize::from(wildcard);
    let mut head = Vec::with_capacity(18 + signer.len() + 100);
    head.extend_from_slice(&u16::from(job.rtype).to_be_bytes());
    head.push(u8::from(key.algorithm));
    head.push(labels as u8);
    head.extend_from_slice(&job.ttl.to_be_bytes());
    head.extend_from_slice(&times.expiration.to_be_bytes());
    head.extend_from_slice(&times.inception.to_be_bytes());
    head.extend_from_slice(&key.tag.to_be_bytes());
    head.extend_from_slice(signer);
    let mut rdatas: Vec<Cow<'_, [u8]>> = match job.src {
        Src::Set(set) => store.rdatas(set).map(|r| canonical(job.rtype, r)).collect(),
        Src::Made(made) => made.iter().map(|m| Cow::Borrowed(&m.rdata[..])).collect(),
    };
    rdatas.sort();
    rdatas.dedup();
    let mut tbs = head.clone();
    for r in rdatas {
        tbs.extend_from_slice(job.owner);
        tbs.extend_from_slice(&u16::from(job.rtype).to_be_bytes());
        tbs.extend_from_slice(&1u16.to_be_bytes()); // IN
        tbs.extend_from_slice(&job.ttl.to_be_bytes());
        let len = u16::try_from(r.len()).map_err(|_| "RDATA over 65535 octets".to_string())?;
        tbs.extend_from_slice(&len.to_be_bytes());
        tbs.extend_from_slice(&r);
    }
    let sig = key.sign(&tbs)?;
    head.extend_from_slice(&sig);
    Ok(head)
}

/// For each zone origin of a folder, the origins of the folder whose closest
/// enclosing zone it is (they get their DS in it).
pub fn children_of(origins: &[Name]) -> Vec<(Name, Vec<Name>)> {
    origins
        .iter()
        .map(|parent| {
            let kids = origins
                .iter()
                .filter(|c| {
                    *c != parent
                        && parent.zone_of(c)
                        && closest_parent(origins, c).is_some_and(|p| p == parent)
                })
                .cloned()
                .collect();
            (parent.clone(), kids)
        })
        .collect()
}

fn closest_parent<'a>(origins: &'a [Name], child: &Name) -> Option<&'a Name> {
    origins
        .iter()
        .filter(|p| *p != child && p.zone_of(child))
        .max_by(|a, b| a.num_labels().cmp(&b.num_labels()).then(Ordering::Equal))
}

#[cfg(test)]
#[path = "sign_tests.rs"]
mod tests;
