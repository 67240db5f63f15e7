//! TSIG (RFC 8945) for zone transfers: a signed request is checked against the
//! keys of `[transfer] keys`, and every reply to it is signed, the messages of a
//! transfer chained (§5.3.1: each MAC covers the one before it).
//!
//! The MAC, the record layout and the request check are hickory's (`TSigner`:
//! `verify_message_byte`, `encode_response_tbs`, `sign`); what hickory-server
//! has no use for — the chained digest of a transfer's later messages, which
//! covers only the TSIG timers, and BADTIME with our time in "other data" — is
//! built here from those pieces. The TSIG record goes on the end of the encoded
//! message (the MAC covers the message without it, §4.3.3).

use hickory_proto::rr::rdata::TSIG;
use hickory_proto::rr::rdata::tsig::{TsigAlgorithm, TsigError, make_tsig_record};
use hickory_proto::rr::{Name, Record, TSigner};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use crate::config::TsigKey;

/// Seconds of clock difference a signature may have (RFC 8945 §10: 300).
pub const FUDGE: u16 = 300;

/// The configured keys, as hickory signers.
#[derive(Clone, Default)]
pub struct Keys(Vec<TSigner>);

impl Keys {
    pub fn new(keys: &[TsigKey]) -> Keys {
        Keys(
            keys.iter()
                .filter_map(|k| {
                    TSigner::new(k.secret.clone(), k.algorithm.clone(), k.name.clone(), FUDGE)
                        .inspect_err(|e| tracing::warn!("TSIG key {}: {e}", k.name))
                        .ok()
                })
                .collect(),
        )
    }

    /// Checks a signed request (`bytes`, its TSIG record `tsig`) at Unix time
    /// `now`: the signing state for the replies, or why it is refused.
    pub fn check(&self, bytes: &[u8], tsig: &Record<TSIG>, now: u64) -> Result<Signing, Denied> {
        let Some(signer) = self
            .0
            .iter()
            .find(|s| s.signer_name() == &tsig.name && s.algorithm() == &tsig.data.algorithm)
        else {
            return Err(Denied::BadKey(tsig.name.clone()));
        };
        let Ok((mac, _, range)) = signer.verify_message_byte(bytes, None, true) else {
            return Err(Denied::BadSig(signer.clone()));
        };
        let signing = Signing {
            signer: signer.clone(),
            prev_mac: mac,
            first: true,
        };
        if now < range.start || now > range.end {
            return Err(Denied::BadTime(signing));
        }
        Ok(signing)
    }
}

/// Why a signed request is refused (NOTAUTH, RFC 8945 §5.2).
pub enum Denied {
    /// No key of that name and algorithm: the reply's TSIG is unsigned.
    BadKey(Name),
    /// The MAC is wrong: the reply's TSIG is unsigned.
    BadSig(TSigner),
    /// The MAC is right but the time is off by more than the fudge: the reply is
    /// signed, with our time in "other data" (§5.2.3).
    BadTime(Signing),
}

impl Denied {
    /// Appends the TSIG record this denial calls for to the encoded reply `msg`.
    pub fn sign(self, id: u16, msg: &mut Vec<u8>, now: u64) -> Result<(), String> {
        let unsigned = |name: Name, algorithm: TsigAlgorithm, error| {
            make_tsig_record(
                name,
                TSIG::new(
                    algorithm,
                    now,
                    FUDGE,
                    Vec::new(),
                    id,
                    Some(error),
                    Vec::new(),
                ),
            )
        };
        match self {
            Denied::BadKey(name) => append(
                msg,
                &unsigned(name, TsigAlgorithm::HmacSha256, TsigError::BadKey),
            ),
            Denied::BadSig(s) => append(
                msg,
                &unsigned(
                    s.signer_name().clone(),
                    s.algorithm().clone(),
                    TsigError::BadSig,
                ),
            ),
            Denied::BadTime(mut s) => {
                let other = now.to_be_bytes()[2..].to_vec(); // 48-bit time
                s.sign_with(id, msg, now, Some(TsigError::BadTime), other)
            }
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Denied::BadKey(_) => "BADKEY",
            Denied::BadSig(_) => "BADSIG",
            Denied::BadTime(_) => "BADTIME",
        }
    }
}

/// Signing the replies to one signed request: the MAC of the request, then of
/// each message sent, chains them.
pub struct Signing {
    signer: TSigner,
    prev_mac: Vec<u8>,
    first: bool,
}

impl Signing {
    /// The key's name.
    pub fn key(&self) -> &Name {
        self.signer.signer_name()
    }

    /// Signs the next reply message (`msg`, encoded, the ID of the request), at
    /// Unix time `now`: the first over the request's MAC and the full TSIG
    /// variables (§5.3), each later one over the previous MAC and the timers
    /// only (§5.3.1).
    pub fn sign(&mut self, id: u16, msg: &mut Vec<u8>, now: u64) -> Result<(), String> {
        self.sign_with(id, msg, now, None, Vec::new())
    }

    fn sign_with(
        &mut self,
        id: u16,
        msg: &mut Vec<u8>,
        now: u64,
        error: Option<TsigError>,
        other: Vec<u8>,
    ) -> Result<(), String> {
        let s = &self.signer;
        let stub = TSIG::new(
            s.algorithm().clone(),
            now,
            s.fudge(),
            Vec::new(),
            id,
            error,
            other,
        );
        let tbs = if self.first {
            s.encode_response_tbs(&self.prev_mac, msg, &stub)
                .map_err(|e| e.to_string())?
        } else {
            let mut tbs = Vec::with_capacity(msg.len() + self.prev_mac.len() + 10);
            let len = u16::try_from(self.prev_mac.len()).map_err(|_| "MAC too long")?;
            tbs.extend_from_slice(&len.to_be_bytes());
            tbs.extend_from_slice(&self.prev_mac);
            tbs.extend_from_slice(msg);
            tbs.extend_from_slice(&now.to_be_bytes()[2..]);
            tbs.extend_from_slice(&s.fudge().to_be_bytes());
            tbs
        };
        let mac = s.sign(&tbs).map_err(|e| e.to_string())?;
        append(
            msg,
            &make_tsig_record(s.signer_name().clone(), stub.set_mac(mac.clone())),
        )?;
        self.prev_mac = mac;
        self.first = false;
        Ok(())
    }
}

/// Appends a TSIG record to an encoded message and counts it in ARCOUNT.
fn append(msg: &mut Vec<u8>, tsig: &Record<TSIG>) -> Result<(), String> {
    let count = msg
        .get(10..12)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or("message shorter than a header")?;
    let mut rr = Vec::with_capacity(128);
    tsig.emit(&mut BinEncoder::new(&mut rr))
        .map_err(|e| e.to_string())?;
    if msg.len() + rr.len() > usize::from(u16::MAX) {
        return Err("no room for the TSIG record".into());
    }
    msg.extend_from_slice(&rr);
    msg[10..12].copy_from_slice(&count.saturating_add(1).to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Message, MessageType, OpCode, Query};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{RData, RecordType};

    fn key(name: &str, secret: &[u8]) -> TsigKey {
        TsigKey {
            name: Name::from_ascii(name).unwrap(),
            algorithm: TsigAlgorithm::HmacSha256,
            secret: secret.to_vec(),
        }
    }

    /// A request signed by `k` at `time`, and its TSIG record as the server parses it.
    fn signed_request(k: &TsigKey, time: u64) -> (Vec<u8>, Record<TSIG>) {
        let mut m = Message::new(4242, MessageType::Query, OpCode::Query);
        m.add_query(Query::query(
            Name::from_ascii("geek.").unwrap(),
            RecordType::AXFR,
        ));
        let signer =
            TSigner::new(k.secret.clone(), k.algorithm.clone(), k.name.clone(), FUDGE).unwrap();
        let (rec, _) = signer.sign_message(&m, time).unwrap();
        m.set_signature(rec);
        let bytes = m.to_vec().unwrap();
        let parsed = Message::from_vec(&bytes).unwrap();
        (bytes, *parsed.signature.unwrap())
    }

    fn reply(n: u8) -> Vec<u8> {
        let mut m = Message::new(4242, MessageType::Response, OpCode::Query);
        m.add_answer(Record::from_rdata(
            Name::from_ascii("geek.").unwrap(),
            60,
            RData::A(A::new(192, 0, 2, n)),
        ));
        m.to_vec().unwrap()
    }

    // A three-message transfer signed by us verifies with hickory's client-side
    // check, message by message, each over the MAC before it (RFC 8945 §5.3.1);
    // a message changed in flight, or taken out of the chain, does not.
    #[test]
    fn a_signed_transfer_verifies_message_by_message() {
        let k = key("xfr.", b"0123456789abcdef0123456789abcdef");
        let keys = Keys::new(std::slice::from_ref(&k));
        let now = 1_800_000_000;
        let (req, tsig) = signed_request(&k, now);
        let mut s = keys.check(&req, &tsig, now + 10).ok().unwrap();
        let client =
            TSigner::new(k.secret.clone(), k.algorithm.clone(), k.name.clone(), FUDGE).unwrap();
        let mut prev = tsig.data.mac.clone();
        let mut sent = Vec::new();
        for n in 0..3 {
            let mut m = reply(n);
            s.sign(4242, &mut m, now + 11).unwrap();
            let (mac, time, _) = client.verify_message_byte(&m, Some(&prev), n == 0).unwrap();
            assert_eq!(time, now + 11);
            prev = mac;
            sent.push(m);
        }
        // A changed answer: the MAC no longer fits.
        let mut bad = sent[1].clone();
        let at = bad.len() - 80;
        bad[at] ^= 1;
        let first = client
            .verify_message_byte(&sent[0], Some(&tsig.data.mac), true)
            .unwrap()
            .0;
        assert!(
            client
                .verify_message_byte(&bad, Some(&first), false)
                .is_err()
        );
        // The third message checked as if the second were missing.
        assert!(
            client
                .verify_message_byte(&sent[2], Some(&first), false)
                .is_err()
        );
    }

    // Unknown key → BADKEY; right name, wrong secret → BADSIG; right key, clock
    // off by more than the fudge → BADTIME; the reply's TSIG says so.
    #[test]
    fn bad_requests_are_named() {
        let k = key("xfr.", b"0123456789abcdef0123456789abcdef");
        let keys = Keys::new(std::slice::from_ref(&k));
        let now = 1_800_000_000;
        let (req, tsig) = signed_request(&key("other.", b"0123456789abcdef0123456789abcdef"), now);
        assert_eq!(
            keys.check(&req, &tsig, now).err().map(|d| d.code()),
            Some("BADKEY")
        );
        let (req, tsig) = signed_request(&key("xfr.", b"fedcba9876543210fedcba9876543210"), now);
        assert_eq!(
            keys.check(&req, &tsig, now).err().map(|d| d.code()),
            Some("BADSIG")
        );
        let (req, tsig) = signed_request(&k, now);
        let denied = keys.check(&req, &tsig, now + 301).err().unwrap();
        assert_eq!(denied.code(), "BADTIME");
        let mut m = reply(1);
        denied.sign(4242, &mut m, now + 301).unwrap();
        let parsed = Message::from_vec(&m).unwrap();
        let t = parsed.signature.unwrap();
        assert_eq!(t.data.error, Some(TsigError::BadTime));
        assert_eq!(t.data.other, (now + 301).to_be_bytes()[2..].to_vec());
        assert!(keys.check(&req, &tsig, now + 300).is_ok());
    }
}
