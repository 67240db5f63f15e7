//! Reading a transfer's replies, message by message, without I/O: which kind of
//! answer the records make (RFC 5936 §2.2 for AXFR, RFC 1995 §4 for IXFR), where
//! it ends, and what does not fit. The client feeds each parsed message; the
//! tests feed hand-made ones.

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::client::{Change, Fetched};

/// What the messages said was wrong; the client adds the primary and the zone.
#[derive(Debug, PartialEq, Eq)]
pub enum Bad {
    /// The reply's rcode is not NOERROR.
    Rcode(ResponseCode),
    /// Anything else: the words say what.
    Malformed(String),
    /// More than this many records.
    TooLarge(usize),
}

fn bad(why: impl Into<String>) -> Bad {
    Bad::Malformed(why.into())
}

/// Where a transfer's records are.
enum State {
    /// Nothing yet: the first record must be the zone's SOA.
    Start,
    /// The first SOA came (its serial); for IXFR the second record decides.
    First(u32),
    /// The whole zone, until the SOA with the first serial again.
    Full,
    /// IXFR changes: removing (the change's `from` serial seen) or adding (its
    /// `to` SOA seen).
    Removing,
    Adding,
    /// The closing SOA came.
    Done,
    /// IXFR answered with the SOA alone: our serial is current.
    Current,
}

/// One transfer's replies read so far.
pub struct Interpreter {
    zone: Name,
    qtype: RecordType,
    id: u16,
    /// Our serial (IXFR).
    have: Option<u32>,
    max_records: usize,
    messages: usize,
    count: usize,
    state: State,
    /// The primary's serial (the first SOA).
    serial: u32,
    records: Vec<Record>,
    changes: Vec<Change>,
}

impl Interpreter {
    /// For a request of `qtype` (AXFR or IXFR, `have` our serial for IXFR) for
    /// `zone` sent with ID `id`.
    pub fn new(
        zone: &Name,
        qtype: RecordType,
        id: u16,
        have: Option<u32>,
        max_records: usize,
    ) -> Interpreter {
        Interpreter {
            zone: zone.clone(),
            qtype,
            id,
            have,
            max_records,
            messages: 0,
            count: 0,
            state: State::Start,
            serial: 0,
            records: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// Messages read so far.
    pub fn messages(&self) -> usize {
        self.messages
    }

    /// Reads one reply message; true once the transfer is complete.
    pub fn feed(&mut self, m: &Message) -> Result<bool, Bad> {
        if matches!(self.state, State::Done | State::Current) {
            return Err(bad("a message after the closing SOA"));
        }
        self.check_header(m)?;
        self.messages += 1;
        let n = m.answers.len();
        if self.count.saturating_add(n) > self.max_records {
            return Err(Bad::TooLarge(self.max_records));
        }
        self.count += n;
        // IXFR: the SOA alone, not newer than ours, is "you are current" (§4).
        if self.messages == 1
            && n == 1
            && let (Some(have), Some(serial)) = (self.have, soa_serial(&m.answers[0]))
            && !crate::zones::serial_lt(have, serial)
        {
            self.record(&m.answers[0])?;
            self.state = State::Current;
            self.records.clear();
            return Ok(true);
        }
        if n == 0 {
            return Err(bad("a message with no records"));
        }
        for (i, r) in m.answers.iter().enumerate() {
            self.record(r)?;
            if matches!(self.state, State::Done) && i + 1 < n {
                return Err(bad(format!("{} records after the closing SOA", n - i - 1)));
            }
        }
        Ok(matches!(self.state, State::Done))
    }

    /// What the transfer held, once [`Interpreter::feed`] said it is complete.
    pub fn finish(self) -> Result<Fetched, Bad> {
        let serial = self.serial;
        match self.state {
            State::Current => Ok(Fetched::Current { serial }),
            State::Done if !self.changes.is_empty() => Ok(Fetched::Changes {
                serial,
                changes: self.changes,
            }),
            State::Done => Ok(Fetched::Full {
                serial,
                records: self.records,
            }),
            _ => Err(bad("the stream ended before the closing SOA")),
        }
    }

    fn check_header(&self, m: &Message) -> Result<(), Bad> {
        let h = &m.metadata;
        if h.id != self.id {
            return Err(bad(format!("a reply with ID {}, not {}", h.id, self.id)));
        }
        if h.message_type != MessageType::Response || h.op_code != OpCode::Query {
            return Err(bad("a message that is not a reply to a query"));
        }
        if h.response_code != ResponseCode::NoError {
            return Err(Bad::Rcode(h.response_code));
        }
        // The question is in the first message (RFC 5936 §2.2.1); later ones may
        // echo it.
        match &m.queries[..] {
            [] if self.messages == 0 => Err(bad("the first reply has no question")),
            [] => Ok(()),
            [q] if q.name() == &self.zone
                && q.query_type() == self.qtype
                && q.query_class() == DNSClass::IN =>
            {
                Ok(())
            }
            [q] => Err(bad(format!(
                "a reply for {} {}, not {} {}",
                q.name(),
                q.query_type(),
                self.zone,
                self.qtype
            ))),
            _ => Err(bad("a reply with several questions")),
        }
    }

    fn record(&mut self, r: &Record) -> Result<(), Bad> {
        if !self.zone.zone_of(&r.name) {
            return Err(bad(format!(
                "{} {} is outside the zone",
                r.name,
                r.record_type()
            )));
        }
        if r.dns_class != DNSClass::IN {
            return Err(bad(format!(
                "{} {} has class {}, not IN",
                r.name,
                r.record_type(),
                r.dns_class
            )));
        }
        let apex_soa = match (&r.data, r.name == self.zone) {
            (RData::SOA(s), true) => Some(s.serial),
            (RData::SOA(_), false) => {
                return Err(bad(format!("an SOA record at {}, below the zone", r.name)));
            }
            _ => None,
        };
        match (&self.state, apex_soa) {
            (State::Start, Some(s)) => {
                self.serial = s;
                self.records.push(r.clone());
                self.state = State::First(s);
            }
            (State::Start, None) => {
                return Err(bad(format!(
                    "the first record is {} {}, not the zone's SOA",
                    r.name,
                    r.record_type()
                )));
            }
            // SOA, SOA of the same serial: an AXFR of a zone that is the SOA alone.
            (State::First(s), Some(t)) if *s == t => self.state = State::Done,
            // IXFR, incremental: the second record is the SOA of our serial.
            (State::First(_), Some(t)) if self.qtype == RecordType::IXFR => {
                if Some(t) != self.have {
                    return Err(bad(format!(
                        "the first change starts at serial {t}, not ours ({:?})",
                        self.have
                    )));
                }
                self.records.clear();
                self.changes.push(Change {
                    from: t,
                    to: t,
                    removed: Vec::new(),
                    added: Vec::new(),
                    soa: r.clone(),
                });
                self.state = State::Removing;
            }
            (State::First(_), Some(t)) => {
                return Err(bad(format!(
                    "a second SOA (serial {t}) that is not the closing one ({})",
                    self.serial
                )));
            }
            (State::First(_), None) => {
                self.records.push(r.clone());
                self.state = State::Full;
            }
            (State::Full, Some(t)) if t == self.serial => self.state = State::Done,
            (State::Full, Some(t)) => {
                return Err(bad(format!(
                    "an SOA with serial {t} inside the zone (serial {})",
                    self.serial
                )));
            }
            (State::Full, None) => self.records.push(r.clone()),
            (State::Removing, Some(t)) => {
                let c = self.last_change()?;
                c.to = t;
                c.soa = r.clone();
                self.state = State::Adding;
            }
            (State::Removing, None) => self.last_change()?.removed.push(r.clone()),
            (State::Adding, Some(t)) => {
                let to = self.last_change()?.to;
                if t == self.serial && to == self.serial {
                    self.state = State::Done;
                } else if t == to {
                    self.changes.push(Change {
                        from: t,
                        to: t,
                        removed: Vec::new(),
                        added: Vec::new(),
                        soa: r.clone(),
                    });
                    self.state = State::Removing;
                } else {
                    return Err(bad(format!(
                        "a change starts at serial {t}, not where the one before ended ({to})"
                    )));
                }
            }
            (State::Adding, None) => self.last_change()?.added.push(r.clone()),
            (State::Done | State::Current, _) => {
                return Err(bad("a record after the closing SOA"));
            }
        }
        Ok(())
    }

    fn last_change(&mut self) -> Result<&mut Change, Bad> {
        self.changes
            .last_mut()
            .ok_or_else(|| bad("a change without its SOA"))
    }
}

/// The serial of an SOA record.
pub fn soa_serial(r: &Record) -> Option<u32> {
    match &r.data {
        RData::SOA(s) => Some(s.serial),
        _ => None,
    }
}

#[cfg(test)]
#[path = "interpret_tests.rs"]
mod tests;
