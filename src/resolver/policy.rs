//! Which addresses altroot may send a query to (`[server] upstream-deny`, a root's
//! `allow-loopback-upstream`). Zone data must never make the resolver query itself,
//! the loopback services of its host, multicast groups or link-local neighbours.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

#[derive(Clone, Debug, Default)]
pub struct AddressPolicy {
    deny: Vec<IpNet>,
    /// altroot's own listen addresses: never a target, whatever the config says.
    own: Vec<SocketAddr>,
}

impl AddressPolicy {
    pub fn new(deny: Vec<IpNet>, own: Vec<SocketAddr>) -> AddressPolicy {
        AddressPolicy { deny, own }
    }

    /// Adds listen addresses (known once the sockets are bound).
    pub fn add_own(&mut self, addrs: &[SocketAddr]) {
        self.own.extend_from_slice(addrs);
    }

    /// `Err(why)` when `addr` may not be asked; `allow_loopback` lifts the deny
    /// entries for 127.0.0.0/8 and ::1 (a root whose servers the operator runs).
    pub fn check(&self, addr: SocketAddr, allow_loopback: bool) -> Result<(), String> {
        let ip = addr.ip();
        let own = self.own.iter().any(|o| {
            o.port() == addr.port() && (o.ip() == ip || (o.ip().is_unspecified() && is_local(ip)))
        });
        if own {
            return Err(format!("{addr} is altroot's own listen address"));
        }
        if allow_loopback && ip.is_loopback() {
            return Ok(());
        }
        match self.deny.iter().find(|n| n.contains(&ip)) {
            Some(net) => Err(format!("{ip} is in upstream-deny ({net})")),
            None => Ok(()),
        }
    }
}

/// Addresses that reach this host whatever it is configured with.
fn is_local(ip: IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerConfig;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_deny_loopback_unspecified_multicast_link_local_and_mapped() {
        let p = AddressPolicy::new(ServerConfig::default().upstream_deny, vec![]);
        for bad in [
            "127.0.0.1:53",
            "127.53.53.1:53",
            "[::1]:53",
            "0.0.0.0:53",
            "224.0.0.1:53",
            "[ff02::1]:53",
            "169.254.1.1:53",
            "[fe80::1]:53",
            "255.255.255.255:53",
            "[::ffff:127.0.0.1]:53",
        ] {
            assert!(p.check(sa(bad), false).is_err(), "{bad}");
        }
        assert!(p.check(sa("192.0.2.1:53"), false).is_ok());
        assert!(p.check(sa("[2001:db8::1]:53"), false).is_ok());
        // Loopback only when the root allows it; the rest stays denied.
        assert!(p.check(sa("127.53.53.1:53"), true).is_ok());
        assert!(p.check(sa("[::1]:53"), true).is_ok());
        assert!(p.check(sa("0.0.0.0:53"), true).is_err());
        assert!(p.check(sa("224.0.0.1:53"), true).is_err());
    }

    #[test]
    fn never_itself() {
        let p = AddressPolicy::new(vec![], vec![sa("127.0.0.1:5353"), sa("0.0.0.0:5300")]);
        assert!(p.check(sa("127.0.0.1:5353"), true).is_err());
        assert!(p.check(sa("127.0.0.1:53"), true).is_ok());
        assert!(
            p.check(sa("127.0.0.9:5300"), true).is_err(),
            "wildcard listen"
        );
    }
}
