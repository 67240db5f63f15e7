//! `altroot config recipes`: the snippets that point a machine (or the resolver
//! already on it) at altroot, filled in with this config's alternate TLDs and
//! listen address, so nobody retypes a TLD list.
//!
//! The alternate TLDs are every TLD an earlier root than the last has: zone files
//! and `root.zone` delegations of zones roots, `tlds` of forward roots, and `pin`s
//! to such roots. A split setup sends only those to altroot; the last root (the
//! ICANN side) is what the machine's resolver reaches anyway. A hints root that is
//! not the last cannot list its TLDs without asking its servers: the output says
//! so, and only the whole-machine recipes cover it.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use clap::ValueEnum;

use crate::config::{Config, RootSource};
use crate::service::Service;

/// The systems a recipe is for (`--system`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum System {
    /// /etc/resolv.conf: every name through altroot (port 53 only).
    ResolvConf,
    /// /etc/netns/NAME/resolv.conf: the same for one network namespace.
    Netns,
    /// systemd-resolved: every name through altroot.
    SystemdResolved,
    /// systemd-resolved: only the alternate TLDs.
    SystemdResolvedSplit,
    /// NetworkManager with its dnsmasq plugin: only the alternate TLDs.
    Networkmanager,
    /// Unbound in front: forward-zone per alternate TLD.
    Unbound,
    /// dnsmasq in front: server=/tld/ per alternate TLD.
    Dnsmasq,
    /// macOS: /etc/resolver/TLD per alternate TLD.
    Macos,
    /// Windows: one NRPT rule per alternate TLD (PowerShell).
    Windows,
}

/// What the recipes are made of.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// Alternate TLDs, lower case, no dot, sorted.
    pub tlds: Vec<String>,
    /// Roots whose TLDs cannot be listed offline (hints roots before the last).
    pub unlisted: Vec<String>,
    /// Where altroot answers.
    pub at: SocketAddr,
}

impl Inputs {
    pub fn from_service(service: &Service) -> Inputs {
        let cfg = &service.config;
        let last = cfg.roots.len().saturating_sub(1);
        let mut tlds = BTreeSet::new();
        let mut unlisted = Vec::new();
        for (i, rc) in cfg.roots.iter().enumerate().take(last) {
            match &rc.source {
                RootSource::Zones(_) => {
                    if let Some(z) = service.resolver.zones(i) {
                        tlds.extend(z.tld_labels());
                    }
                }
                RootSource::Forward { tlds: list, .. } => tlds.extend(list.iter().cloned()),
                RootSource::Hints(_) => unlisted.push(rc.name.clone()),
            }
        }
        for (tld, root) in &cfg.collisions.pin {
            if cfg.root_index(root).is_some_and(|i| i < last) {
                tlds.insert(tld.clone());
            }
        }
        tlds.remove("");
        Inputs {
            tlds: tlds.into_iter().collect(),
            unlisted,
            at: target(cfg),
        }
    }
}

/// The address clients should use: the first IPv4 listen address (a wildcard
/// becomes loopback), else the first.
fn target(cfg: &Config) -> SocketAddr {
    let listen = &cfg.server.listen;
    let a = listen
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| listen.first())
        .copied()
        .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53));
    let ip = match a.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, a.port())
}

/// One recipe: where it goes and what it says.
pub struct Recipe {
    pub title: &'static str,
    pub path: String,
    pub body: String,
}

/// `127.0.0.1`, `::1` — as resolv.conf and NRPT write an address.
fn host(at: SocketAddr) -> String {
    at.ip().to_string()
}

/// A note for recipes that cannot name a port.
fn port53(at: SocketAddr) -> String {
    if at.port() == 53 {
        String::new()
    } else {
        format!(
            "# NOTE: altroot listens on port {} here; this recipe cannot name a port.\n\
             # Give altroot port 53 (config/altroot.service, or setcap) and listen = [\"{}:53\"].\n",
            at.port(),
            host(at)
        )
    }
}

fn unlisted_note(i: &Inputs) -> String {
    if i.unlisted.is_empty() {
        return String::new();
    }
    format!(
        "# NOTE: root(s) {} iterate from hints; their TLDs are known only by asking their\n\
         # servers, so they are not listed here: add them, or use a whole-machine recipe.\n",
        i.unlisted.join(", ")
    )
}

/// The recipe for one system.
pub fn recipe(system: System, i: &Inputs) -> Recipe {
    match system {
        System::ResolvConf | System::Netns => resolv_conf(system, i),
        System::SystemdResolved | System::SystemdResolvedSplit => resolved(system, i),
        System::Networkmanager | System::Unbound | System::Dnsmasq => in_front(system, i),
        System::Macos | System::Windows => per_tld_os(system, i),
    }
}

/// One line per TLD.
fn each(i: &Inputs, f: &dyn Fn(&str) -> String) -> String {
    i.tlds.iter().map(|t| f(t)).collect()
}

fn resolv_conf(system: System, i: &Inputs) -> Recipe {
    let (title, path) = if system == System::Netns {
        (
            "every name through altroot, in one network namespace (ip netns exec NAME …)",
            "/etc/netns/NAME/resolv.conf",
        )
    } else {
        (
            "every name through altroot (glibc, musl)",
            "/etc/resolv.conf",
        )
    };
    Recipe {
        title,
        path: path.into(),
        body: format!("{}nameserver {}\n", port53(i.at), host(i.at)),
    }
}

fn resolved(system: System, i: &Inputs) -> Recipe {
    let path = "/etc/systemd/resolved.conf.d/altroot.conf".to_string();
    if system == System::SystemdResolved {
        return Recipe {
            title: "every name through altroot",
            path,
            body: format!(
                "# then: systemctl restart systemd-resolved\n[Resolve]\nDNS={}\nDomains=~.\n",
                resolved_addr(i.at)
            ),
        };
    }
    Recipe {
        title: "the alternate TLDs to altroot alone, the rest as before",
        path,
        body: format!(
            "# then: systemctl restart systemd-resolved\n\
             # These TLDs go to altroot only. Other names still go to your network's servers,\n\
             # and resolved asks altroot too (global servers get every name no routing domain\n\
             # matches; the first answer wins): harmless, altroot resolves them as well.\n\
             # With DNSSEC=yes, also list the TLDs in /etc/dnssec-trust-anchors.d/altroot.negative:\n\
             # the ICANN root's signatures deny them.\n{}[Resolve]\nDNS={}\nDomains={}\n",
            unlisted_note(i),
            resolved_addr(i.at),
            i.tlds
                .iter()
                .map(|t| format!("~{t}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

/// Resolvers in front of altroot: the alternate TLDs forwarded to it.
fn in_front(system: System, i: &Inputs) -> Recipe {
    let (h, port) = (host(i.at), i.at.port());
    let servers = each(i, &|t| format!("server=/{t}/{h}#{port}\n"));
    match system {
        System::Networkmanager => Recipe {
            title: "NetworkManager with dns=dnsmasq (in /etc/NetworkManager/conf.d/: [main] dns=dnsmasq)",
            path: "/etc/NetworkManager/dnsmasq.d/altroot.conf".into(),
            body: format!(
                "# then: systemctl reload NetworkManager\n{}{servers}",
                unlisted_note(i)
            ),
        },
        System::Unbound => Recipe {
            title: "Unbound in front: the alternate TLDs go to altroot",
            path: "/etc/unbound/unbound.conf.d/altroot.conf".into(),
            body: format!(
                "# then: unbound-control reload (or restart unbound)\n{}server:\n    # altroot runs on this machine\n    do-not-query-localhost: no\n    # not signed under the ICANN root: validation would fail them\n{}{}",
                unlisted_note(i),
                each(i, &|t| format!("    domain-insecure: \"{t}\"\n")),
                each(i, &|t| format!(
                    "forward-zone:\n    name: \"{t}\"\n    forward-addr: {h}@{port}\n"
                ))
            ),
        },
        _ => Recipe {
            title: "dnsmasq in front: the alternate TLDs go to altroot",
            path: "/etc/dnsmasq.d/altroot.conf".into(),
            body: format!(
                "# then: systemctl restart dnsmasq\n{}{servers}",
                unlisted_note(i)
            ),
        },
    }
}

/// Operating systems that route per TLD themselves.
fn per_tld_os(system: System, i: &Inputs) -> Recipe {
    let (h, port) = (host(i.at), i.at.port());
    if system == System::Macos {
        return Recipe {
            title: "macOS: one resolver file per alternate TLD (run in a shell)",
            path: "/etc/resolver/TLD".into(),
            body: format!(
                "{}sudo mkdir -p /etc/resolver\nfor tld in {}; do\n  printf 'nameserver {h}\\nport {port}\\n' | sudo tee /etc/resolver/$tld >/dev/null\ndone\n",
                unlisted_note(i),
                i.tlds.join(" ")
            ),
        };
    }
    Recipe {
        title: "Windows: one NRPT rule per alternate TLD (PowerShell as Administrator)",
        path: "Name Resolution Policy Table".into(),
        body: format!(
            "{}{}{}",
            port53(i.at),
            unlisted_note(i),
            each(i, &|t| format!(
                "Add-DnsClientNrptRule -Namespace \".{t}\" -NameServers \"{h}\"\n"
            ))
        ),
    }
}

/// `127.0.0.1:5353`, `[::1]:5353` (port 53 left out, as resolved.conf writes it).
fn resolved_addr(at: SocketAddr) -> String {
    match (at.port(), at.ip()) {
        (53, ip) => ip.to_string(),
        _ => at.to_string(),
    }
}

/// The text `altroot config recipes` prints: every recipe with a header, or one
/// recipe's body alone (to redirect into its file).
pub fn render(i: &Inputs, only: Option<System>) -> String {
    if let Some(s) = only {
        return recipe(s, i).body;
    }
    let mut out = format!(
        "# altroot at {}; alternate TLDs: {}\n",
        i.at,
        if i.tlds.is_empty() {
            "(none)".to_string()
        } else {
            i.tlds.join(" ")
        }
    );
    for s in System::value_variants() {
        let r = recipe(*s, i);
        let id = s
            .to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "\n# === {id}: {} ===\n# {}\n{}",
            r.title, r.path, r.body
        ));
    }
    out
}

/// `altroot config recipes`.
pub fn run(config: Option<std::path::PathBuf>, only: Option<System>) -> u8 {
    let service = match super::service_for(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    print!("{}", render(&Inputs::from_service(&service), only));
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(port: u16) -> Inputs {
        Inputs {
            tlds: vec!["biz".into(), "geek".into()],
            unlisted: vec![],
            at: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        }
    }

    #[test]
    fn recipes_carry_the_tlds_and_the_address() {
        let i = inputs(5353);
        let unbound = recipe(System::Unbound, &i).body;
        assert!(
            unbound
                .contains("forward-zone:\n    name: \"geek\"\n    forward-addr: 127.0.0.1@5353\n"),
            "{unbound}"
        );
        assert!(unbound.contains("domain-insecure: \"biz\""), "{unbound}");
        let dnsmasq = recipe(System::Dnsmasq, &i).body;
        assert!(dnsmasq.contains("server=/biz/127.0.0.1#5353\nserver=/geek/127.0.0.1#5353\n"));
        let split = recipe(System::SystemdResolvedSplit, &i).body;
        assert!(
            split.contains("DNS=127.0.0.1:5353\nDomains=~biz ~geek\n"),
            "{split}"
        );
        let win = recipe(System::Windows, &i).body;
        assert!(win.contains("NOTE: altroot listens on port 5353"), "{win}");
        assert!(
            win.contains("Add-DnsClientNrptRule -Namespace \".geek\" -NameServers \"127.0.0.1\"")
        );
        let mac = recipe(System::Macos, &i).body;
        assert!(mac.contains("for tld in biz geek;"), "{mac}");
        assert!(mac.contains("port 5353"), "{mac}");
    }

    #[test]
    fn port_53_needs_no_note() {
        let i = inputs(53);
        assert_eq!(
            recipe(System::ResolvConf, &i).body,
            "nameserver 127.0.0.1\n"
        );
        assert!(
            recipe(System::SystemdResolved, &i)
                .body
                .contains("DNS=127.0.0.1\n")
        );
        let all = render(&i, None);
        let ids: Vec<String> = System::value_variants()
            .iter()
            .filter_map(|s| s.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        assert_eq!(
            ids,
            [
                "resolv-conf",
                "netns",
                "systemd-resolved",
                "systemd-resolved-split",
                "networkmanager",
                "unbound",
                "dnsmasq",
                "macos",
                "windows",
            ],
            "the --system names"
        );
        for id in ids {
            assert!(all.contains(&format!("# === {id}: ")), "{id} missing");
        }
    }

    #[test]
    fn wildcard_listen_becomes_loopback() {
        let mut c = Config::builtin();
        c.server.listen = vec!["[::]:53".parse().unwrap(), "0.0.0.0:53".parse().unwrap()];
        assert_eq!(target(&c), "127.0.0.1:53".parse().unwrap());
        c.server.listen = vec!["[::]:5353".parse().unwrap()];
        assert_eq!(target(&c), "[::1]:5353".parse().unwrap());
    }
}
