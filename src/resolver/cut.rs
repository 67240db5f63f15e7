//! A zone cut being asked: its NS names, what is known of their addresses, and
//! which of them have been tried for the question at hand. The NS names come from
//! both sides of the cut — the child's own NS set when an answer taught it, and the
//! parent's referral — so either side's servers can stand in when the other's fail
//! (RFC 2181 §5.4.1 ranks the child's set higher, so it is tried first).

use std::net::{IpAddr, SocketAddr};

use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use super::cache::{Cache, Data, Delegation, Key, Trust};
use super::failure::{Failure, ServerError};
use super::infra::Infra;
use super::policy::AddressPolicy;

/// What is known of one NS name's addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addresses {
    /// Known (glue, cache, or a lookup); possibly empty after filtering.
    Known,
    /// Not known; may be looked up.
    Unknown,
    /// Being looked up now.
    LookingUp,
    /// Looked up, nothing usable came back.
    Failed,
    /// Never to be looked up, and why (a name inside the zone it serves without
    /// glue, a special-use name).
    Unusable(String),
}

#[derive(Clone, Debug)]
pub struct Server {
    pub name: Name,
    pub addrs: Vec<IpAddr>,
    pub state: Addresses,
}

/// Settings the cut applies to addresses.
#[derive(Clone, Copy)]
pub struct AddrRules<'a> {
    pub ipv6: bool,
    pub allow_loopback: bool,
    pub port: u16,
    pub policy: &'a AddressPolicy,
    /// Names that belong to another root (see `View::foreign`).
    pub foreign: &'a dyn Fn(&Name) -> bool,
}

/// How large a cut may be: NS names kept, glueless names that may be looked up,
/// and the seed that samples a larger set.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub max_ns: usize,
    pub glueless: usize,
    pub shuffle: u64,
}

#[derive(Debug)]
pub struct Cut {
    pub zone: Name,
    pub servers: Vec<Server>,
    /// Addresses asked the current question.
    pub asked: Vec<IpAddr>,
    /// Queries sent to this cut's servers (the `max-queries-per-zone` budget).
    pub sent: usize,
    /// Glueless NS names this cut may still look up.
    pub glueless_left: usize,
    /// The last thing that went wrong, for the failure.
    pub last_error: Option<(SocketAddr, ServerError)>,
    /// Addresses dropped by the address policy, for the failure.
    pub denied: Vec<String>,
    /// Why the last NS-name lookup gave nothing (a loop says more than "no address").
    pub lookup_failure: Option<Failure>,
    /// A reply kept as a last resort (a recursive server's view, an empty reply
    /// without AA): taken only when no server of the cut gives better.
    pub fallback: Option<Box<Fallback>>,
    /// Until when this cut itself is known (Unix seconds; `u64::MAX` for the
    /// root, hints and our own zones): what its servers teach about cuts below is
    /// kept no longer (the ghost-domain fix, CVE-2022-30698: a deleted zone's
    /// old servers cannot keep it alive through delegations of their own).
    pub expires: u64,
}

/// A reply kept as a last resort, and the question it answered.
#[derive(Debug)]
pub struct Fallback {
    pub sname: Name,
    pub stype: RecordType,
    pub minimised: bool,
    pub server: SocketAddr,
    pub reply: super::classify::Reply,
}

impl Cut {
    /// A cut from NS names and glue, keeping at most `max_ns` names: those with
    /// addresses first (in order), then the rest; a larger set is sampled (in the
    /// order `shuffle` seeds).
    pub fn new(
        zone: Name,
        ns: Vec<Name>,
        glue: &[(Name, IpAddr)],
        cache: &Cache,
        now: u64,
        rules: AddrRules<'_>,
        Bounds {
            max_ns,
            glueless,
            shuffle,
        }: Bounds,
    ) -> Cut {
        let mut names: Vec<Name> = Vec::new();
        for n in ns {
            if !names.iter().any(|x| x == &n) {
                names.push(n);
            }
        }
        if names.len() > max_ns {
            shuffled(&mut names, shuffle);
        }
        let mut cut = Cut {
            zone,
            servers: Vec::new(),
            asked: Vec::new(),
            sent: 0,
            glueless_left: glueless,
            last_error: None,
            denied: Vec::new(),
            lookup_failure: None,
            fallback: None,
            expires: u64::MAX,
        };
        for name in names {
            // What this root says of a name in another root's TLD is not its to
            // say (REVIEW finding 6): such a name is looked up in its own root.
            // Except below the root cut, where glue inside the delegated zone is
            // the only way in (and the root's own servers are configuration).
            let own = cut.zone.is_root() || cut.zone.zone_of(&name) || !(rules.foreign)(&name);
            let mut addrs: Vec<IpAddr> = glue
                .iter()
                .filter(|(n, _)| own && *n == name)
                .map(|(_, a)| *a)
                .collect();
            if addrs.is_empty() && own {
                addrs = cached_addresses(cache, &name, now, rules.ipv6);
            }
            // Only IPv6 glue while IPv6 is off: as good as none, so the name's
            // IPv4 address is looked up (Unbound's iter_got6only).
            if !rules.ipv6 {
                addrs.retain(IpAddr::is_ipv4);
            }
            let state = if !addrs.is_empty() {
                Addresses::Known
            } else {
                cut.why_unusable(&name)
                    .map_or(Addresses::Unknown, Addresses::Unusable)
            };
            let addrs = cut.filter(addrs, rules);
            cut.servers.push(Server { name, addrs, state });
        }
        // Stable: servers with addresses first, in the order given.
        cut.servers.sort_by_key(|s| s.state != Addresses::Known);
        cut.servers.truncate(max_ns);
        cut
    }

    /// Why this NS name can never lead to an address: it lies inside the zone it
    /// serves and came without glue (asking for it would lead back here), or it is
    /// a special-use name that never leaves the machine.
    fn why_unusable(&self, ns: &Name) -> Option<String> {
        if crate::names::under_localhost(ns) {
            return Some(format!("{ns} is under localhost."));
        }
        if !self.zone.is_root() && self.zone.zone_of(ns) {
            return Some(format!(
                "{ns} is inside {} and came without glue",
                self.zone
            ));
        }
        None
    }

    /// Keeps the addresses that may be asked (IPv6 only with `ipv6`; the address
    /// policy), remembering what the policy dropped.
    pub fn filter(&mut self, addrs: Vec<IpAddr>, rules: AddrRules<'_>) -> Vec<IpAddr> {
        let mut out = Vec::new();
        for ip in addrs {
            if ip.is_ipv6() && !rules.ipv6 {
                continue;
            }
            match rules
                .policy
                .check(SocketAddr::new(ip, rules.port), rules.allow_loopback)
            {
                Ok(()) => {
                    if !out.contains(&ip) {
                        out.push(ip)
                    }
                }
                Err(why) => {
                    if self.denied.len() < 4 {
                        self.denied.push(why);
                    }
                }
            }
        }
        out
    }

    /// The next address to ask the current question: not yet asked, best first.
    pub fn next_address(&self, infra: &Infra, now: u64) -> Option<IpAddr> {
        self.servers
            .iter()
            .flat_map(|s| s.addrs.iter().copied())
            .filter(|ip| !self.asked.contains(ip))
            .enumerate()
            .min_by_key(|(i, ip)| (infra.rank(*ip, now), *i))
            .map(|(_, ip)| ip)
    }

    /// The next NS name whose addresses should be looked up, if the budget allows.
    pub fn next_lookup(&self) -> Option<usize> {
        if self.glueless_left == 0 {
            return None;
        }
        self.servers
            .iter()
            .position(|s| s.state == Addresses::Unknown)
    }

    /// Starts the question again (the same cut, another question): every address
    /// may be asked again.
    pub fn restart(&mut self) {
        self.asked.clear();
        self.fallback = None;
    }

    /// Why nothing more can be done here.
    pub fn failure(&self) -> Failure {
        if let Some((server, e)) = &self.last_error {
            return Failure::from_server(&self.zone, *server, e);
        }
        if !self.denied.is_empty() && self.servers.iter().all(|s| s.addrs.is_empty()) {
            return Failure::Denied {
                zone: self.zone.clone(),
                why: self.denied.join("; "),
            };
        }
        if let Some(f @ (Failure::Loop { .. } | Failure::Denied { .. })) = &self.lookup_failure {
            return f.clone();
        }
        let why: Vec<String> = self
            .servers
            .iter()
            .filter_map(|s| match &s.state {
                Addresses::Unusable(w) => Some(w.clone()),
                Addresses::Failed => Some(format!("no address for {}", s.name)),
                Addresses::Unknown => Some(format!("{} not looked up (max-glueless-ns)", s.name)),
                _ => None,
            })
            .take(4)
            .collect();
        Failure::Unreachable {
            zone: self.zone.clone(),
            why: if why.is_empty() {
                "no usable server".into()
            } else {
                why.join("; ")
            },
        }
    }
}

/// Fisher–Yates over a SplitMix64 sequence from `seed`.
fn shuffled<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    for i in (1..items.len()).rev() {
        let j = (super::random::splitmix64(&mut state) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// The addresses referrals gave for `name` as glue (the parent side), from the
/// cached delegations of the zones above it: they stand behind the child's own,
/// which may have replaced them in the cache (a renumbering half done, a broken
/// child zone). Unbound keeps parent-side addresses for the same reason.
pub fn parent_side(cache: &Cache, name: &Name, now: u64, ipv6: bool) -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut zone = name.base_name();
    for _ in 0..name.num_labels() {
        if let Some(h) = cache.get(&Key::Delegation(LowerName::new(&zone)), now)
            && let Data::Delegation(d) = h.data
        {
            for (n, a) in &d.glue {
                if n == name && (ipv6 || a.is_ipv4()) && !out.contains(a) {
                    out.push(*a);
                }
            }
        }
        if zone.is_root() {
            break;
        }
        zone = zone.base_name();
    }
    out
}

/// Addresses of a name from this root's cache (any trust: glue helps
/// iteration), the child side's first, then the parent side's.
pub fn cached_addresses(cache: &Cache, name: &Name, now: u64, ipv6: bool) -> Vec<IpAddr> {
    let ln = LowerName::new(name);
    let mut out = Vec::new();
    let types: &[RecordType] = if ipv6 {
        &[RecordType::A, RecordType::AAAA]
    } else {
        &[RecordType::A]
    };
    for t in types {
        if let Some(h) = cache.get(&Key::Set(ln.clone(), *t), now)
            && let Data::Records(rs) = h.data
        {
            out.extend(rs.iter().filter_map(addr_of));
        }
    }
    for a in parent_side(cache, name, now, ipv6) {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

pub fn addr_of(r: &Record) -> Option<IpAddr> {
    match &r.data {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
        _ => None,
    }
}

/// NS names of a zone cached, the glue known for them, and until when the cut is
/// known (the later of the two sides' expiries).
pub struct NsSet {
    pub names: Vec<Name>,
    pub glue: Vec<(Name, IpAddr)>,
    pub expires: u64,
}

/// The NS names of a zone known to this root's cache: the child's own set first
/// (trust Answer), then the parent's delegation; with the delegation's glue.
pub fn cached_ns(cache: &Cache, zone: &LowerName, now: u64) -> Option<NsSet> {
    let mut names = Vec::new();
    let mut glue = Vec::new();
    let mut expires = 0;
    let set = Key::Set(zone.clone(), RecordType::NS);
    if let Some(h) = cache.get(&set, now)
        && let Data::Records(rs) = h.data
        && h.trust >= Trust::Referral
    {
        names.extend(ns_names(&rs));
        expires = expires.max(cache.expires(&set, now).unwrap_or(0));
    }
    let del = Key::Delegation(zone.clone());
    if let Some(h) = cache.get(&del, now)
        && let Data::Delegation(Delegation { ns, glue: g }) = h.data
    {
        names.extend(ns);
        glue = g;
        expires = expires.max(cache.expires(&del, now).unwrap_or(0));
    }
    (!names.is_empty()).then_some(NsSet {
        names,
        glue,
        expires,
    })
}

/// The name server names of an NS RRset.
pub(super) fn ns_names(ns: &[Record]) -> Vec<Name> {
    ns.iter()
        .filter_map(|r| match &r.data {
            RData::NS(n) => Some(n.0.clone()),
            _ => None,
        })
        .collect()
}
