//! The encrypted-DNS keys: `[server] tls-listen`, `https-listen`, `quic-listen`,
//! `tls-cert`, `tls-key`, and the URL-like upstreams of forward roots (`tls://…`, `https://…`)
//! with a root's `tls-ca`.
//!
//! Upstreams are written by address, never by host name: altroot would need a
//! resolver to find the server it resolves through. The name the certificate must
//! cover goes after `#` (and is the TLS SNI and, for DoH, the HTTP authority).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use rustls::pki_types::ServerName;
use toml::Spanned;

use super::file::{FileRoot, FileServer, Text};
use super::validate::Validator;
use super::{join_clean, parse_socket_addr};

/// DoT's port (RFC 7858).
pub const DOT_PORT: u16 = 853;
/// DoH's port (RFC 8484: HTTPS).
pub const DOH_PORT: u16 = 443;
/// DoQ's port (RFC 9250 §4.1.1: UDP 853).
pub const DOQ_PORT: u16 = 853;
/// The DoH path when an `https://` upstream gives none (RFC 8484 §4.1's example).
pub const DOH_PATH: &str = "/dns-query";

/// The certificate and key the DoT and DoH listeners present, with the lines of the
/// config that name them (for `check`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub cert_line: usize,
    pub key_line: usize,
}

/// A CA file a forward root verifies its upstreams' certificates with, instead of
/// the system's roots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaFile {
    pub path: PathBuf,
    pub line: usize,
}

/// One server of a forward root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    pub addr: SocketAddr,
    pub transport: Transport,
}

/// How an upstream is spoken to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP, TCP when the answer is truncated.
    Plain,
    /// DNS over TLS (RFC 7858); `name` is what the certificate must cover: the
    /// name after `#`, else the address itself.
    Tls { name: String },
    /// DNS over HTTPS (RFC 8484), HTTP/2, POST.
    Https { name: String, path: String },
    /// DNS over QUIC (RFC 9250); `name` as for DoT.
    Quic { name: String },
}

impl Transport {
    pub fn is_encrypted(&self) -> bool {
        !matches!(self, Transport::Plain)
    }
}

/// Parses one `forward` entry: `"192.0.2.1"`, `"[::1]:5300"` (the root's `port` by
/// default), `"tls://9.9.9.9#dns.quad9.net"`, `"tls://[2620:fe::fe]:853"`,
/// `"https://9.9.9.9/dns-query#dns.quad9.net"`, `"quic://94.140.14.14#dns.adguard-dns.com"`.
pub fn parse_upstream(s: &str, plain_port: u16) -> Result<Upstream, String> {
    let Some((scheme, rest)) = s.split_once("://") else {
        let addr = parse_socket_addr(s, plain_port)
            .ok_or_else(|| format!("{s:?} is not an address, tls://…, https://… or quic://…"))?;
        return Ok(Upstream {
            addr,
            transport: Transport::Plain,
        });
    };
    let (rest, name) = match rest.split_once('#') {
        Some((r, n)) => (r, Some(n)),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    let default_port = match scheme {
        "tls" => DOT_PORT,
        "https" => DOH_PORT,
        "quic" => DOQ_PORT,
        other => {
            return Err(format!(
                "{s:?}: unknown scheme {other:?} (want tls://, https:// or quic://)"
            ));
        }
    };
    let addr = parse_socket_addr(authority, default_port).ok_or_else(|| {
        let path = path.unwrap_or(if scheme == "https" { DOH_PATH } else { "" });
        format!(
            "{s:?}: the server must be an IP address, since altroot does not look up its \
             upstreams' names; write {scheme}://<address>{path}#{authority}"
        )
    })?;
    let name = match name {
        Some(n) => {
            ServerName::try_from(n.to_string())
                .map_err(|_| format!("{s:?}: {n:?} is not a name a certificate can cover"))?;
            n.to_ascii_lowercase()
        }
        None => addr.ip().to_string(),
    };
    let transport = match scheme {
        "tls" | "quic" => {
            if path.is_some_and(|p| p != "/") {
                return Err(format!("{s:?}: {scheme}:// takes no path"));
            }
            if scheme == "tls" {
                Transport::Tls { name }
            } else {
                Transport::Quic { name }
            }
        }
        _ => Transport::Https {
            name,
            path: path.unwrap_or(DOH_PATH).to_string(),
        },
    };
    Ok(Upstream { addr, transport })
}

/// The name a certificate must cover, as rustls wants it.
pub fn server_name(name: &str) -> Option<ServerName<'static>> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Some(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(name.to_string()).ok()
}

/// `tls-listen`, `https-listen`, `quic-listen`, and the certificate and key.
type EncryptedListeners = (
    Vec<SocketAddr>,
    Vec<SocketAddr>,
    Vec<SocketAddr>,
    Option<TlsFiles>,
);

impl Validator<'_> {
    /// `tls-listen`, `https-listen`, `quic-listen` and the certificate files they
    /// need; each error recorded.
    pub(super) fn encrypted_listeners(&self, f: &FileServer) -> EncryptedListeners {
        let tls_listen = self.stream_addrs("tls-listen", f.tls_listen.as_ref(), DOT_PORT);
        let https_listen = self.stream_addrs("https-listen", f.https_listen.as_ref(), DOH_PORT);
        let quic_listen = self.stream_addrs("quic-listen", f.quic_listen.as_ref(), DOQ_PORT);
        let file = |key: &str, v: &Text| -> Option<(PathBuf, usize)> {
            let p = join_clean(self.base, v.get_ref());
            if let Err(e) = std::fs::File::open(&p) {
                self.report(v, format!("{key}: cannot read {}: {e}", p.display()));
                return None;
            }
            Some((p, super::validate::line_of(self.text, v.span().start)))
        };
        let tls = match (&f.tls_cert, &f.tls_key) {
            (Some(c), Some(k)) => match (file("tls-cert", c), file("tls-key", k)) {
                (Some((cert, cert_line)), Some((key, key_line))) => Some(TlsFiles {
                    cert,
                    key,
                    cert_line,
                    key_line,
                }),
                _ => None,
            },
            (Some(c), None) => {
                self.report(c, "tls-cert: needs tls-key too".into());
                None
            }
            (None, Some(k)) => {
                self.report(k, "tls-key: needs tls-cert too".into());
                None
            }
            (None, None) => {
                let need = f.tls_listen.as_ref().filter(|l| !l.get_ref().is_empty());
                let need = need.or(f.https_listen.as_ref().filter(|l| !l.get_ref().is_empty()));
                let need = need.or(f.quic_listen.as_ref().filter(|l| !l.get_ref().is_empty()));
                if let Some(l) = need {
                    self.report(
                        l,
                        "tls-listen, https-listen and quic-listen need tls-cert and tls-key (PEM files)"
                            .into(),
                    );
                }
                None
            }
        };
        (tls_listen, https_listen, quic_listen, tls)
    }

    fn stream_addrs(
        &self,
        key: &str,
        list: Option<&Spanned<Vec<Text>>>,
        port: u16,
    ) -> Vec<SocketAddr> {
        let mut out = Vec::new();
        for s in list.map(|l| l.get_ref().as_slice()).unwrap_or_default() {
            match parse_socket_addr(s.get_ref(), port) {
                Some(a) => out.push(a),
                None => self.report(
                    s,
                    format!(
                        "{key}: {:?} is not an address (want \"127.0.0.1:{port}\" or \"[::1]:{port}\")",
                        s.get_ref()
                    ),
                ),
            }
        }
        out
    }

    /// A forward root's upstreams and its `tls-ca`, or `None` when any of them is
    /// wrong (each error recorded).
    pub(super) fn forward_upstreams(
        &self,
        name: &str,
        r: &FileRoot,
    ) -> Option<(Vec<Upstream>, Option<CaFile>)> {
        let port = r.port.unwrap_or(53);
        let mut upstreams = Vec::new();
        let mut ok = true;
        for s in r.forward.iter().flatten() {
            match parse_upstream(s.get_ref(), port) {
                Ok(u) => upstreams.push(u),
                Err(e) => {
                    self.report(s, format!("root {name:?}: forward {e}"));
                    ok = false;
                }
            }
        }
        let tls_ca = match &r.tls_ca {
            None => None,
            Some(v) => {
                let path = join_clean(self.base, v.get_ref());
                if !upstreams.iter().any(|u| u.transport.is_encrypted()) {
                    if ok {
                        self.report(
                            v,
                            format!(
                                "root {name:?}: tls-ca is only for tls://, https:// and quic:// upstreams"
                            ),
                        );
                    }
                    ok = false;
                    None
                } else if let Err(e) = std::fs::File::open(&path) {
                    self.report(
                        v,
                        format!("root {name:?}: cannot read tls-ca {}: {e}", path.display()),
                    );
                    ok = false;
                    None
                } else {
                    let line = super::validate::line_of(self.text, v.span().start);
                    Some(CaFile { path, line })
                }
            }
        };
        ok.then_some((upstreams, tls_ca))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(name: &str) -> Transport {
        Transport::Tls { name: name.into() }
    }

    #[test]
    fn upstream_forms() {
        let u = parse_upstream("192.0.2.1", 53).unwrap();
        assert_eq!(
            (u.addr, u.transport),
            ("192.0.2.1:53".parse().unwrap(), Transport::Plain)
        );
        let u = parse_upstream("[::1]:5300", 53).unwrap();
        assert_eq!(u.addr, "[::1]:5300".parse().unwrap());
        let u = parse_upstream("tls://9.9.9.9#dns.Quad9.net", 53).unwrap();
        assert_eq!(u.addr, "9.9.9.9:853".parse().unwrap());
        assert_eq!(u.transport, tls("dns.quad9.net"));
        let u = parse_upstream("tls://[2620:fe::fe]:8853", 53).unwrap();
        assert_eq!(u.addr, "[2620:fe::fe]:8853".parse().unwrap());
        assert_eq!(u.transport, tls("2620:fe::fe"), "no name: the address");
        let u = parse_upstream("https://192.0.2.7/dns-query#dns.example", 53).unwrap();
        assert_eq!(u.addr, "192.0.2.7:443".parse().unwrap());
        assert_eq!(
            u.transport,
            Transport::Https {
                name: "dns.example".into(),
                path: "/dns-query".into()
            }
        );
        let u = parse_upstream("quic://192.0.2.8#Dns.Example", 53).unwrap();
        assert_eq!(u.addr, "192.0.2.8:853".parse().unwrap(), "DoQ: UDP 853");
        assert_eq!(
            u.transport,
            Transport::Quic {
                name: "dns.example".into()
            }
        );
        let u = parse_upstream("https://[::1]:8443#dns.example", 53).unwrap();
        assert_eq!(u.addr, "[::1]:8443".parse().unwrap());
        assert!(matches!(u.transport, Transport::Https { path, .. } if path == DOH_PATH));
    }

    #[test]
    fn listeners_need_a_certificate() {
        let path = std::path::Path::new("/nonexistent/altroot.toml");
        let parse = |text: &str| {
            super::super::Config::from_toml(text, path)
                .map_err(|e| e.first().clone())
                .unwrap_err()
        };
        let e = parse("[server]\ntls-listen = [\"127.0.0.1\"]\n");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("need tls-cert and tls-key"), "{e}");
        let e = parse("[server]\nquic-listen = [\"127.0.0.1\"]\n");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("need tls-cert and tls-key"), "{e}");
        let e = parse("[server]\ntls-cert = \"c.pem\"\n");
        assert!(e.message.contains("needs tls-key"), "{e}");
        let e = parse("[[root]]\nname = \"x\"\nforward = [\"192.0.2.1\"]\ntls-ca = \"ca.pem\"\n");
        assert_eq!(e.line, Some(4), "{e}");
        assert!(
            e.message.contains("only for tls://, https:// and quic://"),
            "{e}"
        );
    }

    #[test]
    fn upstream_errors_say_the_fix() {
        let e = parse_upstream("https://dns.example/dns-query", 53).unwrap_err();
        assert!(e.contains("https://<address>/dns-query#dns.example"), "{e}");
        let e = parse_upstream("tls://dns.quad9.net", 53).unwrap_err();
        assert!(e.contains("tls://<address>#dns.quad9.net"), "{e}");
        let e = parse_upstream("doq://9.9.9.9", 53).unwrap_err();
        assert!(e.contains("unknown scheme"), "{e}");
        let e = parse_upstream("quic://dns.example", 53).unwrap_err();
        assert!(e.contains("quic://<address>#dns.example"), "{e}");
        let e = parse_upstream("quic://192.0.2.1/dns-query", 53).unwrap_err();
        assert!(e.contains("quic:// takes no path"), "{e}");
        let e = parse_upstream("tls://9.9.9.9#bad name", 53).unwrap_err();
        assert!(e.contains("not a name"), "{e}");
        assert!(parse_upstream("nope", 53).is_err());
    }
}
