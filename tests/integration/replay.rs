//! Replayed scenarios (issue 14): text files under `tests/scenarios/`, each a small
//! world of scripted servers and the questions a client asks it, run through the
//! real engine — config, routing, iteration, caching, the front end's wire replies
//! and its ready answers — with a scripted network ([`Script`]: no sockets),
//! tokio's clock paused (timeouts pass at once, `time +Ns` moves the TTL clock)
//! and a seeded random generator. Each runs in milliseconds, the same way every
//! time. The format is described in `tests/scenarios/README.md`.
//!
//! `SCENARIO=name cargo test --test integration replay::` runs the files whose
//! name contains `name`; a failure names the file and line of the expectation.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use altroot::clock::Clock;
use altroot::config::Config;
use altroot::resolver::Env;
use altroot::resolver::failure::ServerError;
use altroot::resolver::random::Random;
use altroot::resolver::transport::{Exchange, Net, Script};
use altroot::server::{Frontend, Handled, Proto};
use altroot::service::Service;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_proto::serialize::txt::Parser;

use crate::world::{self, Behaviour, Lame, Via, Zone};

/// The TTL clock's start (any fixed second will do).
const START: u64 = 1_800_000_000;

//------------ The format -----------------------------------------------------

pub struct Scenario {
    pub path: PathBuf,
    pub title: String,
    pub seen: Vec<String>,
    pub kind: String,
    config: Option<String>,
    files: Vec<(String, String)>,
    hints: Vec<(String, IpAddr)>,
    servers: Vec<ServerSpec>,
    steps: Vec<(usize, Step)>,
    seed: u64,
}

struct ServerSpec {
    addr: IpAddr,
    zones: Vec<Zone>,
    behaviour: Behaviour,
    rules: Vec<Rule>,
    unreachable: bool,
}

#[derive(Clone, Debug)]
enum Pattern {
    Any,
    Exact(Name),
    /// The name or any name below it.
    Under(Name),
}

impl Pattern {
    fn parse(s: &str) -> Result<Pattern, String> {
        Ok(match s {
            "*" => Pattern::Any,
            _ if s.starts_with("*.") => Pattern::Under(name(&s[2..])?),
            _ => Pattern::Exact(name(s)?),
        })
    }

    fn matches(&self, n: &Name) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(x) => x == n,
            Pattern::Under(x) => x.zone_of(n),
        }
    }
}

struct Rule {
    qname: Pattern,
    qtype: Option<RecordType>,
    tcp: Option<bool>,
    steps: (usize, usize),
    edns: Option<bool>,
    reply: ReplySpec,
}

#[derive(Default)]
struct ReplySpec {
    flags: Vec<String>,
    rcode: Option<ResponseCode>,
    answer: Vec<Record>,
    authority: Vec<Record>,
    additional: Vec<Record>,
    id_offset: u16,
    question: Option<(Name, RecordType)>,
    /// No question section at all (`no-question`).
    no_question: bool,
    edns: Option<Option<u16>>,
    delay: Duration,
    garbage: bool,
    cut: Option<usize>,
    pass: bool,
    silent: bool,
}

#[derive(Default)]
struct QuerySpec {
    /// Sent in the background (`async`): its expectations are checked at the next
    /// `wait`, and the steps after it run meanwhile.
    background: bool,
    name: String,
    qtype: String,
    dnssec_ok: bool,
    cd: bool,
    rd: bool,
    tcp: bool,
    edns: Option<u16>,
    expect: Expect,
}

#[derive(Default)]
struct Expect {
    rcode: Option<ResponseCode>,
    flags: Option<Vec<String>>,
    answer: Vec<String>,
    authority: Vec<String>,
    additional: Vec<String>,
    /// `Some(None)`: no EDE at all; `Some(Some((code, text prefix)))`.
    ede: Option<Option<(u16, String)>>,
    opt: Option<Vec<String>>,
    unchecked: Vec<String>,
    /// The reply came within this much (tokio's paused clock) of the question.
    took: Option<Duration>,
    /// The answer section holds this many RRsets (distinct name and type).
    answer_rrsets: Option<usize>,
}

enum Step {
    Query(Box<QuerySpec>),
    Time(Duration),
    Sent {
        negate: bool,
        server: Option<IpAddr>,
        qname: Pattern,
        qtype: Option<RecordType>,
        tcp: Option<bool>,
    },
    SentCount {
        at_most: bool,
        n: usize,
    },
    /// Rewrites a file beside the config (`edit PATH` … `end`).
    Edit(String, String),
    /// Reloads the zones roots as SIGHUP does.
    Reload,
    /// Waits for the background questions and checks them.
    Wait,
    /// Raw bytes from a client over UDP (`raw HEX`): whatever they are, the front
    /// end must handle them (drop or answer) without panicking.
    Raw(Vec<u8>),
}

fn name(s: &str) -> Result<Name, String> {
    Name::from_ascii(s).map_err(|e| format!("bad name {s:?}: {e}"))
}

fn rtype(s: &str) -> Result<RecordType, String> {
    s.parse::<RecordType>()
        .map_err(|e| format!("bad type {s:?}: {e}"))
}

fn rcode(s: &str) -> Result<ResponseCode, String> {
    Ok(match s {
        "NOERROR" => ResponseCode::NoError,
        "FORMERR" => ResponseCode::FormErr,
        "SERVFAIL" => ResponseCode::ServFail,
        "NXDOMAIN" => ResponseCode::NXDomain,
        "NOTIMP" => ResponseCode::NotImp,
        "REFUSED" => ResponseCode::Refused,
        "YXDOMAIN" => ResponseCode::YXDomain,
        "BADVERS" => ResponseCode::BADVERS,
        _ => return Err(format!("unknown rcode {s}")),
    })
}

fn behaviour(s: &str) -> Result<Behaviour, String> {
    Ok(match s {
        "normal" => Behaviour::Normal,
        "silent" => Behaviour::Silent,
        "refused" => Behaviour::Refused,
        "upward-referral" => Behaviour::UpwardReferral,
        "tcp-only" => Behaviour::TcpOnly,
        "no-edns" => Behaviour::NoEdns,
        "poison" => Behaviour::Poison,
        "recursive" => Behaviour::Recursive,
        "servfail-ns" => Behaviour::ServfailNs,
        "nxdomain-ent" => Behaviour::NxdomainEnt,
        "chase-cname" => Behaviour::ChaseCname,
        "extra-answers" => Behaviour::ExtraAnswers,
        "sideways-referral" => Behaviour::SidewaysReferral,
        "empty-non-aa" => Behaviour::EmptyNonAa,
        "with-authority" => Behaviour::WithAuthority,
        "extra-glue" => Behaviour::ExtraGlue,
        "tcp-close" => Behaviour::TcpClose,
        "servfail" => Behaviour::Servfail,
        "garbage" => Behaviour::Garbage,
        "garbage-other-id" => Behaviour::GarbageOtherId,
        "truncated" => Behaviour::Truncated,
        "tc-no-tcp" => Behaviour::TcNoTcp,
        "tcp-reset" => Behaviour::TcpReset,
        "wrong-id" => Behaviour::WrongId,
        "wrong-id-then-right" => Behaviour::WrongIdThenRight,
        "wrong-question" => Behaviour::WrongQuestion,
        "wrong-class" => Behaviour::WrongClass,
        "other-port" => Behaviour::OtherPort,
        "other-address" => Behaviour::OtherAddress,
        "lame-for-aaaa-refused" => Behaviour::LameForAaaa(Lame::Refused),
        "lame-for-aaaa-servfail" => Behaviour::LameForAaaa(Lame::Servfail),
        "lame-for-aaaa-upward" => Behaviour::LameForAaaa(Lame::UpwardReferral),
        "other-type-answer" => Behaviour::OtherTypeAnswer,
        "poison-other-roots" => Behaviour::PoisonOtherRoots,
        "non-aa-answer" => Behaviour::NonAaAnswer,
        "non-aa-nxdomain" => Behaviour::NonAaNxdomain,
        "dname-no-cname" => Behaviour::DnameNoCname,
        _ if s.starts_with("slow-") && s.ends_with("ms") => {
            let ms = s[5..s.len() - 2]
                .parse()
                .map_err(|_| format!("bad behaviour {s}"))?;
            Behaviour::Slow(ms)
        }
        _ => return Err(format!("unknown behaviour {s}")),
    })
}

/// One record in master-file form, absolute names (`DNAME` included, which
/// hickory's parser refuses).
fn record(text: &str) -> Result<Record, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if let [owner, ttl, "DNAME", target] = words.as_slice() {
        let ttl = ttl.parse().map_err(|_| format!("bad TTL in {text:?}"))?;
        return Ok(world::dname(owner, ttl, target, &Name::root()));
    }
    let (_, sets) = Parser::new(format!("{text}\n"), None, Some(Name::root()))
        .parse()
        .map_err(|e| format!("bad record {text:?}: {e}"))?;
    let mut all: Vec<Record> = sets
        .values()
        .flat_map(|s| s.records_without_rrsigs().cloned())
        .collect();
    match all.len() {
        1 => Ok(all.remove(0)),
        _ => Err(format!("not one record: {text:?}")),
    }
}

/// A record as the expectations write it: `name TTL TYPE rdata`.
fn show(r: &Record) -> String {
    if let Some(t) = world::dname_target(r) {
        return format!("{} {} DNAME {}", r.name, r.ttl, t);
    }
    format!("{} {} {} {}", r.name, r.ttl, r.record_type(), r.data)
}

/// Steps of a range written `N`, `N-M` or `N-`.
fn steps(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("bad steps {s:?}");
    match s.split_once('-') {
        None => {
            let n = s.parse().map_err(|_| bad())?;
            Ok((n, n))
        }
        Some((a, "")) => Ok((a.parse().map_err(|_| bad())?, usize::MAX)),
        Some((a, b)) => Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?)),
    }
}

/// Bytes written as hexadecimal digits (spaces allowed).
fn hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in {s:?}"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("bad hex in {s:?}"))
        })
        .collect()
}

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim_start_matches('+')).map_err(|e| format!("bad time {s:?}: {e}"))
}

/// The raw lines of a block up to its `end` (kept as written: config and zone text).
fn raw_block(all: &[&str], from: &mut usize) -> Result<String, String> {
    let mut out = String::new();
    while *from < all.len() {
        let l = all[*from];
        *from += 1;
        if l.trim() == "end" {
            return Ok(out);
        }
        out.push_str(l.trim_start());
        out.push('\n');
    }
    Err("block without `end`".into())
}

impl Scenario {
    pub fn parse(path: &Path) -> Result<Scenario, String> {
        let mut sc = Scenario {
            path: path.to_path_buf(),
            title: String::new(),
            seen: Vec::new(),
            kind: String::new(),
            config: None,
            files: Vec::new(),
            hints: Vec::new(),
            servers: Vec::new(),
            steps: Vec::new(),
            seed: 1,
        };
        sc.read(path, 0)?;
        if sc.title.is_empty() || sc.seen.is_empty() || sc.kind.is_empty() {
            return Err(format!(
                "{}: a scenario needs `title`, `kind` and at least one `seen` line",
                path.display()
            ));
        }
        Ok(sc)
    }

    /// Reads one file into the scenario (`use` reads another, from
    /// `tests/scenarios/`, at most a few levels deep).
    fn read(&mut self, path: &Path, depth: usize) -> Result<(), String> {
        let sc = self;
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let at = |line: usize, e: String| format!("{}:{line}: {e}", path.display());
        let all: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < all.len() {
            let line_no = i + 1;
            let line = all[i].trim();
            i += 1;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let rest = rest.trim();
            let r: Result<(), String> = (|| {
                match word {
                    "title" => sc.title = rest.to_string(),
                    "seen" => sc.seen.push(rest.to_string()),
                    "kind" => sc.kind = rest.to_string(),
                    "seed" => sc.seed = rest.parse().map_err(|_| "bad seed".to_string())?,
                    "use" => {
                        if depth > 3 {
                            return Err("`use` nested too deep".into());
                        }
                        let dir = crate::harness::manifest_dir().join("tests/scenarios");
                        sc.read(&dir.join(rest), depth + 1)?;
                    }
                    "config" => sc.config = Some(raw_block(&all, &mut i)?),
                    "file" => {
                        let body = raw_block(&all, &mut i)?;
                        sc.files.push((rest.to_string(), body));
                    }
                    "hint" => {
                        let (n, a) = rest.split_once(' ').ok_or("hint NAME ADDRESS")?;
                        let a = a.trim().parse().map_err(|_| format!("bad address {a}"))?;
                        sc.hints.push((n.to_string(), a));
                    }
                    "server" => {
                        let addr = rest
                            .split_whitespace()
                            .next()
                            .ok_or("server ADDRESS [NAME]")?;
                        let addr = addr.parse().map_err(|_| format!("bad address {addr}"))?;
                        let s = parse_server(&all, &mut i, addr)?;
                        sc.servers.push(s);
                    }
                    "query" => {
                        let q = parse_query(rest, &all, &mut i)?;
                        sc.steps.push((line_no, Step::Query(Box::new(q))));
                    }
                    "time" => sc.steps.push((line_no, Step::Time(duration(rest)?))),
                    "edit" => {
                        let body = raw_block(&all, &mut i)?;
                        sc.steps.push((line_no, Step::Edit(rest.to_string(), body)));
                    }
                    "reload" => sc.steps.push((line_no, Step::Reload)),
                    "wait" => sc.steps.push((line_no, Step::Wait)),
                    "raw" => sc.steps.push((line_no, Step::Raw(hex(rest)?))),
                    "sent" | "not-sent" => {
                        let w: Vec<&str> = rest.split_whitespace().collect();
                        let [server, qname, qtype, more @ ..] = w.as_slice() else {
                            return Err(format!("{word} SERVER|* NAME|* TYPE|* [udp|tcp]"));
                        };
                        let server = match *server {
                            "*" => None,
                            s => Some(s.parse().map_err(|_| format!("bad address {s}"))?),
                        };
                        let qtype = match *qtype {
                            "*" => None,
                            t => Some(rtype(t)?),
                        };
                        let tcp = match more.first() {
                            Some(&"tcp") => Some(true),
                            Some(&"udp") => Some(false),
                            None => None,
                            Some(x) => return Err(format!("unknown word {x}")),
                        };
                        sc.steps.push((
                            line_no,
                            Step::Sent {
                                negate: word == "not-sent",
                                server,
                                qname: Pattern::parse(qname)?,
                                qtype,
                                tcp,
                            },
                        ));
                    }
                    "sent-count" => {
                        let (op, n) = rest.split_once(' ').ok_or("sent-count =|<= N")?;
                        let n = n.trim().parse().map_err(|_| "bad count".to_string())?;
                        let at_most = match op {
                            "=" => false,
                            "<=" => true,
                            _ => return Err("sent-count =|<= N".into()),
                        };
                        sc.steps.push((line_no, Step::SentCount { at_most, n }));
                    }
                    _ => return Err(format!("unknown word {word:?}")),
                }
                Ok(())
            })();
            r.map_err(|e| at(line_no, e))?;
        }
        Ok(())
    }
}

/// The next line of a block that is not blank or a comment, as its first word and
/// the rest.
fn next_line<'a>(all: &[&'a str], i: &mut usize) -> Option<(&'a str, &'a str)> {
    while *i < all.len() {
        let line = all[*i].trim();
        *i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        return Some((word, rest.trim()));
    }
    None
}

fn parse_server(all: &[&str], i: &mut usize, addr: IpAddr) -> Result<ServerSpec, String> {
    let mut s = ServerSpec {
        addr,
        zones: Vec::new(),
        behaviour: Behaviour::Normal,
        rules: Vec::new(),
        unreachable: false,
    };
    while let Some((word, rest)) = next_line(all, i) {
        match word {
            "end" => return Ok(s),
            "behaviour" => s.behaviour = behaviour(rest)?,
            "unreachable" => s.unreachable = true,
            "zone" => {
                let text = raw_block(all, i)?;
                s.zones.push(world::parse_zone(rest, &text));
            }
            "on" => s.rules.push(parse_rule(rest, all, i)?),
            _ => return Err(format!("line {}: unknown word {word:?} in a server", *i)),
        }
    }
    Err("server without `end`".into())
}

fn parse_rule(head: &str, all: &[&str], i: &mut usize) -> Result<Rule, String> {
    let w: Vec<&str> = head.split_whitespace().collect();
    let [qname, qtype, opts @ ..] = w.as_slice() else {
        return Err("on NAME|*|*.SUFFIX TYPE|* [udp|tcp] [steps N-M] [edns|no-edns]".into());
    };
    let mut rule = Rule {
        qname: Pattern::parse(qname)?,
        qtype: match *qtype {
            "*" => None,
            t => Some(rtype(t)?),
        },
        tcp: None,
        steps: (0, usize::MAX),
        edns: None,
        reply: ReplySpec::default(),
    };
    let mut k = 0;
    while k < opts.len() {
        match opts[k] {
            "udp" => rule.tcp = Some(false),
            "tcp" => rule.tcp = Some(true),
            "edns" => rule.edns = Some(true),
            "no-edns" => rule.edns = Some(false),
            "step" | "steps" => {
                k += 1;
                rule.steps = steps(opts.get(k).ok_or("steps N-M")?)?;
            }
            x => return Err(format!("unknown word {x:?} after `on`")),
        }
        k += 1;
    }
    let r = &mut rule.reply;
    while let Some((word, rest)) = next_line(all, i) {
        match word {
            "end" => return Ok(rule),
            "flags" => r.flags = rest.split_whitespace().map(String::from).collect(),
            "rcode" => r.rcode = Some(rcode(rest)?),
            "answer" => r.answer.push(record(rest)?),
            "authority" => r.authority.push(record(rest)?),
            "additional" => r.additional.push(record(rest)?),
            "id" => {
                r.id_offset = rest
                    .trim_start_matches('+')
                    .parse()
                    .map_err(|_| "id +N".to_string())?
            }
            "question" => {
                let (n, t) = rest.split_once(' ').ok_or("question NAME TYPE")?;
                r.question = Some((name(n)?, rtype(t.trim())?));
            }
            "no-question" => r.no_question = true,
            "no-edns" => r.edns = Some(None),
            "edns" => r.edns = Some(Some(rest.parse().map_err(|_| "edns SIZE".to_string())?)),
            "delay" => r.delay = duration(rest)?,
            "garbage" => r.garbage = true,
            "cut" => r.cut = Some(rest.parse().map_err(|_| "cut BYTES".to_string())?),
            "pass" => r.pass = true,
            "silent" => r.silent = true,
            _ => return Err(format!("unknown word {word:?} in `on`")),
        }
    }
    Err("`on` without `end`".into())
}

fn parse_query(head: &str, all: &[&str], i: &mut usize) -> Result<QuerySpec, String> {
    let w: Vec<&str> = head.split_whitespace().collect();
    let [qname, qtype, opts @ ..] = w.as_slice() else {
        return Err("query NAME TYPE [do] [cd] [norec] [tcp] [edns N|no-edns]".into());
    };
    let mut q = QuerySpec {
        name: qname.to_string(),
        qtype: qtype.to_string(),
        rd: true,
        edns: Some(1232),
        ..QuerySpec::default()
    };
    let mut k = 0;
    while k < opts.len() {
        match opts[k] {
            "async" => q.background = true,
            "do" => q.dnssec_ok = true,
            "cd" => q.cd = true,
            "norec" => q.rd = false,
            "tcp" => q.tcp = true,
            "no-edns" => q.edns = None,
            "edns" => {
                k += 1;
                q.edns = Some(
                    opts.get(k)
                        .and_then(|s| s.parse().ok())
                        .ok_or("edns SIZE")?,
                );
            }
            x => return Err(format!("unknown word {x:?} after `query`")),
        }
        k += 1;
    }
    let e = &mut q.expect;
    while let Some((word, rest)) = next_line(all, i) {
        match word {
            "end" => return Ok(q),
            "rcode" => e.rcode = Some(rcode(rest)?),
            "flags" => e.flags = Some(rest.split_whitespace().map(String::from).collect()),
            "answer" => e.answer.push(show(&record(rest)?)),
            "authority" => e.authority.push(show(&record(rest)?)),
            "additional" => e.additional.push(show(&record(rest)?)),
            "ede" => {
                let (code, text) = rest.split_once(' ').unwrap_or((rest, ""));
                let code = code.parse().map_err(|_| "ede CODE [TEXT]".to_string())?;
                e.ede = Some(Some((code, text.trim().to_string())));
            }
            "no-ede" => e.ede = Some(None),
            "opt" => e.opt = Some(rest.split_whitespace().map(String::from).collect()),
            "unchecked" => e.unchecked.push(rest.to_string()),
            "took" => {
                let d = rest.strip_prefix("<=").ok_or("took <= DURATION")?;
                e.took = Some(duration(d.trim())?);
            }
            "answer-rrsets" => {
                e.answer_rrsets = Some(rest.parse().map_err(|_| "answer-rrsets N".to_string())?)
            }
            _ => return Err(format!("unknown word {word:?} in an expectation")),
        }
    }
    Err("`query` without `end`".into())
}

//------------ The scripted network -------------------------------------------

/// One query the engine sent.
#[derive(Clone, Debug)]
struct Sent {
    server: IpAddr,
    qname: Name,
    qtype: RecordType,
    tcp: bool,
}

struct ScriptNet {
    servers: Vec<ServerSpec>,
    step: Mutex<usize>,
    sent: Mutex<Vec<Sent>>,
}

impl ScriptNet {
    fn exchange(
        &self,
        server: SocketAddr,
        bytes: &[u8],
        tcp: bool,
    ) -> Result<Exchange, ServerError> {
        let query = Message::from_vec(bytes).expect("the engine sent a malformed query");
        let q = query.queries.first().expect("a query without a question");
        self.sent.lock().unwrap().push(Sent {
            server: server.ip(),
            qname: q.name().clone(),
            qtype: q.query_type(),
            tcp,
        });
        let Some(spec) = self.servers.iter().find(|s| s.addr == server.ip()) else {
            return Ok(Exchange::default());
        };
        if spec.unreachable {
            return Err(ServerError::Unreachable(
                "port unreachable (scripted)".into(),
            ));
        }
        // No TCP listener (`tc-no-tcp`) or a connection closed at once (`tcp-close`):
        // the socket reports it, whatever the rules say.
        if tcp && matches!(spec.behaviour, Behaviour::TcNoTcp | Behaviour::TcpClose) {
            return Err(ServerError::Unreachable(
                "TCP connection refused or closed (scripted)".into(),
            ));
        }
        let step = *self.step.lock().unwrap();
        let mut out = Exchange::default();
        let mut fallthrough = true;
        for rule in &spec.rules {
            if !(rule.qname.matches(q.name())
                && rule.qtype.is_none_or(|t| t == q.query_type())
                && rule.tcp.is_none_or(|t| t == tcp)
                && rule.edns.is_none_or(|e| e == query.edns.is_some())
                && rule.steps.0 <= step
                && step <= rule.steps.1)
            {
                continue;
            }
            fallthrough = rule.reply.pass;
            if rule.reply.silent {
                continue;
            }
            out.replies
                .push((rule.reply.delay, scripted_reply(&rule.reply, &query)));
        }
        if fallthrough {
            for s in world::respond(&spec.zones, spec.behaviour, &query, tcp) {
                match s.via {
                    Via::Same => out.replies.push((s.delay, s.bytes)),
                    // A connected socket never sees these (the kernel drops them).
                    Via::OtherPort | Via::OtherAddress => {}
                    Via::HalfThenReset => {
                        return Err(ServerError::Unreachable(
                            "connection reset (scripted)".into(),
                        ));
                    }
                }
            }
        }
        Ok(out)
    }
}

impl Script for ScriptNet {
    fn udp(&self, server: SocketAddr, query: &[u8]) -> Result<Exchange, ServerError> {
        self.exchange(server, query, false)
    }

    fn tcp(&self, server: SocketAddr, query: &[u8]) -> Result<Exchange, ServerError> {
        self.exchange(server, query, true)
    }
}

fn scripted_reply(r: &ReplySpec, query: &Message) -> Vec<u8> {
    let id = query.metadata.id.wrapping_add(r.id_offset);
    if r.garbage {
        return world::garbage(id);
    }
    let mut m = Message::new(id, MessageType::Response, OpCode::Query);
    match &r.question {
        _ if r.no_question => {}
        Some((n, t)) => {
            m.add_query(Query::query(n.clone(), *t));
        }
        None => {
            m.add_queries(query.queries.clone());
        }
    }
    for f in &r.flags {
        match f.as_str() {
            "aa" => m.metadata.authoritative = true,
            "tc" => m.metadata.truncation = true,
            "ra" => m.metadata.recursion_available = true,
            "rd" => m.metadata.recursion_desired = true,
            "ad" => m.metadata.authentic_data = true,
            "cd" => m.metadata.checking_disabled = true,
            _ => panic!("unknown flag {f} in a scripted reply"),
        }
    }
    if let Some(rc) = r.rcode {
        m.metadata.response_code = rc;
    }
    m.add_answers(r.answer.iter().cloned());
    m.add_authorities(r.authority.iter().cloned());
    m.add_additionals(r.additional.iter().cloned());
    let size = match r.edns {
        Some(s) => s,
        None => query.edns.as_ref().map(|_| 1232),
    };
    if let Some(size) = size {
        let mut e = Edns::new();
        e.set_max_payload(size);
        m.set_edns(e);
    }
    let mut bytes = m.to_vec().expect("a scripted reply that does not encode");
    if let Some(n) = r.cut {
        bytes.truncate(n);
    }
    bytes
}

//------------ Running ----------------------------------------------------------

const DEFAULT_CONFIG: &str = r#"
[server]
listen = ["127.0.0.1:53"]

[[root]]
name = "icann"
hints = "hints"
"#;

/// Runs one scenario; the failures, each `FILE:LINE: what differs`.
pub fn run(sc: Scenario) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    rt.block_on(run_async(sc))
}

async fn run_async(mut sc: Scenario) -> Vec<String> {
    let file = sc.path.display().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = sc.config.as_deref().unwrap_or(DEFAULT_CONFIG);
    std::fs::write(dir.path().join("altroot.toml"), cfg).unwrap();
    let hints: String = sc
        .hints
        .iter()
        .map(|(n, a)| {
            let t = if a.is_ipv4() { "A" } else { "AAAA" };
            format!(". 3600000 NS {n}\n{n} 3600000 {t} {a}\n")
        })
        .collect();
    std::fs::write(dir.path().join("hints"), hints).unwrap();
    for (name, body) in &sc.files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let config = match Config::load(&dir.path().join("altroot.toml")) {
        Ok(c) => c,
        Err(e) => return vec![format!("{file}: config: {e}")],
    };
    let net = Arc::new(ScriptNet {
        servers: std::mem::take(&mut sc.servers),
        step: Mutex::new(0),
        sent: Mutex::new(Vec::new()),
    });
    let env = Env {
        clock: Arc::new(Clock::fixed(START)),
        random: Random::seeded(sc.seed),
        net: Net::Scripted(net.clone()),
    };
    let service = match Service::with_env(config, env) {
        Ok(s) => s,
        Err(e) => return vec![format!("{file}: start: {e}")],
    };
    let frontend = Arc::new(Frontend::new(service.resolver.clone(), &service.config));
    let mut failures = Vec::new();
    let mut since = 0;
    let mut step = 0;
    let mut background = Vec::new();
    for (line, s) in std::mem::take(&mut sc.steps) {
        let at = |what: String| format!("{file}:{line}: {what}");
        match s {
            Step::Time(d) => {
                tokio::time::advance(d).await;
                settle().await;
            }
            Step::Raw(bytes) => {
                let client: SocketAddr = "127.0.0.1:40001".parse().unwrap();
                let mut out = Vec::new();
                if let Handled::Later(p) = frontend.receive(&bytes, client, Proto::Udp, &mut out) {
                    frontend.resolve(p).await;
                }
            }
            Step::Edit(path, body) => {
                std::fs::write(dir.path().join(&path), body).unwrap();
            }
            Step::Reload => {
                let (problems, _) = service.reload(true);
                for p in problems.iter().filter(|p| p.is_error()) {
                    failures.push(at(format!("reload: {p}")));
                }
                settle().await;
            }
            Step::Wait => {
                for (line, task) in background.drain(..) {
                    let r: Result<Vec<String>, _> = task.await;
                    match r {
                        Ok(f) => {
                            failures.extend(f.into_iter().map(|f| format!("{file}:{line}: {f}")))
                        }
                        Err(e) => failures.push(format!("{file}:{line}: {e}")),
                    }
                }
            }
            Step::Query(q) if q.background => {
                step += 1;
                *net.step.lock().unwrap() = step;
                since = net.sent.lock().unwrap().len();
                let fe = frontend.clone();
                let task = tokio::spawn(async move {
                    match ask(&fe, &q).await {
                        Ok(reply) => check(&q.expect, &reply),
                        Err(e) => vec![e],
                    }
                });
                background.push((line, task));
                settle().await;
            }
            Step::Query(q) => {
                step += 1;
                *net.step.lock().unwrap() = step;
                since = net.sent.lock().unwrap().len();
                let asked = tokio::time::Instant::now();
                match ask(&frontend, &q).await {
                    Ok(reply) => {
                        for f in check(&q.expect, &reply) {
                            failures.push(at(f));
                        }
                        let took = asked.elapsed();
                        if let Some(limit) = q.expect.took
                            && took > limit
                        {
                            failures
                                .push(at(format!("the reply took {took:?}, wanted <= {limit:?}")));
                        }
                    }
                    Err(e) => failures.push(at(e)),
                }
            }
            Step::Sent {
                negate,
                server,
                qname,
                qtype,
                tcp,
            } => {
                let sent = net.sent.lock().unwrap()[since..].to_vec();
                let hit = sent.iter().any(|x| {
                    server.is_none_or(|s| s == x.server)
                        && qname.matches(&x.qname)
                        && qtype.is_none_or(|t| t == x.qtype)
                        && tcp.is_none_or(|t| t == x.tcp)
                });
                if hit == negate {
                    failures.push(at(format!(
                        "{}; sent during the last question: {}",
                        if negate {
                            "a query that must not be sent was sent"
                        } else {
                            "no such query"
                        },
                        show_sent(&sent)
                    )));
                }
            }
            Step::SentCount { at_most, n } => {
                let sent = net.sent.lock().unwrap()[since..].to_vec();
                let ok = if at_most {
                    sent.len() <= n
                } else {
                    sent.len() == n
                };
                if !ok {
                    failures.push(at(format!(
                        "{} queries sent during the last question, wanted {}{n}: {}",
                        sent.len(),
                        if at_most { "<= " } else { "" },
                        show_sent(&sent)
                    )));
                }
            }
        }
    }
    if !background.is_empty() {
        failures.push(format!("{file}: background questions without a `wait`"));
    }
    failures
}

/// Lets spawned tasks run until they wait on a timer (the clock is paused).
async fn settle() {
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

fn show_sent(sent: &[Sent]) -> String {
    if sent.is_empty() {
        return "none".into();
    }
    sent.iter()
        .map(|s| {
            format!(
                "{} {} {}{}",
                s.server,
                s.qname,
                s.qtype,
                if s.tcp { " tcp" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sends one question through the front end, as a listener would.
async fn ask(frontend: &Frontend, q: &QuerySpec) -> Result<Message, String> {
    let mut m = Message::new(0x4242, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = q.rd;
    m.metadata.checking_disabled = q.cd;
    let qtype = rtype(&q.qtype)?;
    m.add_query(Query::query(name(&q.name)?, qtype));
    if let Some(size) = q.edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        e.set_dnssec_ok(q.dnssec_ok);
        m.set_edns(e);
    }
    let bytes = m.to_vec().map_err(|e| e.to_string())?;
    let client: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let proto = if q.tcp { Proto::Tcp } else { Proto::Udp };
    let mut out = Vec::new();
    let reply = match frontend.receive(&bytes, client, proto, &mut out) {
        Handled::Reply => out,
        Handled::Later(p) => frontend.resolve(p).await,
        Handled::Drop => return Err("the query was dropped".into()),
        Handled::Transfer(_) => return Err("scenarios have no zone transfers".into()),
    };
    Message::from_vec(&reply).map_err(|e| format!("altroot sent a malformed reply: {e}"))
}

fn flag_words(m: &Message) -> Vec<String> {
    let h = &m.metadata;
    [
        (h.message_type == MessageType::Response, "qr"),
        (h.authoritative, "aa"),
        (h.truncation, "tc"),
        (h.recursion_desired, "rd"),
        (h.recursion_available, "ra"),
        (h.authentic_data, "ad"),
        (h.checking_disabled, "cd"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, w)| w.to_string())
    .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn check(e: &Expect, m: &Message) -> Vec<String> {
    let mut out = Vec::new();
    let skip = |s: &str| e.unchecked.iter().any(|u| u == s);
    if let Some(rc) = e.rcode
        && m.metadata.response_code != rc
    {
        out.push(format!(
            "rcode {} (wanted {})",
            m.metadata.response_code, rc
        ));
    }
    if let Some(f) = &e.flags {
        let got = flag_words(m);
        if sorted(got.clone()) != sorted(f.clone()) {
            out.push(format!("flags {} (wanted {})", got.join(" "), f.join(" ")));
        }
    }
    let sections = [
        ("answer", &m.answers, &e.answer),
        ("authority", &m.authorities, &e.authority),
        ("additional", &m.additionals, &e.additional),
    ];
    for (what, got, want) in sections {
        if skip(what) {
            continue;
        }
        let got: Vec<String> = got.iter().map(show).collect();
        if sorted(got.clone()) != sorted(want.clone()) {
            out.push(format!(
                "{what} section:\n      got:    {}\n      wanted: {}",
                if got.is_empty() {
                    "(empty)".into()
                } else {
                    got.join("\n              ")
                },
                if want.is_empty() {
                    "(empty)".into()
                } else {
                    want.join("\n              ")
                }
            ));
        }
    }
    if let Some(n) = e.answer_rrsets {
        let mut sets: Vec<(Name, RecordType)> = m
            .answers
            .iter()
            .map(|r| (r.name.clone(), r.record_type()))
            .collect();
        sets.sort();
        sets.dedup();
        if sets.len() != n {
            out.push(format!("{} RRsets in the answer, wanted {n}", sets.len()));
        }
    }
    let ede = crate::harness::ede(m);
    match (&e.ede, &ede) {
        (Some(None), Some(got)) => out.push(format!("an EDE {got:?}, wanted none")),
        (Some(Some((code, text))), got) => {
            let ok = got
                .as_ref()
                .is_some_and(|(c, t)| c == code && t.starts_with(text.as_str()));
            if !ok {
                out.push(format!("EDE {got:?}, wanted {code} {text:?}…"));
            }
        }
        _ => {}
    }
    if let Some(words) = &e.opt {
        let got = match &m.edns {
            None => vec!["none".to_string()],
            Some(x) => {
                let mut v = vec![format!("size={}", x.max_payload())];
                if x.flags().dnssec_ok {
                    v.push("do".into());
                }
                v
            }
        };
        if sorted(got.clone()) != sorted(words.clone()) {
            out.push(format!(
                "OPT {} (wanted {})",
                got.join(" "),
                words.join(" ")
            ));
        }
    }
    out
}

//------------ The test -----------------------------------------------------------

/// Every scenario file, sorted.
pub fn files() -> Vec<PathBuf> {
    let dir = crate::harness::manifest_dir().join("tests/scenarios");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .collect();
    v.sort();
    v
}

// Every scenario under tests/scenarios/ replays with its expectations met.
#[test]
fn scenarios() {
    let only = std::env::var("SCENARIO").ok();
    let mut failed = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut ran = 0;
    for path in files() {
        if only
            .as_deref()
            .is_some_and(|o| !path.to_string_lossy().contains(o))
        {
            continue;
        }
        let sc = match Scenario::parse(&path) {
            Ok(s) => s,
            Err(e) => {
                failed.push(e);
                continue;
            }
        };
        *kinds.entry(sc.kind.clone()).or_default() += 1;
        ran += 1;
        let title = sc.title.clone();
        let f = run(sc);
        if !f.is_empty() {
            failed.push(format!(
                "{title} ({}):\n  {}",
                path.display(),
                f.join("\n  ")
            ));
        }
    }
    eprintln!("{ran} scenarios by kind: {kinds:?}");
    assert!(ran > 0, "no scenario ran");
    assert!(
        failed.is_empty(),
        "{} of {ran} scenarios failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
