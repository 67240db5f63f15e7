//! The zone layer: local data, read from master files and answered in-process
//! (DESIGN §2).
//!
//! It owns everything between a zone file on disk and a typed answer:
//!
//! - [`read`]ing RFC 1035 master files with line numbers (`$ORIGIN`, `$TTL`,
//!   `$INCLUDE`), and what each file held ([`Stamp`]) so reloads skip unchanged
//!   zones;
//! - building a [`Zone`] with the structural checks serving depends on, and
//!   [`Zone::lookup`], which answers like an authoritative server (RFC 1034
//!   §4.3.2, RFC 4592 wildcards, RFC 6672 DNAME) but returns a [`Lookup`] instead
//!   of a message: the resolver engine decides what the client sees. Referrals
//!   carry their glue, which is what hickory 0.26's own authority gets wrong
//!   (`shared/HICKORY.md` §3);
//! - the [`ZoneSet`] of a `zones` root: a folder of zones, the rules between them
//!   (TLDs defined twice, special-use and ICANN TLDs), reload keeping what did not
//!   change, and the serials file;
//! - DNAME records in the one form hickory can carry them ([`dname()`],
//!   [`synthesized_cname`]);
//! - root [`hints`] for the roots that iterate;
//! - the [`Problem`]s all of that reports, as `FILE:LINE: error: …`.
//!
//! In memory a zone is a packed store (`store`): owner names lowercased and
//! RDATA in wire form (`wire`), in two byte arenas with a hash index of plain
//! numbers; about 60 bytes a record. The reader reads the common record types
//! straight to that form (`fast`) and hands the rest to hickory's parser
//! (`hickory_text` words its errors).
//!
//! Inside, dependencies go one way: `problem` ← `entries`, `stamp`, `wire` ←
//! `dname`, `fast`, `hickory_text` ← `reader` ← `store` ← `zone` ← `build`
//! (with `checks`) ← `set` (with `rules`); `hints` uses the reader. Outside,
//! the cache (`resolver::cache`) keeps its names with `wire`'s helpers too.

mod build;
mod checks;
mod dname;
mod dnssec_text;
mod entries;
mod fast;
mod hickory_text;
pub mod hints;
pub mod journal;
pub mod keys;
mod problem;
mod reader;
mod rules;
mod set;
mod sign;
mod signed;
mod signed_checks;
mod stamp;
mod store;
pub(crate) mod wire;
mod write;
mod zone;

pub use dname::{TooLong, dname, dname_target, synthesize, synthesized_cname};
pub use journal::{Diff, Journal};
pub use problem::{Problem, Severity, ZoneError, log_problems};
pub use reader::{
    Files, Located, Parsed, Rec, read, read_into, read_str, read_trust_anchors,
    read_trust_anchors_str,
};
pub(crate) use rules::tld_label;
pub use set::{
    LoadOptions, SERIALS_FILE, ZoneSet, origin_for_file, read_serials, serial_lt, zone_files,
};
pub use stamp::Stamp;
pub use write::{write_zone, zone_text};
pub use zone::{Lookup, Zone};
