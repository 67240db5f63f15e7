//! The transfer client: the SOA query, AXFR and IXFR over TCP, TSIG on both.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType, TSigner};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

use super::interpret::{self, Bad, Interpreter};
use super::verify::Verifier;
use crate::resolver::transport::{framed, read_framed};

/// A primary to transfer from, and the TSIG key to sign with, if any.
#[derive(Clone)]
pub struct Primary {
    pub addr: SocketAddr,
    pub key: Option<TSigner>,
}

/// What one transfer may take.
#[derive(Clone, Debug)]
pub struct Limits {
    /// No message for this long: the transfer fails (also connect, and the SOA query's wait).
    pub idle: Duration,
    /// At most this many records in one transfer (a primary cannot make us hold more).
    pub max_records: usize,
}

impl Default for Limits {
    /// `idle`: 30 s, between Knot DNS's `tcp-remote-io-timeout` (5 s) and NSD's
    /// `XFRD_TCP_TIMEOUT` (120 s). `max_records`: two million — both NSD
    /// (`size-limit-xfr: 0`) and Knot (`zone-max-size`, 2^64 bytes) leave it
    /// unbounded; the ICANN root is about 22 000 records, and two million of
    /// hickory's records are some hundreds of MB.
    fn default() -> Limits {
        Limits {
            idle: Duration::from_secs(30),
            max_records: 2_000_000,
        }
    }
}

/// What a transfer brought.
#[derive(Clone, Debug, PartialEq)]
pub enum Fetched {
    /// Our serial is current (IXFR answered with the SOA alone); the primary's serial.
    Current { serial: u32 },
    /// The whole zone (AXFR, or IXFR answered AXFR-style): the SOA first, then every other
    /// record, the closing SOA dropped.
    Full { serial: u32, records: Vec<Record> },
    /// IXFR deltas since our serial, oldest first.
    Changes { serial: u32, changes: Vec<Change> },
}

/// One IXFR change (RFC 1995 §4): from serial `from` to `to`, what went and what
/// came (the SOAs not in the vecs).
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub from: u32,
    pub to: u32,
    pub removed: Vec<Record>,
    pub added: Vec<Record>,
    /// The zone's SOA record after this change (serial `to`): [`apply`] puts it
    /// in the zone.
    pub soa: Record,
}

/// Why a transfer or an SOA query failed. Each names the primary (when there is
/// one) and the zone; Display is one line.
#[derive(Debug)]
pub enum XfrError {
    /// Connecting, sending or reading failed (refused, reset, closed early).
    Io {
        primary: SocketAddr,
        zone: Name,
        what: String,
    },
    /// Nothing came for `idle`.
    Timeout {
        primary: SocketAddr,
        zone: Name,
        idle: Duration,
    },
    /// The primary answered with this rcode.
    Rcode {
        primary: SocketAddr,
        zone: Name,
        rcode: ResponseCode,
    },
    /// The reply breaks the protocol: the words say how.
    Malformed {
        primary: SocketAddr,
        zone: Name,
        why: String,
    },
    /// More records than `Limits::max_records`.
    TooLarge {
        primary: SocketAddr,
        zone: Name,
        max: usize,
    },
    /// TSIG: an unsigned reply to a signed request, a bad MAC, BADKEY, BADSIG,
    /// BADTIME, the time off.
    Tsig {
        primary: SocketAddr,
        zone: Name,
        why: String,
    },
    /// The SOA query's reply is not an authoritative answer with the zone's SOA.
    NotAuthoritative { primary: SocketAddr, zone: Name },
    /// [`apply`]: a change does not fit the zone (no primary: the changes came
    /// earlier).
    Apply { zone: Name, why: String },
}

impl fmt::Display for XfrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XfrError::Io {
                primary,
                zone,
                what,
            } => {
                write!(f, "transfer of {zone} from {primary}: {what}")
            }
            XfrError::Timeout {
                primary,
                zone,
                idle,
            } => write!(
                f,
                "transfer of {zone} from {primary}: nothing received for {idle:?}"
            ),
            XfrError::Rcode {
                primary,
                zone,
                rcode,
            } => write!(
                f,
                "transfer of {zone} from {primary}: the primary answered {rcode}"
            ),
            XfrError::Malformed { primary, zone, why } => {
                write!(f, "transfer of {zone} from {primary}: {why}")
            }
            XfrError::TooLarge { primary, zone, max } => write!(
                f,
                "transfer of {zone} from {primary}: over {max} records, refused"
            ),
            XfrError::Tsig { primary, zone, why } => {
                write!(f, "transfer of {zone} from {primary}: TSIG: {why}")
            }
            XfrError::NotAuthoritative { primary, zone } => write!(
                f,
                "SOA of {zone} from {primary}: not an authoritative answer with the zone's SOA"
            ),
            XfrError::Apply { zone, why } => write!(f, "changes to {zone}: {why}"),
        }
    }
}

impl std::error::Error for XfrError {}

/// Builds the errors of one exchange.
struct Ctx<'a> {
    p: &'a Primary,
    zone: &'a Name,
    limits: &'a Limits,
}

impl Ctx<'_> {
    fn io(&self, what: impl fmt::Display) -> XfrError {
        XfrError::Io {
            primary: self.p.addr,
            zone: self.zone.clone(),
            what: what.to_string(),
        }
    }
    fn timeout(&self) -> XfrError {
        XfrError::Timeout {
            primary: self.p.addr,
            zone: self.zone.clone(),
            idle: self.limits.idle,
        }
    }
    fn malformed(&self, why: impl Into<String>) -> XfrError {
        XfrError::Malformed {
            primary: self.p.addr,
            zone: self.zone.clone(),
            why: why.into(),
        }
    }
    fn tsig(&self, why: impl Into<String>) -> XfrError {
        XfrError::Tsig {
            primary: self.p.addr,
            zone: self.zone.clone(),
            why: why.into(),
        }
    }
    fn bad(&self, b: Bad) -> XfrError {
        match b {
            Bad::Rcode(rcode) => XfrError::Rcode {
                primary: self.p.addr,
                zone: self.zone.clone(),
                rcode,
            },
            Bad::Malformed(why) => self.malformed(why),
            Bad::TooLarge(max) => XfrError::TooLarge {
                primary: self.p.addr,
                zone: self.zone.clone(),
                max,
            },
        }
    }

    /// `fut` within `idle`.
    async fn within<T>(
        &self,
        fut: impl Future<Output = std::io::Result<T>>,
        doing: &str,
    ) -> Result<T, XfrError> {
        match tokio::time::timeout(self.limits.idle, fut).await {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Err(self.io(format!("{doing}: the primary closed the connection")))
            }
            Ok(Err(e)) => Err(self.io(format!("{doing}: {e}"))),
            Err(_) => Err(self.timeout()),
        }
    }

    /// A request for `zone` `qtype` (with `authority` for IXFR), signed with the
    /// primary's key if any: its bytes, ID, and the verifier for the replies.
    fn request(
        &self,
        qtype: RecordType,
        authority: Option<&Record>,
    ) -> Result<(Vec<u8>, u16, Option<Verifier>), XfrError> {
        let id: u16 = rand::random();
        let mut m = Message::new(id, MessageType::Query, OpCode::Query);
        let mut q = Query::query(self.zone.clone(), qtype);
        q.set_query_class(DNSClass::IN);
        m.add_query(q);
        if let Some(soa) = authority {
            m.add_authority(soa.clone());
        }
        let mut verifier = None;
        if let Some(key) = &self.p.key {
            let (rec, _) = key
                .sign_message(&m, crate::clock::unix_now())
                .map_err(|e| self.tsig(format!("cannot sign the request: {e}")))?;
            verifier = Some(Verifier::new(key.clone(), rec.data.mac.clone()));
            m.set_signature(rec);
        }
        let bytes = m
            .to_vec()
            .map_err(|e| self.io(format!("cannot encode the request: {e}")))?;
        Ok((bytes, id, verifier))
    }

    /// Parses a reply and checks its TSIG when the request was signed.
    fn parse(&self, bytes: &[u8], verifier: Option<&mut Verifier>) -> Result<Message, XfrError> {
        let m = Message::from_vec(bytes)
            .map_err(|e| self.malformed(format!("a reply that does not parse: {e}")))?;
        if let Some(v) = verifier {
            v.check(bytes, &m, crate::clock::unix_now())
                .map_err(|why| self.tsig(why))?;
        } else if let Some(t) = &m.signature
            && t.data.error.is_some()
        {
            return Err(self.tsig(format!("the primary answered {:?}", t.data.error)));
        }
        Ok(m)
    }
}

/// The primary's SOA serial for `zone` (a UDP query, TCP when truncated; signed with the key if any,
/// and the reply's TSIG checked). Err when the primary does not answer AA with the zone's SOA.
///
/// A reply without AA but with the zone's SOA (altroot answers as a resolver and
/// never sets AA, even for its own zones) is confirmed over TCP by an IXFR for
/// the serial it gave: a primary that serves the zone starts its transfer
/// answer, AA set, with its SOA; only that first message is read.
pub async fn soa_serial(p: &Primary, zone: &Name, limits: &Limits) -> Result<u32, XfrError> {
    let cx = Ctx { p, zone, limits };
    let (bytes, id, mut verifier) = cx.request(RecordType::SOA, None)?;
    let bind: SocketAddr = match p.addr {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(bind).await.map_err(|e| cx.io(e))?;
    sock.connect(p.addr).await.map_err(|e| cx.io(e))?;
    sock.send(&bytes).await.map_err(|e| cx.io(e))?;
    let mut buf = vec![0u8; 65535];
    // Replies with another ID (late ones, spoofed ones) are skipped; bounded.
    let mut reply = None;
    for _ in 0..16 {
        let n = cx.within(sock.recv(&mut buf), "SOA query").await?;
        let got = buf.get(..n).unwrap_or_default();
        if got.len() >= 2 && u16::from_be_bytes([got[0], got[1]]) == id {
            reply = Some(got.to_vec());
            break;
        }
    }
    let reply = reply.ok_or_else(|| cx.malformed("no reply with our ID"))?;
    let mut m = cx.parse(&reply, verifier.as_mut())?;
    if m.metadata.truncation {
        let (bytes, id2, mut verifier) = cx.request(RecordType::SOA, None)?;
        let mut s = cx.within(TcpStream::connect(p.addr), "connect").await?;
        let out = framed(&bytes).map_err(|e| cx.io(e))?;
        cx.within(s.write_all(&out), "send").await?;
        let reply = cx.within(read_framed(&mut s), "SOA query").await?;
        m = cx.parse(&reply, verifier.as_mut())?;
        if m.metadata.id != id2 {
            return Err(cx.malformed("a reply with another ID"));
        }
    }
    if m.metadata.response_code != ResponseCode::NoError {
        return Err(cx.bad(Bad::Rcode(m.metadata.response_code)));
    }
    let serial = m
        .answers
        .iter()
        .filter(|r| r.name == *zone)
        .find_map(interpret::soa_serial);
    match (serial, m.metadata.authoritative) {
        (Some(s), true) => Ok(s),
        (Some(s), false) => confirm(&cx, s).await,
        (None, _) => Err(XfrError::NotAuthoritative {
            primary: p.addr,
            zone: zone.clone(),
        }),
    }
}

/// The first message of an IXFR from `serial`: the primary's SOA, authoritatively.
async fn confirm(cx: &Ctx<'_>, serial: u32) -> Result<u32, XfrError> {
    let soa = Record::from_rdata(
        cx.zone.clone(),
        0,
        hickory_proto::rr::RData::SOA(hickory_proto::rr::rdata::SOA::new(
            Name::root(),
            Name::root(),
            serial,
            0,
            0,
            0,
            0,
        )),
    );
    let (bytes, id, mut verifier) = cx.request(RecordType::IXFR, Some(&soa))?;
    let mut s = cx.within(TcpStream::connect(cx.p.addr), "connect").await?;
    let out = framed(&bytes).map_err(|e| cx.io(e))?;
    cx.within(s.write_all(&out), "send").await?;
    let reply = cx.within(read_framed(&mut s), "IXFR").await?;
    let m = cx.parse(&reply, verifier.as_mut())?;
    let mut i = Interpreter::new(cx.zone, RecordType::IXFR, id, Some(serial), 1 << 16);
    i.feed(&m).map_err(|b| cx.bad(b))?;
    match (
        m.metadata.authoritative,
        m.answers.first().and_then(interpret::soa_serial),
    ) {
        (true, Some(s)) => Ok(s),
        _ => Err(XfrError::NotAuthoritative {
            primary: cx.p.addr,
            zone: cx.zone.clone(),
        }),
    }
}

/// A transfer over TCP: IXFR when `have` (our current SOA record) is given, else AXFR; an IXFR the
/// primary refuses (NOTIMP, FORMERR, REFUSED) is retried once as AXFR.
pub async fn fetch(
    p: &Primary,
    zone: &Name,
    have: Option<&Record>,
    limits: &Limits,
) -> Result<Fetched, XfrError> {
    let cx = Ctx { p, zone, limits };
    let Some(have) = have else {
        return transfer(&cx, None).await;
    };
    let serial = interpret::soa_serial(have)
        .ok_or_else(|| cx.malformed(format!("our record {have} is not an SOA")))?;
    match transfer(&cx, Some((have, serial))).await {
        Err(XfrError::Rcode { rcode, .. })
            if matches!(
                rcode,
                ResponseCode::NotImp | ResponseCode::FormErr | ResponseCode::Refused
            ) =>
        {
            tracing::info!(
                "IXFR of {zone} from {} answered {rcode}: asking AXFR",
                p.addr
            );
            transfer(&cx, None).await
        }
        r => r,
    }
}

/// One transfer: AXFR, or IXFR from `have` (our SOA and its serial).
async fn transfer(cx: &Ctx<'_>, have: Option<(&Record, u32)>) -> Result<Fetched, XfrError> {
    let qtype = match have {
        Some(_) => RecordType::IXFR,
        None => RecordType::AXFR,
    };
    let (bytes, id, mut verifier) = cx.request(qtype, have.map(|h| h.0))?;
    let mut s = cx.within(TcpStream::connect(cx.p.addr), "connect").await?;
    let out = framed(&bytes).map_err(|e| cx.io(e))?;
    cx.within(s.write_all(&out), "send").await?;
    let mut interp = Interpreter::new(cx.zone, qtype, id, have.map(|h| h.1), cx.limits.max_records);
    // Each message holds at least one record, so `max_records` bounds the count.
    let mut done = false;
    for _ in 0..=cx.limits.max_records {
        let reply = match cx.within(read_framed(&mut s), "reading the transfer").await {
            Ok(r) => r,
            Err(XfrError::Io { what, .. }) if interp.messages() > 0 => {
                return Err(
                    cx.malformed(format!("the stream ended before the closing SOA ({what})"))
                );
            }
            Err(e) => return Err(e),
        };
        let m = cx.parse(&reply, verifier.as_mut())?;
        if interp.feed(&m).map_err(|b| cx.bad(b))? {
            done = true;
            break;
        }
    }
    if !done {
        return Err(cx.malformed("more messages than records allowed"));
    }
    if let Some(v) = &verifier {
        v.finish().map_err(|why| cx.tsig(why))?;
    }
    interp.finish().map_err(|b| cx.bad(b))
}
