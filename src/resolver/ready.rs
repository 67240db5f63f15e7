//! Ready answers: replies kept in wire format, so that answering a question seen
//! before is copy and patch — the ID, RD and CD, the question name's case, the EDNS
//! buffer size, the TTLs counted down — with no parsing, no lookup in zones or
//! caches, no encoding.
//!
//! A reply becomes ready when it was answered without a failure and not from stale
//! data; it is filed under the question (name in lower case, type, class, and the
//! reply's shape: EDNS or not, DO). Answers from the network or the caches live as
//! long as their smallest TTL, and their TTLs count down; answers from local zones
//! are kept at most [`LOCAL_SECS`], so routing decisions (collision checks, claims
//! that expire) are taken again now and then, and all of them go when zones reload.
//! The store is bounded in bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::answer::{Route, Source};

/// Longest life of a ready answer from local zones (seconds).
pub const LOCAL_SECS: u64 = 60;
/// What an entry costs beyond its bytes (the Arc, the map slot, the TTL list).
const OVERHEAD: u64 = 96;

/// One ready reply.
#[derive(Debug)]
pub struct Ready {
    /// The whole reply (ID 0, the question in lower case).
    pub wire: Box<[u8]>,
    /// Where the question ends (the name starts at 12).
    pub question_end: u16,
    /// Where the OPT record starts, if the reply has one (it is the last record).
    pub opt: Option<u16>,
    /// TTL fields to count down: offset and the TTL when stored.
    pub ttls: Box<[(u16, u32)]>,
    /// Whether TTLs count down (answers from the network or caches; local data
    /// keeps its TTLs).
    pub decrement: bool,
    /// Wall-clock seconds: when stored, and when it may no longer be used.
    pub stored: u64,
    pub expires: u64,
    /// For the query log.
    pub route: Route,
    pub source: Source,
    pub rcode: u8,
    pub answers: u16,
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<Box<[u8]>, Arc<Ready>> for ByBytes {
    fn weight(&self, key: &Box<[u8]>, val: &Arc<Ready>) -> u64 {
        (key.len() + val.wire.len() + val.ttls.len() * 8) as u64 + OVERHEAD
    }
}

pub struct ReadyCache {
    map: Cache<Box<[u8]>, Arc<Ready>, ByBytes>,
    /// Changes when everything stored must be forgotten (zones reloaded): per-core
    /// copies compare it and drop theirs.
    generation: AtomicU64,
}

impl ReadyCache {
    /// A store of at most `bytes`.
    pub fn new(bytes: u64) -> ReadyCache {
        let bytes = bytes.max(64 * 1024);
        ReadyCache {
            map: Cache::with_weighter((bytes / 256) as usize, bytes, ByBytes),
            generation: AtomicU64::new(0),
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<Arc<Ready>> {
        self.map.get(key)
    }

    pub fn insert(&self, key: &[u8], ready: Ready) {
        self.map.insert(key.into(), Arc::new(ready));
    }

    /// Forgets everything (a reload changed what the zones say).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::Release);
        self.map.clear();
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Bytes held (for tests and metrics).
    pub fn weight(&self) -> u64 {
        self.map.weight()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl Ready {
    /// A ready answer from an encoded reply, or `None` when it must not be kept: no
    /// usable structure, TC set, or TTL 0 (for answers that count down).
    #[allow(clippy::too_many_arguments)]
    pub fn from_reply(
        reply: &[u8],
        route: Route,
        source: Source,
        answers: u16,
        now: u64,
    ) -> Option<Ready> {
        if reply.len() < 12 || reply[2] & 0x02 != 0 {
            return None;
        }
        let counts = |i: usize| usize::from(u16::from_be_bytes([reply[i], reply[i + 1]]));
        if counts(4) != 1 {
            return None;
        }
        let mut wire: Box<[u8]> = reply.into();
        wire[0] = 0;
        wire[1] = 0;
        let mut i = skip_name(&wire, 12)?;
        i += 4;
        let question_end = u16::try_from(i).ok()?;
        for b in &mut wire[12..i - 4] {
            *b = b.to_ascii_lowercase();
        }
        let mut ttls = Vec::new();
        let mut opt = None;
        let mut min_ttl = u32::MAX;
        let sections = [counts(6), counts(8), counts(10)];
        for (section, n) in sections.into_iter().enumerate() {
            for _ in 0..n {
                let start = i;
                i = skip_name(&wire, i)?;
                let fixed = wire.get(i..i + 10)?;
                let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
                let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
                let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
                if rtype == 41 {
                    opt = Some(u16::try_from(start).ok()?);
                } else {
                    ttls.push((u16::try_from(i + 4).ok()?, ttl));
                    if section < 2 {
                        min_ttl = min_ttl.min(ttl);
                    }
                }
                i += 10 + rdlen;
            }
        }
        if i != wire.len() {
            return None;
        }
        let decrement = source != Source::Local;
        let expires = if decrement {
            if min_ttl == 0 {
                return None;
            }
            now + u64::from(min_ttl.min(u32::MAX - 1))
        } else {
            now + LOCAL_SECS
        };
        Some(Ready {
            rcode: wire[3] & 0x0f,
            wire,
            question_end,
            opt,
            ttls: ttls.into(),
            decrement,
            stored: now,
            expires,
            route,
            source: if decrement {
                Source::Cache
            } else {
                Source::Local
            },
            answers,
        })
    }

    /// Writes this answer for a client into `out`: its ID, RD and CD, the name as it
    /// wrote it (`name`: the question name's bytes from its query), its EDNS size,
    /// TTLs counted down to `now`; cut to TC when larger than `limit`.
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        id: u16,
        rd: bool,
        cd: bool,
        name: &[u8],
        edns: Option<u16>,
        limit: usize,
        now: u64,
    ) {
        out.clear();
        out.extend_from_slice(&self.wire);
        out[0..2].copy_from_slice(&id.to_be_bytes());
        out[2] = (out[2] & !0x01) | u8::from(rd);
        out[3] = (out[3] & !0x10) | if cd { 0x10 } else { 0 };
        out[12..12 + name.len()].copy_from_slice(name);
        let payload = edns.map(|e| e.clamp(512, super::transport::EDNS_PAYLOAD));
        if let (Some(at), Some(p)) = (self.opt, payload) {
            let at = usize::from(at) + 3;
            out[at..at + 2].copy_from_slice(&p.to_be_bytes());
        }
        if self.decrement {
            let gone = u32::try_from(now.saturating_sub(self.stored)).unwrap_or(u32::MAX);
            for &(at, ttl) in self.ttls.iter() {
                let at = usize::from(at);
                out[at..at + 4].copy_from_slice(&ttl.saturating_sub(gone).to_be_bytes());
            }
        }
        if out.len() > limit {
            self.truncate(out);
        }
    }

    /// The reply cut to its header, question and OPT, with TC set (RFC 2181 §9).
    fn truncate(&self, out: &mut Vec<u8>) {
        let opt: Option<Vec<u8>> = self.opt.map(|at| out[usize::from(at)..].to_vec());
        out.truncate(usize::from(self.question_end));
        out[2] |= 0x02;
        out[6..12].copy_from_slice(&[0, 0, 0, 0, 0, u8::from(opt.is_some())]);
        if let Some(o) = opt {
            out.extend_from_slice(&o);
        }
    }
}

/// The offset after a (possibly compressed) name starting at `i`.
fn skip_name(m: &[u8], mut i: usize) -> Option<usize> {
    for _ in 0..128 {
        let len = *m.get(i)?;
        match len {
            0 => return Some(i + 1),
            l if l & 0xc0 == 0xc0 => return (i + 2 <= m.len()).then_some(i + 2),
            l if l < 64 => i += 1 + usize::from(l),
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
    use hickory_proto::rr::rdata::{A, SOA};
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    fn reply(ttl: u32, edns: bool, big: bool) -> Vec<u8> {
        let n = Name::from_ascii("www.geek.").unwrap();
        let mut m = Message::new(0, MessageType::Response, OpCode::Query);
        m.metadata.recursion_available = true;
        m.add_query(Query::query(n.clone(), RecordType::A));
        let count = if big { 60 } else { 1 };
        for i in 0..count {
            m.add_answer(Record::from_rdata(
                n.clone(),
                ttl,
                RData::A(A::new(192, 0, 2, i as u8)),
            ));
        }
        let z = Name::from_ascii("geek.").unwrap();
        m.add_authority(Record::from_rdata(
            z.clone(),
            ttl + 100,
            RData::SOA(SOA::new(z.clone(), z, 1, 1, 1, 1, 1)),
        ));
        if edns {
            let mut e = Edns::new();
            e.set_max_payload(1232);
            m.set_edns(e);
        }
        m.to_vec().unwrap()
    }

    #[test]
    fn a_hit_is_patched_for_its_client() {
        let r = Ready::from_reply(
            &reply(300, true, false),
            Route::Root(1),
            Source::Network,
            1,
            1_000,
        )
        .unwrap();
        assert_eq!(r.expires, 1_300, "the smallest TTL");
        let mut out = Vec::new();
        r.write(
            &mut out,
            0x1234,
            true,
            true,
            b"\x03WwW\x04gEEk\x00",
            Some(4096),
            1232,
            1_010,
        );
        let m = Message::from_vec(&out).unwrap();
        assert_eq!(m.metadata.id, 0x1234);
        assert!(m.metadata.recursion_desired && m.metadata.checking_disabled);
        assert_eq!(m.queries[0].name().to_string(), "WwW.gEEk.");
        assert_eq!(m.answers[0].ttl, 290);
        assert_eq!(m.authorities[0].ttl, 390);
        assert_eq!(m.edns.unwrap().max_payload(), 1232, "capped at ours");
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    }

    #[test]
    fn local_answers_keep_their_ttls_and_live_a_minute() {
        let r = Ready::from_reply(
            &reply(0, false, false),
            Route::Root(0),
            Source::Local,
            1,
            1_000,
        )
        .unwrap();
        assert_eq!(r.expires, 1_000 + LOCAL_SECS);
        let mut out = Vec::new();
        r.write(
            &mut out,
            1,
            false,
            false,
            b"\x03www\x04geek\x00",
            None,
            512,
            1_050,
        );
        assert_eq!(Message::from_vec(&out).unwrap().answers[0].ttl, 0);
        assert!(
            Ready::from_reply(
                &reply(0, false, false),
                Route::Root(1),
                Source::Network,
                1,
                0
            )
            .is_none(),
            "TTL 0 from the network is never kept"
        );
    }

    #[test]
    fn too_big_for_the_client_is_cut_to_tc() {
        let r = Ready::from_reply(
            &reply(300, true, true),
            Route::Root(1),
            Source::Cache,
            60,
            0,
        )
        .unwrap();
        let mut out = Vec::new();
        r.write(
            &mut out,
            7,
            true,
            false,
            b"\x03www\x04geek\x00",
            Some(512),
            512,
            0,
        );
        let m = Message::from_vec(&out).unwrap();
        assert!(m.metadata.truncation);
        assert!(m.answers.is_empty() && m.authorities.is_empty());
        assert!(m.edns.is_some(), "OPT kept");
        r.write(
            &mut out,
            7,
            true,
            false,
            b"\x03www\x04geek\x00",
            Some(4096),
            usize::from(u16::MAX),
            0,
        );
        assert_eq!(
            Message::from_vec(&out).unwrap().answers.len(),
            60,
            "whole over TCP"
        );
        let mut tc = reply(300, false, false);
        tc[2] |= 0x02;
        assert!(
            Ready::from_reply(&tc, Route::Root(1), Source::Cache, 1, 0).is_none(),
            "a truncated reply is not kept"
        );
    }
}
