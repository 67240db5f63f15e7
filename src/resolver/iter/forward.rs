//! Forward roots: recursive upstreams asked in turn; their answers are their
//! resolved view, kept as far as the chain stays in the asked TLD.

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{LowerName, Name, RecordType};

use super::*;

impl Iteration {
    //--- Forwarders

    pub(super) fn ask_forwarder(&mut self, next: usize, view: &View<'_>) -> Option<Step> {
        let Kind::Forward(upstreams) = view.kind else {
            return self.fail(Failure::Internal {
                what: "forwarding in a root that does not forward",
            });
        };
        let Some(server) = upstreams.get(next).map(|f| f.addr) else {
            let f = self.forward_error.take().unwrap_or(Failure::Unreachable {
                zone: Name::root(),
                why: "no upstream".into(),
            });
            return self.fail(f);
        };
        if let Err(why) = view.policy.check(server, view.params.allow_loopback) {
            self.forward_error = Some(Failure::Denied {
                zone: Name::root(),
                why,
            });
            self.state = State::Forward { next: next + 1 };
            return None;
        }
        let qtype = match self.mode {
            Mode::Claim => RecordType::NS,
            _ => self.qtype,
        };
        self.source = Source::Network;
        self.asked = Some(Asked {
            sname: self.name.clone(),
            stype: qtype,
            minimised: false,
            server,
        });
        self.state = State::Forward { next };
        Some(Step::Send {
            server,
            query: Query::query(self.name.clone(), qtype),
            rd: true,
            upstream: Some(next),
        })
    }

    /// A forwarder's reply is its resolved view: NOERROR and NXDOMAIN are taken as
    /// they are; the chain is kept as far as it stays in the asked name's TLD (a link
    /// into another TLD is routed, and may belong to another root).
    pub(super) fn forwarder_replied(
        &mut self,
        next: usize,
        asked: &Asked,
        result: Result<Message, ServerError>,
        view: &View<'_>,
    ) {
        let root = Name::root();
        let m = match result {
            Err(e) => {
                self.forward_error = Some(Failure::from_server(&root, asked.server, &e));
                self.state = State::Forward { next: next + 1 };
                return;
            }
            Ok(m) => m,
        };
        match m.metadata.response_code {
            ResponseCode::NoError | ResponseCode::NXDomain => {}
            ResponseCode::Refused => {
                self.forward_error = Some(Failure::Refused {
                    server: asked.server,
                });
                self.state = State::Forward { next: next + 1 };
                return;
            }
            rcode => {
                self.forward_error = Some(Failure::ServFail {
                    server: asked.server,
                    rcode,
                });
                self.state = State::Forward { next: next + 1 };
                return;
            }
        }
        let o = if self.mode == Mode::Claim {
            self.claim_from_forwarder(&m)
        } else {
            self.forwarded_chain(&m, view)
        };
        self.done(o);
    }

    pub(super) fn claim_from_forwarder(&mut self, m: &Message) -> Outcome {
        let rcode = m.metadata.response_code;
        let soa = classify::forwarded_soa(&m.authorities);
        if rcode == ResponseCode::NXDomain
            && let Some(s) = &soa
        {
            self.writes.push(Write::Negative(
                self.lname.clone(),
                None,
                Box::new(s.clone()),
                classify::negative_proof(&Name::root(), &m.authorities),
                Trust::Answer,
            ));
        }
        if rcode == ResponseCode::NoError {
            let ns = classify::ns_rrset(&m.answers, &self.name);
            self.writes.push(Write::Rrset(ns, Trust::Answer));
        }
        Outcome::negative(rcode, None, Source::Network)
    }

    pub(super) fn forwarded_chain(&mut self, m: &Message, view: &View<'_>) -> Outcome {
        let tld = classify::tld_of(&self.name);
        let sets = self.answer_sets(&Name::root(), m, view);
        let rcode = m.metadata.response_code;
        let soa = classify::forwarded_soa(&m.authorities);
        // A negative answer's proof, or a wildcard answer's (RFC 4035 §3.1.3.3).
        let proof = classify::negative_proof(&Name::root(), &m.authorities);
        let mut out = self.take_link(&sets, rcode, soa.clone(), proof.clone(), view);
        // Follow the chain while it stays in this TLD (same routing, same root).
        let mut seen = vec![self.lname.clone()];
        while let Some(target) = out.next.clone() {
            if classify::tld_of(&target) != tld || seen.contains(&LowerName::new(&target)) {
                break;
            }
            seen.push(LowerName::new(&target));
            let mut link = Iteration::new(&target, self.qtype, Mode::Answer, self.depth, false)
                .with_seed(self.draw());
            let o = link.take_link(&sets, rcode, soa.clone(), proof.clone(), view);
            self.writes.append(&mut link.writes);
            if o.records.is_empty() && o.rcode == ResponseCode::NoError && o.soa.is_none() {
                // The forwarder did not include this link: resolve it on its own.
                break;
            }
            out.records.extend(o.records);
            out.rcode = o.rcode;
            out.soa = o.soa;
            out.proof = o.proof;
            out.next = o.next;
        }
        out
    }
}
