//! Taking an answer: the link a client may see, with its cache writes.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};

use super::*;

impl Iteration {
    //--- Taking answers

    /// One TTL per RRset, the lowest (RFC 2181 §5.2), clamped: the first answer
    /// looks like every cached one after it. Only records inside `zone`.
    pub(super) fn answer_sets(
        &self,
        zone: &Name,
        m: &Message,
        view: &View<'_>,
    ) -> Vec<Vec<Record>> {
        let mut sets = classify::group(
            m.answers
                .iter()
                .filter(|r| r.dns_class == hickory_proto::rr::DNSClass::IN && zone.zone_of(&r.name))
                .cloned(),
        );
        for set in &mut sets {
            let ttl = view
                .cache
                .rules
                .positive(set.iter().map(|r| r.ttl).min().unwrap_or(0));
            for r in set.iter_mut() {
                r.ttl = ttl;
            }
        }
        sets
    }

    /// An authoritative answer. RFC 2181 §5.4.1: AA covers the query name only, so
    /// only its link is taken; the driver asks for each later link itself (a stale
    /// copy the server holds below a cut it hides never reaches clients).
    pub(super) fn take_answer(&mut self, cut: &Cut, m: &Message, view: &View<'_>) -> Outcome {
        let zone = &cut.zone;
        let sets = self.answer_sets(zone, m, view);
        let rcode = m.metadata.response_code;
        let soa = classify::negative_soa(zone, &self.name, &m.authorities);
        self.learn_zone_ns(cut, m, view.now);
        self.take_link(&sets, rcode, soa, view)
    }

    /// The zone's own NS set in the authority section of its server's answer,
    /// with the addresses for those names inside the zone: the child's side of
    /// the cut, kept for iteration. A zone that added a server without telling
    /// its parent stays reachable through it (Unbound keeps these sets too).
    fn learn_zone_ns(&mut self, cut: &Cut, m: &Message, now: u64) {
        let zone = &cut.zone;
        let ns = classify::ns_rrset(&m.authorities, zone);
        if ns.is_empty() {
            return;
        }
        let glue = classify::glue_for(zone, &ns, &m.additionals);
        // No longer than the cut is known: a zone's servers cannot extend it.
        let (ns, glue) = super::remote::capped(ns, glue, cut.expires, now);
        self.writes.push(Write::Rrset(ns, Trust::Authority));
        for set in classify::group(glue) {
            self.writes.push(Write::Rrset(set, Trust::Glue));
        }
    }

    /// The link for the asked name from answer RRsets, with its cache writes.
    pub(super) fn take_link(
        &mut self,
        sets: &[Vec<Record>],
        rcode: ResponseCode,
        soa: Option<Record>,
        view: &View<'_>,
    ) -> Outcome {
        let source = Source::Network;
        let cacheable = self.qtype != RecordType::ANY;
        let (records, next, rcode) = match classify::take(sets, &self.name, self.qtype) {
            classify::Taken::Data(set) => {
                if cacheable {
                    self.writes.push(Write::Rrset(set.clone(), self.trust));
                }
                (set, None, ResponseCode::NoError)
            }
            classify::Taken::Cname { set, target } => {
                self.writes.push(Write::Rrset(set.clone(), self.trust));
                let next = (self.qtype != RecordType::CNAME).then_some(target);
                (set, next, rcode)
            }
            classify::Taken::Dname {
                dname,
                cname,
                target,
            } => {
                self.writes.push(Write::Rrset(dname.clone(), self.trust));
                // A DNAME whose target lies under itself: the DNAME and its CNAME
                // are the answer (following would only grow the name).
                let next = (!lookup::grows(&dname[0])).then_some(target);
                let mut records = dname;
                records.push(*cname);
                (records, next, ResponseCode::NoError)
            }
            classify::Taken::TooLong { dname } => (dname, None, ResponseCode::YXDomain),
            classify::Taken::Nothing => {
                return self.negative(
                    if rcode == ResponseCode::NXDomain {
                        ResponseCode::NXDomain
                    } else {
                        ResponseCode::NoError
                    },
                    soa,
                    view,
                );
            }
        };
        // A chain that ends in NXDOMAIN keeps its rcode (RFC 6604); the link's own
        // answer is NOERROR unless the chain goes no further.
        let rcode = if next.is_some() {
            ResponseCode::NoError
        } else {
            rcode
        };
        Outcome {
            rcode,
            records,
            soa: None,
            next,
            source,
            proof: Vec::new(),
        }
    }

    /// NODATA or NXDOMAIN for the asked name, cached with its SOA (RFC 2308).
    pub(super) fn negative(
        &mut self,
        rcode: ResponseCode,
        soa: Option<Record>,
        view: &View<'_>,
    ) -> Outcome {
        if let Some(s) = &soa
            && self.qtype != RecordType::ANY
        {
            let rtype = (rcode == ResponseCode::NoError).then_some(self.qtype);
            self.writes.push(Write::Negative(
                self.lname.clone(),
                rtype,
                Box::new(s.clone()),
                self.trust,
            ));
        }
        let soa = soa.map(|s| view.cache.rules.negative_soa(&s));
        Outcome::negative(rcode, soa, Source::Network)
    }
}
