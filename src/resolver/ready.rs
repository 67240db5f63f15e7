//! Ready answers: replies kept in wire format, so that answering a question seen
//! before is copy and patch — the ID, RD and CD, the question name's case, the EDNS
//! buffer size, the TTLs counted down — with no parsing, no lookup in zones or
//! caches, no encoding.
//!
//! A reply becomes ready when it was answered without a failure from local zones or
//! a cache — an answer that just came from the network is not, so names asked once
//! (the long tail, or a random-subdomain flood) cost only their cache entry; it is
//! filed under the question (name in lower case, type, class, and the
//! reply's shape: EDNS or not, DO). Answers from the network or the caches live as
//! long as their smallest TTL, and their TTLs count down; answers from local zones
//! are kept at most [`LOCAL_SECS`], so routing decisions (collision checks, claims
//! that expire) are taken again now and then, and all of them go when zones reload.
//! The store is bounded in bytes; an entry is one allocation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::answer::{Route, Source};

/// Longest life of a ready answer from local zones (seconds).
pub const LOCAL_SECS: u64 = 60;
/// What an entry costs beyond its bytes (the map slot, the allocation's header).
const OVERHEAD: u64 = 48;
/// Fixed header of an entry (see [`Ready`]).
const HEADER: usize = 36;

/// One ready reply, in one allocation: a fixed header, the TTL fields to count down
/// (offset and TTL when stored, 6 bytes each), the key it is filed under, and the
/// whole reply (ID 0, the question in lower case). Header layout: expires (8),
/// stored (8), question end (2), OPT offset (2, 0 = none), TTL count (2), key length
/// (2), reply length (2), flags (1: bit 0 count TTLs down, bit 1 local), rcode (1),
/// answers (2), route (4: 0 local, 1 interrupt, 2 unrouted, 3+i root i), 2 spare.
#[derive(Clone, Debug)]
pub struct Ready(Arc<[u8]>);

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_be_bytes(a)
}

impl Ready {
    pub fn expires(&self) -> u64 {
        u64_at(&self.0, 0)
    }

    fn stored(&self) -> u64 {
        u64_at(&self.0, 8)
    }

    fn question_end(&self) -> usize {
        usize::from(u16_at(&self.0, 16))
    }

    fn opt(&self) -> Option<usize> {
        match u16_at(&self.0, 18) {
            0 => None,
            at => Some(usize::from(at)),
        }
    }

    fn ttls(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        let n = usize::from(u16_at(&self.0, 20));
        self.0[HEADER..HEADER + 6 * n].chunks_exact(6).map(|c| {
            (
                usize::from(u16::from_be_bytes([c[0], c[1]])),
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
            )
        })
    }

    fn key(&self) -> &[u8] {
        let n = usize::from(u16_at(&self.0, 20));
        let at = HEADER + 6 * n;
        &self.0[at..at + usize::from(u16_at(&self.0, 22))]
    }

    fn wire(&self) -> &[u8] {
        let n = usize::from(u16_at(&self.0, 20));
        let at = HEADER + 6 * n + usize::from(u16_at(&self.0, 22));
        &self.0[at..at + usize::from(u16_at(&self.0, 24))]
    }

    fn decrement(&self) -> bool {
        self.0[26] & 1 != 0
    }

    pub fn source(&self) -> Source {
        if self.0[26] & 2 != 0 {
            Source::Local
        } else {
            Source::Cache
        }
    }

    pub fn rcode(&self) -> u8 {
        self.0[27]
    }

    pub fn answers(&self) -> u16 {
        u16_at(&self.0, 28)
    }

    pub fn route(&self) -> Route {
        match u32::from_be_bytes([self.0[30], self.0[31], self.0[32], self.0[33]]) {
            0 => Route::Local,
            1 => Route::Interrupt,
            2 => Route::Unrouted,
            n => Route::Root((n - 3) as usize),
        }
    }
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<u64, Ready> for ByBytes {
    fn weight(&self, _key: &u64, val: &Ready) -> u64 {
        val.0.len() as u64 + OVERHEAD
    }
}

/// A fast hash with a per-process random seed (names come from clients).
type Hasher = foldhash::fast::RandomState;

pub struct ReadyCache {
    /// Filed under a seeded hash of the key; the key itself is kept in the entry and
    /// compared, so a collision is a miss, never a wrong answer.
    map: Cache<u64, Ready, ByBytes, Hasher>,
    hasher: Hasher,
    /// Changes when everything stored must be forgotten (zones reloaded).
    generation: AtomicU64,
}

impl ReadyCache {
    /// A store of at most `bytes`.
    pub fn new(bytes: u64) -> ReadyCache {
        let bytes = bytes.max(64 * 1024);
        ReadyCache {
            map: Cache::with(
                (bytes / 192) as usize,
                bytes,
                ByBytes,
                Hasher::default(),
                Default::default(),
            ),
            hasher: Hasher::default(),
            generation: AtomicU64::new(0),
        }
    }

    fn hash(&self, key: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(key)
    }

    pub fn get(&self, key: &[u8]) -> Option<Ready> {
        self.map.get(&self.hash(key)).filter(|r| r.key() == key)
    }

    /// Files a reply looked up when the store was at `generation` (see
    /// [`ReadyCache::generation`]); one from before a [`ReadyCache::clear`] is not
    /// kept.
    pub fn insert(&self, key: &[u8], ready: ReadyParts, generation: u64) {
        if self.generation() != generation {
            return;
        }
        let Some(r) = ready.assemble(key) else {
            return;
        };
        let h = self.hash(key);
        self.map.insert(h, r);
        // A clear that began after the check above bumped the generation before
        // emptying the map: either that emptying removes this entry, or the
        // generation has moved by now and the entry goes here.
        if self.generation() != generation {
            self.map.remove(&h);
        }
    }

    /// Forgets everything (a reload changed what the zones say).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.map.clear();
    }

    /// Changes at every [`ReadyCache::clear`]: read it before looking an answer
    /// up, and pass it to [`ReadyCache::insert`], so that an answer from the zones
    /// or caches of before a reload is never filed after it.
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

/// A ready answer before it is filed (its key is added then).
#[derive(Debug)]
pub struct ReadyParts {
    wire: Vec<u8>,
    question_end: u16,
    opt: u16,
    ttls: Vec<(u16, u32)>,
    decrement: bool,
    stored: u64,
    expires: u64,
    route: Route,
    answers: u16,
}

impl ReadyParts {
    /// A ready answer from an encoded reply, or `None` when it must not be kept: no
    /// usable structure, TC set, or TTL 0 (for answers that count down).
    pub fn from_reply(
        reply: &[u8],
        route: Route,
        source: Source,
        answers: u16,
        now: u64,
    ) -> Option<ReadyParts> {
        if reply.len() < 12 || reply[2] & 0x02 != 0 {
            return None;
        }
        let counts = |i: usize| usize::from(u16::from_be_bytes([reply[i], reply[i + 1]]));
        if counts(4) != 1 {
            return None;
        }
        let mut wire = reply.to_vec();
        wire[0] = 0;
        wire[1] = 0;
        let mut i = skip_name(&wire, 12)?;
        i += 4;
        let question_end = u16::try_from(i).ok()?;
        for b in &mut wire[12..i - 4] {
            *b = b.to_ascii_lowercase();
        }
        let mut ttls = Vec::new();
        let mut opt = 0;
        let mut min_ttl = u32::MAX;
        for (section, n) in [counts(6), counts(8), counts(10)].into_iter().enumerate() {
            for _ in 0..n {
                let start = i;
                i = skip_name(&wire, i)?;
                let fixed = wire.get(i..i + 10)?;
                let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
                let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
                let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
                if rtype == 41 {
                    opt = u16::try_from(start).ok()?;
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
        Some(ReadyParts {
            wire,
            question_end,
            opt,
            ttls,
            decrement,
            stored: now,
            expires,
            route,
            answers,
        })
    }

    /// Lives no longer than `until` (the routing it was answered by holds until
    /// then; REVIEW finding 4).
    pub fn cap_expiry(&mut self, until: u64) {
        self.expires = self.expires.min(until);
    }

    fn assemble(&self, key: &[u8]) -> Option<Ready> {
        let mut b = Vec::with_capacity(HEADER + 6 * self.ttls.len() + key.len() + self.wire.len());
        b.extend_from_slice(&self.expires.to_be_bytes());
        b.extend_from_slice(&self.stored.to_be_bytes());
        b.extend_from_slice(&self.question_end.to_be_bytes());
        b.extend_from_slice(&self.opt.to_be_bytes());
        b.extend_from_slice(&u16::try_from(self.ttls.len()).ok()?.to_be_bytes());
        b.extend_from_slice(&u16::try_from(key.len()).ok()?.to_be_bytes());
        b.extend_from_slice(&u16::try_from(self.wire.len()).ok()?.to_be_bytes());
        b.push(u8::from(self.decrement) | if self.decrement { 0 } else { 2 });
        b.push(self.wire[3] & 0x0f);
        b.extend_from_slice(&self.answers.to_be_bytes());
        let route: u32 = match self.route {
            Route::Local => 0,
            Route::Interrupt => 1,
            Route::Unrouted => 2,
            Route::Root(i) => 3 + u32::try_from(i).ok()?,
        };
        b.extend_from_slice(&route.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        debug_assert_eq!(b.len(), HEADER);
        for (at, ttl) in &self.ttls {
            b.extend_from_slice(&at.to_be_bytes());
            b.extend_from_slice(&ttl.to_be_bytes());
        }
        b.extend_from_slice(key);
        b.extend_from_slice(&self.wire);
        Some(Ready(b.into()))
    }
}

impl Ready {
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
        out.extend_from_slice(self.wire());
        out[0..2].copy_from_slice(&id.to_be_bytes());
        out[2] = (out[2] & !0x01) | u8::from(rd);
        out[3] = (out[3] & !0x10) | if cd { 0x10 } else { 0 };
        out[12..12 + name.len()].copy_from_slice(name);
        let payload = edns.map(|e| e.clamp(512, super::transport::EDNS_PAYLOAD));
        if let (Some(at), Some(p)) = (self.opt(), payload) {
            out[at + 3..at + 5].copy_from_slice(&p.to_be_bytes());
        }
        if self.decrement() {
            let gone = u32::try_from(now.saturating_sub(self.stored())).unwrap_or(u32::MAX);
            for (at, ttl) in self.ttls() {
                out[at..at + 4].copy_from_slice(&ttl.saturating_sub(gone).to_be_bytes());
            }
        }
        if out.len() > limit {
            self.truncate(out);
        }
    }

    /// The reply cut to its header, question and OPT, with TC set (RFC 2181 §9).
    fn truncate(&self, out: &mut Vec<u8>) {
        let opt: Option<Vec<u8>> = self.opt().map(|at| out[at..].to_vec());
        out.truncate(self.question_end());
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
#[path = "ready_tests.rs"]
mod tests;
