//! Zone transfer in: the client side of AXFR (RFC 5936) and IXFR (RFC 1995) with
//! TSIG (RFC 8945), for a zones root fed by a primary (issue 16 §3) and a hints
//! root's copy of its root zone (`transfer-from`, §1).
//!
//! - [`soa_serial`]: the primary's serial (the refresh check, RFC 1034 §4.3.5);
//! - [`fetch`]: one transfer over TCP — IXFR from our SOA, or AXFR; an IXFR the
//!   primary refuses is asked again as AXFR — read message by message
//!   (`interpret`), each reply's TSIG checked in a chain (`verify`), bounded by
//!   [`Limits`] (an idle time per read, a record count);
//! - [`apply`]: IXFR changes applied to the records we hold.
//!
//! The result is a whole zone or a list of changes, never half of one: a stream
//! that ends early, a wrong ID, a record outside the zone, a bad MAC is an
//! [`XfrError`] naming the primary and the zone.
//!
//! # Why hand-written
//!
//! hickory 0.26 has a transfer stream (`ClientHandle::zone_transfer`) but its
//! IXFR request builder asserts the zone equals the SOA's MNAME (a panic for
//! most zones), its multiplexer's timeout covers the whole transfer and drops
//! messages past a channel of 8 (`shared/HICKORY-WAVE2.md` §4), and its
//! `TSigVerifier` refuses the unsigned intermediate messages RFC 8945 §5.3.1
//! allows. NLnet Labs' `domain` 0.12 has an interpreter
//! (`net::xfr::protocol::XfrResponseInterpreter`) that yields `ZoneUpdate`s, but
//! behind its unstable features (`unstable-xfr`, whose API may change in any
//! minor release), and over its own record model: every record would be parsed
//! by `domain` and converted to hickory's `Record` that the rest of altroot (the
//! zone store, the writer, the server's transfers out) uses, and its TSIG is a
//! second implementation beside hickory's that our server side already uses. What
//! the interpretation takes is a state machine of about 250 lines over hickory's
//! `Message`, the TCP framing of `resolver::transport` and hickory's TSIG pieces
//! (`signed_bitmessage_to_buf`, `TSigner::verify`); so it is written here.

// An XfrError (a zone name, an address, a message: 136 bytes) is made at most
// once per transfer; boxing it would only make every caller unbox it.
#![allow(clippy::result_large_err)]

mod apply;
pub mod client;
mod interpret;
pub mod notices;
pub mod refresh;
mod store;
mod verify;

pub use apply::apply;
pub use client::{Change, Fetched, Limits, Primary, XfrError, fetch, soa_serial};
pub use notices::{Notices, Verdict};
pub use refresh::{RefreshHandle, expire_on_disk, spawn_all};
