//! Ready answers: replies kept in wire format, so that answering a question seen
//! before is copy and patch — the ID, RD and CD, the question name's case, the TTLs
//! counted down, TC when it does not fit — with no parsing, no lookup in zones or
//! caches, no encoding. The OPT record stays as the full path wrote it (our buffer
//! size, DO as asked): the reply's shape (EDNS or not, DO) is part of the key.
//!
//! A reply becomes ready when it was answered without a failure from local zones or
//! a cache — an answer that just came from the network is not, so names asked once
//! (the long tail, or a random-subdomain flood) cost only their cache entry; it is
//! filed under the question (name in lower case, type, class, and the
//! reply's shape: EDNS or not, DO). Answers from the network or the caches live as
//! long as their smallest TTL, and their TTLs count down; answers from local zones
//! are kept at most [`LOCAL_SECS`], so routing decisions (collision checks, claims
//! that expire) are taken again now and then, and all of them go when zones reload.
//! The store is bounded in bytes; an entry is one allocation. Every byte of a
//! reply or an entry is read and patched through the bounds-checked
//! [`Cursor`] and [`Patch`]: nothing here indexes a message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::answer::{Route, Source};
use crate::zones::wire::cursor::{Cursor, Patch};

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
/// (2), reply length (2), flags (1: bit 0 count TTLs down, bit 1 local, bit 2
/// DNSSEC secure), rcode (1),
/// answers (2), route (4: 0 local, 1 interrupt, 2 unrouted, 3+i root i), 2 spare.
#[derive(Clone, Debug)]
pub struct Ready(Arc<[u8]>);

impl Ready {
    fn u16_at(&self, at: usize) -> u16 {
        Cursor::at(&self.0, at).u16().unwrap_or(0)
    }

    /// Byte `at` of the header (0 if the entry were too short: never, as
    /// [`ReadyParts::assemble`] writes the whole header).
    fn byte(&self, at: usize) -> u8 {
        self.0.get(at).copied().unwrap_or(0)
    }

    /// When it expires (0, long gone, for an entry that cannot be read).
    pub fn expires(&self) -> u64 {
        Cursor::new(&self.0).u64().unwrap_or(0)
    }

    fn stored(&self) -> u64 {
        Cursor::at(&self.0, 8).u64().unwrap_or(0)
    }

    fn question_end(&self) -> usize {
        usize::from(self.u16_at(16))
    }

    fn opt(&self) -> Option<usize> {
        match self.u16_at(18) {
            0 => None,
            at => Some(usize::from(at)),
        }
    }

    fn ttl_count(&self) -> usize {
        usize::from(self.u16_at(20))
    }

    fn ttls(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        let n = self.ttl_count();
        let table = self.0.get(HEADER..HEADER + 6 * n).unwrap_or_default();
        table.chunks_exact(6).filter_map(|c| {
            let mut c = Cursor::new(c);
            Some((usize::from(c.u16()?), c.u32()?))
        })
    }

    fn key(&self) -> &[u8] {
        let at = HEADER + 6 * self.ttl_count();
        let len = usize::from(self.u16_at(22));
        self.0.get(at..at + len).unwrap_or_default()
    }

    fn wire(&self) -> &[u8] {
        let at = HEADER + 6 * self.ttl_count() + usize::from(self.u16_at(22));
        let len = usize::from(self.u16_at(24));
        self.0.get(at..at + len).unwrap_or_default()
    }

    fn decrement(&self) -> bool {
        self.byte(26) & 1 != 0
    }

    /// Validated secure: AD for clients that set AD or DO.
    fn secure(&self) -> bool {
        self.byte(26) & 4 != 0
    }

    pub fn source(&self) -> Source {
        if self.byte(26) & 2 != 0 {
            Source::Local
        } else {
            Source::Cache
        }
    }

    pub fn rcode(&self) -> u8 {
        self.byte(27)
    }

    pub fn answers(&self) -> u16 {
        self.u16_at(28)
    }

    pub fn route(&self) -> Route {
        match Cursor::at(&self.0, 30).u32().unwrap_or(2) {
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
    secure: bool,
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
        let mut c = Cursor::at(reply, 2);
        let flags = c.u8()?;
        c.skip(1)?;
        let counts = [c.u16()?, c.u16()?, c.u16()?, c.u16()?];
        if flags & 0x02 != 0 || counts[0] != 1 {
            return None;
        }
        c.skip_name()?;
        let name_end = c.pos();
        c.skip(4)?;
        let question_end = u16::try_from(c.pos()).ok()?;
        let mut ttls = Vec::new();
        let mut opt = 0;
        let mut min_ttl = u32::MAX;
        for (section, n) in counts[1..].iter().enumerate() {
            for _ in 0..*n {
                let start = c.pos();
                c.skip_name()?;
                let rtype = c.u16()?;
                c.skip(2)?; // class
                let ttl_at = c.pos();
                let ttl = c.u32()?;
                let rdlen = c.u16()?;
                c.skip(usize::from(rdlen))?;
                if rtype == 41 {
                    opt = u16::try_from(start).ok()?;
                } else {
                    ttls.push((u16::try_from(ttl_at).ok()?, ttl));
                    if section < 2 {
                        min_ttl = min_ttl.min(ttl);
                    }
                }
            }
        }
        if !c.at_end() {
            return None;
        }
        let mut wire = reply.to_vec();
        let mut p = Patch(&mut wire);
        p.put(0, &[0, 0]);
        for b in p.0.get_mut(12..name_end).unwrap_or_default() {
            *b = b.to_ascii_lowercase();
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
            secure: false,
        })
    }

    /// The answer was validated secure (its AD bit is set per client).
    pub fn set_secure(&mut self, secure: bool) {
        self.secure = secure;
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
        b.push(
            u8::from(self.decrement)
                | if self.decrement { 0 } else { 2 }
                | if self.secure { 4 } else { 0 },
        );
        b.push(self.wire.get(3).copied().unwrap_or(2) & 0x0f);
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
    /// Writes this answer for a client into `out`: its ID, RD and CD, AD when the
    /// answer is secure and the client set AD or DO (`ad_ok`), the name as it
    /// wrote it (`name`: the question name's bytes from its query), TTLs counted
    /// down to `now`; cut to TC when larger than `limit` (the client's size). The
    /// OPT record stays as the full path wrote it for the first client of this
    /// key: our buffer size (RFC 6891 §6.2.5), and DO copied (RFC 3225 §3), which
    /// the key holds.
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        id: u16,
        rd: bool,
        cd: bool,
        ad_ok: bool,
        name: &[u8],
        limit: usize,
        now: u64,
    ) {
        out.clear();
        out.extend_from_slice(self.wire());
        let mut p = Patch(out);
        p.put(0, &id.to_be_bytes());
        p.bits(2, 0x01, rd);
        p.bits(3, 0x10, cd);
        p.bits(3, 0x20, ad_ok && self.secure());
        p.put(12, name);
        if self.decrement() {
            let gone = u32::try_from(now.saturating_sub(self.stored())).unwrap_or(u32::MAX);
            for (at, ttl) in self.ttls() {
                p.put(at, &ttl.saturating_sub(gone).to_be_bytes());
            }
        }
        if out.len() > limit {
            self.truncate(out);
        }
    }

    /// The reply cut to its header, question and OPT, with TC set (RFC 2181 §9).
    fn truncate(&self, out: &mut Vec<u8>) {
        let opt: Option<Vec<u8>> = self.opt().and_then(|at| out.get(at..)).map(<[u8]>::to_vec);
        out.truncate(self.question_end());
        let mut p = Patch(out);
        p.bits(2, 0x02, true);
        p.put(6, &[0, 0, 0, 0, 0, u8::from(opt.is_some())]);
        if let Some(o) = opt {
            out.extend_from_slice(&o);
        }
    }
}

#[cfg(test)]
#[path = "ready_tests.rs"]
mod tests;
