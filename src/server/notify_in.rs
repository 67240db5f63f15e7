//! NOTIFY received (RFC 1996): a primary says a zone changed. Answered at once
//! — NOTIMP when no root takes any zone by transfer (altroot is nobody's
//! secondary), NOERROR with AA and the question when a root takes that zone by transfer
//! from the sender's address (its refresher then checks the zone's serial),
//! REFUSED from any other address, NOTAUTH for a zone no root takes (as NSD and
//! Knot DNS answer). A signed NOTIFY is checked against `[transfer] keys` like a
//! transfer request (a bad one gets NOTAUTH with the TSIG error) and the reply
//! is signed; an unsigned one is taken from a primary's address, since all it
//! can cause is an SOA query, itself signed when the root has a key.

use std::net::SocketAddr;
use tokio::time::Instant;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Record;
use hickory_proto::rr::rdata::TSIG;

use super::Proto;
use super::frontend::{Frontend, Handled};
use super::request::Request;
use crate::xfrin::Verdict;
use crate::zones::wire::cursor::Patch;

impl Frontend {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn notify(
        &self,
        bytes: &[u8],
        req: Request,
        tsig: Option<Box<Record<TSIG>>>,
        client: SocketAddr,
        proto: Proto,
        out: &mut Vec<u8>,
        started: Instant,
    ) -> Handled {
        let now = crate::clock::unix_now();
        let mut signing = match tsig.map(|t| self.tsig_keys.check(bytes, &t, now)) {
            None => None,
            Some(Ok(s)) => Some(s),
            Some(Err(denied)) => {
                tracing::warn!(%client, "NOTIFY refused: TSIG {}", denied.code());
                let h = self.reject(&req, client, proto, ResponseCode::NotAuth, out, started);
                if let Err(e) = denied.sign(req.id, out, now) {
                    tracing::warn!("TSIG error reply to {client}: {e}");
                }
                return h;
            }
        };
        let Some(zone) = req.name().cloned() else {
            return self.reject(&req, client, proto, ResponseCode::FormErr, out, started);
        };
        let notices = self.resolver.notices();
        if notices.is_empty() {
            // No root takes a zone by transfer: altroot is nobody's secondary
            // (RFC 1996 §3.10 lets a server that does not take NOTIFY say so).
            return self.reject(&req, client, proto, ResponseCode::NotImp, out, started);
        }
        let verdict = notices.file(&zone, client.ip());
        let code = match verdict {
            Verdict::Accepted => ResponseCode::NoError,
            Verdict::NotPrimary => ResponseCode::Refused,
            Verdict::NotOurs => ResponseCode::NotAuth,
        };
        match verdict {
            Verdict::Accepted => tracing::debug!(%client, %zone, "NOTIFY accepted"),
            _ => tracing::info!(%client, %zone, "NOTIFY not taken ({code})"),
        }
        let h = self.reject(&req, client, proto, code, out, started);
        // A NOTIFY taken is answered as its zone's server: AA, no RA.
        if verdict == Verdict::Accepted {
            Patch(out).bits(2, 0x04, true); // AA
            Patch(out).bits(3, 0x80, false); // RA
        }
        if let Some(s) = signing.as_mut()
            && let Err(e) = s.sign(req.id, out, now)
        {
            tracing::warn!("TSIG reply to {client}: {e}");
        }
        h
    }
}
