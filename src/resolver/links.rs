//! A client's chain followed link by link (CNAME and DNAME targets): what the
//! driver and the no-network path share.

use hickory_proto::rr::{LowerName, Name};

use super::answer::{Answer, Route, Source};
use super::failure::{Budget, Failure};
use super::iter::Outcome;

/// A name's chain being followed link by link: the records so far, the names
/// seen (loops), the least local source. The same rules for [`Resolver::chain`]
/// and for answers that need no network (`answer_now`).
pub(super) struct Links {
    answers: Vec<hickory_proto::rr::Record>,
    /// Every link's proof (signed local zones: wildcard expansions on the way,
    /// the last link's denial).
    proof: Vec<hickory_proto::rr::Record>,
    seen: Vec<LowerName>,
    pub(super) source: Source,
    max_chain: usize,
    /// The earliest second a link's routing may change.
    valid_until: u64,
    /// Every link so far validated secure.
    secure: bool,
}

/// What comes after a link.
pub(super) enum Next {
    Done(Answer),
    Follow(Name),
    /// Over `max-cname-chain`, or a loop.
    Fail(Failure),
}

impl Links {
    pub(super) fn new(name: &Name, max_chain: usize) -> Links {
        Links {
            answers: Vec::new(),
            proof: Vec::new(),
            seen: vec![LowerName::new(name)],
            source: Source::Local,
            max_chain,
            valid_until: u64::MAX,
            secure: true,
        }
    }

    /// A link's route holds until `t` (see [`Resolver::route_valid_until`]).
    pub(super) fn routed_until(&mut self, t: u64) {
        self.valid_until = self.valid_until.min(t);
    }

    /// The root forced for the next link: `first_root` for the first only.
    pub(super) fn root(&self, first_root: Option<usize>) -> Option<usize> {
        first_root.filter(|_| self.answers.is_empty())
    }

    /// Adds one link's outcome, reached by `route`, validated `secure` or not.
    pub(super) fn add(&mut self, route: Route, outcome: Outcome, secure: bool) -> Next {
        self.source = self.source.max(outcome.source);
        self.secure &= secure;
        self.answers.extend(outcome.records);
        self.proof.extend(outcome.proof);
        let Some(target) = outcome.next else {
            let proof = std::mem::take(&mut self.proof);
            return Next::Done(Answer {
                rcode: outcome.rcode,
                answers: std::mem::take(&mut self.answers),
                authority: outcome.soa.into_iter().chain(proof).collect(),
                route,
                source: self.source,
                failure: None,
                valid_until: self.valid_until,
                secure: self.secure,
            });
        };
        if self.seen.len() > self.max_chain {
            return Next::Fail(Failure::Budget {
                which: Budget::CnameChain,
                limit: self.max_chain,
            });
        }
        let lt = LowerName::new(&target);
        if self.seen.contains(&lt) {
            return Next::Fail(Failure::Loop {
                what: format!("CNAME loop at {target}"),
            });
        }
        self.seen.push(lt);
        Next::Follow(target)
    }
}
