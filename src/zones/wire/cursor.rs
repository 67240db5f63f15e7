//! Bounds-checked reading and patching of DNS messages: every read through a
//! [`Cursor`] is checked and gives `None` past the end (or on a name that breaks
//! RFC 1035's rules), and every write through [`Patch`] is checked and skipped
//! when it does not fit, so walking bytes that came off the network can stop
//! early but never panic.
//!
//! Everything that walks message bytes by hand reads through these: the hot
//! path's query reader (`server::wire`), the ready answers' reader and patcher
//! (`resolver::ready`), and the reply walks that want one number from a reply
//! (DoH's `max-age`). Anything more goes through hickory's decoder, which checks
//! for itself.

use super::MAX_NAME;

/// A read position in a message. Reads move it on; a read that fails leaves it
/// where it was.
#[derive(Clone, Copy, Debug)]
pub struct Cursor<'a> {
    m: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// At the start of `m`.
    pub fn new(m: &'a [u8]) -> Cursor<'a> {
        Cursor { m, at: 0 }
    }

    /// At offset `at` of `m` (past the end is allowed: every read then fails).
    pub fn at(m: &'a [u8], at: usize) -> Cursor<'a> {
        Cursor { m, at }
    }

    /// The offset of the next read.
    pub fn pos(&self) -> usize {
        self.at
    }

    /// True when every byte has been read (and no more).
    pub fn at_end(&self) -> bool {
        self.at == self.m.len()
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let b = self.m.get(self.at..end)?;
        self.at = end;
        Some(b)
    }

    /// Moves past `n` bytes (which must be there).
    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.bytes(n).map(|_| ())
    }

    /// The next `N` bytes, as an array.
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let a = *self.m.get(self.at..)?.first_chunk::<N>()?;
        self.at += N;
        Some(a)
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    pub fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    pub fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_be_bytes)
    }

    /// Moves past a name: its labels up to the root label, or up to a compression
    /// pointer, which must point back (RFC 1035 §4.1.4). `None` for a name whose
    /// labels take more than [`MAX_NAME`] bytes with the root label, an extended
    /// label type (RFC 6891 §5: none is in use), or one cut short.
    pub fn skip_name(&mut self) -> Option<()> {
        let start = self.at;
        let mut c = *self;
        let mut len = 0;
        loop {
            let b = c.u8()?;
            match b & 0xc0 {
                0x00 if b == 0 => break,
                0x00 => {
                    len += 1 + usize::from(b);
                    if len + 1 > MAX_NAME {
                        return None;
                    }
                    c.skip(usize::from(b))?;
                }
                0xc0 => {
                    let low = c.u8()?;
                    let to = usize::from(b & 0x3f) << 8 | usize::from(low);
                    if to >= start {
                        return None;
                    }
                    break;
                }
                _ => return None,
            }
        }
        *self = c;
        Some(())
    }

    /// Reads a name written out in full — no compression pointer — and returns its
    /// bytes, root label included: the question of a query as the hot path takes
    /// it. `None` for a pointer, an extended label type, a label over 63 bytes, a
    /// name over [`MAX_NAME`] bytes, or one cut short.
    pub fn plain_name(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        let mut c = *self;
        loop {
            let len = c.u8()?;
            if len == 0 {
                break;
            }
            if len > 63 {
                return None; // a pointer or an extended label type
            }
            c.skip(usize::from(len))?;
            if c.at - start + 1 > MAX_NAME {
                return None; // no room for the root label
            }
        }
        let name = self.m.get(start..c.at)?;
        *self = c;
        Some(name)
    }
}

/// Checked writes into a message being patched: a write that does not fit is
/// skipped and reported (`false`), never a panic.
pub struct Patch<'a>(pub &'a mut [u8]);

impl Patch<'_> {
    /// Writes `bytes` at `at`.
    pub fn put(&mut self, at: usize, bytes: &[u8]) -> bool {
        let Some(end) = at.checked_add(bytes.len()) else {
            return false;
        };
        match self.0.get_mut(at..end) {
            Some(d) => {
                d.copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }

    /// Sets the bits of `mask` in byte `at` to `on`.
    pub fn bits(&mut self, at: usize, mask: u8, on: bool) -> bool {
        match self.0.get_mut(at) {
            Some(b) => {
                *b = if on { *b | mask } else { *b & !mask };
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name of `total` bytes (root label included) in 63-byte labels and a last
    /// shorter one.
    fn name_of(total: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut left = total - 1;
        while left > 0 {
            let l = if left <= 64 {
                left - 1
            } else if left - 64 >= 2 {
                63
            } else {
                62
            };
            out.push(l as u8);
            out.extend(std::iter::repeat_n(b'a', l));
            left -= l + 1;
        }
        out.push(0);
        assert_eq!(out.len(), total);
        out
    }

    #[test]
    fn reads_stop_at_the_end() {
        let m = [1, 2, 3, 4, 5];
        let mut c = Cursor::new(&m);
        assert_eq!(c.u16(), Some(0x0102));
        assert_eq!(c.u32(), None, "only 3 bytes left");
        assert_eq!(c.pos(), 2, "a failed read does not move");
        assert_eq!(c.bytes(3), Some(&m[2..]));
        assert!(c.at_end());
        assert_eq!(c.u8(), None);
        assert_eq!(Cursor::at(&m, 99).u8(), None);
        assert_eq!(Cursor::at(&m, usize::MAX).bytes(2), None, "no overflow");
    }

    // The 255-byte limit counts the root label (RFC 1035 §3.1): 255 is a name,
    // 256 is not, whatever the labels — REVIEW finding 1 let 256 through.
    #[test]
    fn names_up_to_255_bytes_and_no_longer() {
        for total in [1, 3, 65, 254, 255, 256, 257, 300] {
            let mut m = name_of(total);
            m.extend_from_slice(&[0, 1, 0, 1]);
            let ok = total <= MAX_NAME;
            let mut c = Cursor::new(&m);
            assert_eq!(
                c.plain_name().map(<[u8]>::len),
                ok.then_some(total),
                "{total}"
            );
            assert_eq!(c.pos(), if ok { total } else { 0 });
            let mut c = Cursor::new(&m);
            assert_eq!(c.skip_name().is_some(), ok, "skip {total}");
        }
    }

    #[test]
    fn pointers_must_point_back() {
        // "www" at 0, then a name at 5 that points to 0, then one pointing to itself.
        let m = b"\x03www\x00\x01a\xc0\x00\xc0\x09";
        let mut c = Cursor::at(m, 5);
        assert!(c.skip_name().is_some());
        assert_eq!(c.pos(), 9);
        assert!(c.skip_name().is_none(), "a pointer to itself");
        assert!(
            Cursor::at(m, 5).plain_name().is_none(),
            "not in full: the hot path leaves it to the full parser"
        );
        assert!(
            Cursor::new(b"\x41\x00").skip_name().is_none(),
            "extended label"
        );
        assert!(Cursor::new(b"\xc0").skip_name().is_none(), "cut pointer");
        assert!(Cursor::new(b"\x03ww").plain_name().is_none(), "cut label");
    }

    #[test]
    fn patches_that_do_not_fit_are_skipped() {
        let mut m = [0u8; 4];
        let mut p = Patch(&mut m);
        assert!(p.put(2, &[7, 8]));
        assert!(!p.put(3, &[9, 9]));
        assert!(!p.put(usize::MAX, &[1]));
        assert!(p.bits(0, 0x81, true));
        assert!(!p.bits(4, 1, true));
        assert_eq!(m, [0x81, 0, 7, 8]);
    }
}
