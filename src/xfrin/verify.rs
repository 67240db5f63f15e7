//! Checking the TSIG of a transfer's replies (RFC 8945 §5.3.1): the first reply
//! is signed over our request's MAC, each later signed one over the MAC before it,
//! the unsigned messages between them (at most 99) and itself; the last message
//! must be signed.
//!
//! hickory's `signed_bitmessage_to_buf` cuts a signed message into what its MAC
//! covers and `TSigner::verify` checks the MAC; hickory's `TSigVerifier` knows no
//! unsigned messages in the chain, so the digest of a later message is put
//! together here: previous MAC, the unsigned messages as received, then the
//! signed one with its timers.

use hickory_proto::op::Message;
use hickory_proto::rr::TSigner;
use hickory_proto::rr::rdata::tsig::signed_bitmessage_to_buf;

/// RFC 8945 §5.3.1: a client must accept up to 99 unsigned messages in a row.
pub const MAX_UNSIGNED: usize = 99;

/// The chain of one transfer's replies.
pub struct Verifier {
    signer: TSigner,
    prev_mac: Vec<u8>,
    first: bool,
    /// The unsigned messages since the last signed one, as received.
    pending: Vec<u8>,
    unsigned: usize,
    /// The time of the last signed reply (they may not go back).
    last_time: u64,
}

impl Verifier {
    /// For the replies to a request signed by `signer` with MAC `request_mac`.
    pub fn new(signer: TSigner, request_mac: Vec<u8>) -> Verifier {
        Verifier {
            signer,
            prev_mac: request_mac,
            first: true,
            pending: Vec::new(),
            unsigned: 0,
            last_time: 0,
        }
    }

    /// Checks one reply (`bytes`, `m` parsed from them) at Unix time `now`.
    pub fn check(&mut self, bytes: &[u8], m: &Message, now: u64) -> Result<(), String> {
        let Some(tsig) = &m.signature else {
            if self.first {
                return Err("the reply is not signed".into());
            }
            self.unsigned += 1;
            if self.unsigned > MAX_UNSIGNED {
                return Err(format!("over {MAX_UNSIGNED} unsigned messages in a row"));
            }
            self.pending.extend_from_slice(bytes);
            return Ok(());
        };
        if let Some(e) = &tsig.data.error {
            return Err(format!("the primary answered {e:?}"));
        }
        if tsig.name != *self.signer.signer_name()
            || tsig.data.algorithm != *self.signer.algorithm()
        {
            return Err(format!(
                "signed with key {} ({}), not ours",
                tsig.name, tsig.data.algorithm
            ));
        }
        // hickory keeps the MAC length to itself: ours, of anything, has it.
        let full = self.signer.sign(&[]).map_err(|e| e.to_string())?.len();
        if tsig.data.mac.len() < full {
            return Err("a truncated MAC".into());
        }
        let prev = self.first.then_some(self.prev_mac.as_slice());
        let (covered, _) =
            signed_bitmessage_to_buf(bytes, prev, self.first).map_err(|e| e.to_string())?;
        let tbs = if self.first {
            covered
        } else {
            let len = u16::try_from(self.prev_mac.len()).map_err(|_| "MAC too long")?;
            let mut tbs =
                Vec::with_capacity(2 + self.prev_mac.len() + self.pending.len() + covered.len());
            tbs.extend_from_slice(&len.to_be_bytes());
            tbs.extend_from_slice(&self.prev_mac);
            tbs.extend_from_slice(&self.pending);
            tbs.extend_from_slice(&covered);
            tbs
        };
        self.signer
            .verify(&tbs, &tsig.data.mac)
            .map_err(|_| "bad MAC".to_string())?;
        let (time, fudge) = (tsig.data.time, u64::from(tsig.data.fudge));
        if now + fudge < time || time + fudge < now {
            return Err(format!(
                "signed at {time}, our time is {now} (fudge {fudge} s)"
            ));
        }
        if time < self.last_time {
            return Err("signed earlier than the message before".into());
        }
        self.last_time = time;
        self.prev_mac = tsig.data.mac.clone();
        self.first = false;
        self.pending.clear();
        self.unsigned = 0;
        Ok(())
    }

    /// After the last message: it must have been signed.
    pub fn finish(&self) -> Result<(), String> {
        match (self.first, self.unsigned) {
            (true, _) => Err("no reply was signed".into()),
            (false, 0) => Ok(()),
            (false, n) => Err(format!("the last {n} messages are not signed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tsig::{FUDGE, Keys};
    use hickory_proto::op::{MessageType, OpCode, Query};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_800_000_000;

    fn signer(secret: &[u8]) -> TSigner {
        TSigner::new(
            secret.to_vec(),
            TsigAlgorithm::HmacSha256,
            Name::from_ascii("xfr.").unwrap(),
            FUDGE,
        )
        .unwrap()
    }

    /// Our signed request, and the server's signing state for its replies
    /// (our own server side, `server::tsig`, which signs every message).
    fn request() -> (Vec<u8>, crate::server::tsig::Signing) {
        let mut m = Message::new(7, MessageType::Query, OpCode::Query);
        m.add_query(Query::query(
            Name::from_ascii("geek.").unwrap(),
            RecordType::AXFR,
        ));
        let (rec, _) = signer(SECRET).sign_message(&m, NOW).unwrap();
        let mac = rec.data.mac.clone();
        m.set_signature(rec);
        let bytes = m.to_vec().unwrap();
        let parsed = Message::from_vec(&bytes).unwrap();
        let keys = Keys::new(&[crate::config::TsigKey {
            name: Name::from_ascii("xfr.").unwrap(),
            algorithm: TsigAlgorithm::HmacSha256,
            secret: SECRET.to_vec(),
        }]);
        let s = keys
            .check(&bytes, &parsed.signature.unwrap(), NOW)
            .ok()
            .unwrap();
        (mac, s)
    }

    fn reply(n: u8) -> Vec<u8> {
        let mut m = Message::new(7, MessageType::Response, OpCode::Query);
        m.add_answer(Record::from_rdata(
            Name::from_ascii("geek.").unwrap(),
            60,
            RData::A(A::new(192, 0, 2, n)),
        ));
        m.to_vec().unwrap()
    }

    fn check(v: &mut Verifier, bytes: &[u8]) -> Result<(), String> {
        v.check(bytes, &Message::from_vec(bytes).unwrap(), NOW)
    }

    // Every message signed: verifies; the same chain under another secret, a
    // changed byte, or the clock off by more than the fudge does not.
    #[test]
    fn a_chain_of_signed_replies_verifies() {
        let (mac, mut s) = request();
        let mut v = Verifier::new(signer(SECRET), mac.clone());
        let mut wrong = Verifier::new(signer(b"fedcba9876543210fedcba9876543210"), mac.clone());
        for n in 0..3 {
            let mut m = reply(n);
            s.sign(7, &mut m, NOW).unwrap();
            check(&mut v, &m).unwrap();
            if n == 0 {
                assert_eq!(check(&mut wrong, &m).unwrap_err(), "bad MAC");
                let mut changed = m.clone();
                changed[20] ^= 1;
                let mut v2 = Verifier::new(signer(SECRET), mac.clone());
                assert!(check(&mut v2, &changed).is_err());
                let mut v3 = Verifier::new(signer(SECRET), mac.clone());
                let err = v3
                    .check(&m, &Message::from_vec(&m).unwrap(), NOW + 301)
                    .unwrap_err();
                assert!(err.contains("fudge"), "{err}");
            }
        }
        v.finish().unwrap();
    }

    /// Signs `msg` as RFC 8945 §5.3.1 has a server sign after `unsigned`
    /// messages it did not sign: previous MAC, those messages, this one, timers.
    fn sign_after(prev: &[u8], unsigned: &[Vec<u8>], msg: &mut Vec<u8>) -> Vec<u8> {
        let s = signer(SECRET);
        let mut tbs = (prev.len() as u16).to_be_bytes().to_vec();
        tbs.extend_from_slice(prev);
        for u in unsigned {
            tbs.extend_from_slice(u);
        }
        tbs.extend_from_slice(msg);
        tbs.extend_from_slice(&NOW.to_be_bytes()[2..]);
        tbs.extend_from_slice(&FUDGE.to_be_bytes());
        let mac = s.sign(&tbs).unwrap();
        let stub = hickory_proto::rr::rdata::TSIG::new(
            TsigAlgorithm::HmacSha256,
            NOW,
            FUDGE,
            mac.clone(),
            7,
            None,
            Vec::new(),
        );
        let rec = hickory_proto::rr::rdata::tsig::make_tsig_record(
            Name::from_ascii("xfr.").unwrap(),
            stub,
        );
        let mut m = Message::from_vec(msg).unwrap();
        m.set_signature(Box::new(rec));
        *msg = m.to_vec().unwrap();
        mac
    }

    // Unsigned messages between signed ones enter the next digest (§5.3.1); a
    // stream whose last messages are unsigned is refused, as is one with an
    // unsigned message dropped, and a reply to a signed request with no TSIG.
    #[test]
    fn unsigned_messages_between_signed_ones_count_in_the_next_mac() {
        let (mac, mut s) = request();
        let mut v = Verifier::new(signer(SECRET), mac.clone());
        let mut first = reply(0);
        s.sign(7, &mut first, NOW).unwrap();
        check(&mut v, &first).unwrap();
        let first_mac = Message::from_vec(&first)
            .unwrap()
            .signature
            .unwrap()
            .data
            .mac;
        let unsigned = vec![reply(1), reply(2)];
        let mut last = reply(3);
        sign_after(&first_mac, &unsigned, &mut last);
        for u in &unsigned {
            check(&mut v, u).unwrap();
            assert!(v.finish().is_err(), "the last message must be signed");
        }
        check(&mut v, &last).unwrap();
        v.finish().unwrap();

        // One unsigned message lost in the middle: the MAC does not fit.
        let mut v = Verifier::new(signer(SECRET), mac.clone());
        check(&mut v, &first).unwrap();
        check(&mut v, &unsigned[0]).unwrap();
        assert_eq!(check(&mut v, &last).unwrap_err(), "bad MAC");

        let mut v = Verifier::new(signer(SECRET), mac);
        assert_eq!(
            check(&mut v, &reply(0)).unwrap_err(),
            "the reply is not signed"
        );
    }

    // BADKEY from the primary: an unsigned TSIG carrying the error.
    #[test]
    fn a_tsig_error_from_the_primary_is_named() {
        let (mac, _) = request();
        let mut m = reply(0);
        crate::server::tsig::Denied::BadKey(Name::from_ascii("xfr.").unwrap())
            .sign(7, &mut m, NOW)
            .unwrap();
        let mut v = Verifier::new(signer(SECRET), mac);
        let err = check(&mut v, &m).unwrap_err();
        assert!(err.contains("BadKey"), "{err}");
    }
}
