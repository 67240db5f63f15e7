//! Starting the encrypted listeners (DoT, DoH and DoQ) beside a running server: they
//! share its front end (allow list, per-client bounds, budgets, query log), its
//! stop token and its task tracker, and one certificate store.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::certs::Certs;
use super::{ServerHandle, doh, doq, dot, tcp};
use crate::config::Config;
use crate::resolver::Resolver;

/// The bound sockets of `tls-listen`, `https-listen` and `quic-listen`.
#[derive(Default)]
pub struct EncryptedSockets {
    pub tls: Vec<TcpListener>,
    pub https: Vec<TcpListener>,
    pub quic: Vec<std::net::UdpSocket>,
}

/// A UDP socket for QUIC (an IPv6 one takes IPv6 only, as the UDP listeners do).
fn quic_socket(a: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(a), Type::DGRAM, Some(Protocol::UDP))?;
    if a.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.bind(&a.into())?;
    Ok(s.into())
}

/// Binds every `tls-listen` and `https-listen` address (TCP) and every
/// `quic-listen` address (UDP).
pub async fn bind_encrypted(config: &Config) -> std::io::Result<EncryptedSockets> {
    let one = |what: &'static str, a: SocketAddr| async move {
        TcpListener::bind(a)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot bind {what} {a}: {e}")))
    };
    let mut out = EncryptedSockets::default();
    for a in &config.server.tls_listen {
        out.tls.push(one("DoT", *a).await?);
    }
    for a in &config.server.https_listen {
        out.https.push(one("DoH", *a).await?);
    }
    for a in &config.server.quic_listen {
        out.quic.push(quic_socket(*a).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot bind DoQ (UDP) {a}: {e}"))
        })?);
    }
    Ok(out)
}

/// The running encrypted listeners.
#[derive(Default)]
pub struct EncryptedHandle {
    /// DoT addresses, as bound.
    pub tls_addrs: Vec<SocketAddr>,
    /// DoH addresses, as bound.
    pub https_addrs: Vec<SocketAddr>,
    /// DoQ addresses (UDP), as bound.
    pub quic_addrs: Vec<SocketAddr>,
    certs: Option<Arc<Certs>>,
}

impl EncryptedHandle {
    /// Reads the certificate and key again (SIGHUP); a pair that does not load
    /// leaves the old one in service.
    pub fn reload(&self) {
        if let Some(c) = &self.certs {
            c.reload();
        }
    }
}

impl ServerHandle {
    /// Starts DoT, DoH and DoQ on already bound sockets (and tells `resolver` they are
    /// its own, never to be queried). Fails (with the reason) when the certificate
    /// or key does not load.
    pub fn serve_encrypted(
        &self,
        resolver: &Resolver,
        sockets: EncryptedSockets,
        config: &Config,
    ) -> Result<EncryptedHandle, String> {
        let mut h = EncryptedHandle::default();
        if sockets.tls.is_empty() && sockets.https.is_empty() && sockets.quic.is_empty() {
            return Ok(h);
        }
        let Some(files) = &config.server.tls else {
            return Err(
                "tls-listen, https-listen and quic-listen need tls-cert and tls-key".into(),
            );
        };
        let certs = Certs::load(files)?;
        let ctx = || {
            Arc::new(tcp::Ctx {
                frontend: self.frontend.clone(),
                token: self.token.clone(),
                tracker: self.tracker.clone(),
                connections: Arc::new(tokio::sync::Semaphore::new(config.server.tcp_clients)),
                idle: config.server.tcp_idle_timeout,
            })
        };
        let addr = |l: &TcpListener| l.local_addr().map_err(|e| e.to_string());
        if !sockets.tls.is_empty() {
            let acceptor = TlsAcceptor::from(certs.server_config(&[b"dot"])?);
            let c = ctx();
            for l in sockets.tls {
                let a = addr(&l)?;
                tracing::info!("listening on {a} (DoT)");
                h.tls_addrs.push(a);
                tokio::spawn(dot::serve(l, acceptor.clone(), c.clone()));
            }
        }
        if !sockets.https.is_empty() {
            let acceptor = TlsAcceptor::from(certs.server_config(&[b"h2", b"http/1.1"])?);
            let c = ctx();
            for l in sockets.https {
                let a = addr(&l)?;
                tracing::info!("listening on {a} (DoH, https://{a}{})", doh::PATH);
                h.https_addrs.push(a);
                tokio::spawn(doh::serve(l, acceptor.clone(), c.clone()));
            }
        }
        if !sockets.quic.is_empty() {
            let tls = certs.quic_server_config()?;
            let c = ctx();
            for s in sockets.quic {
                let a = s.local_addr().map_err(|e| e.to_string())?;
                let silent = config.server.tcp_idle_timeout + config.server.query_timeout;
                let endpoint = doq::endpoint(s, tls.clone(), silent)?;
                tracing::info!("listening on {a} (DoQ, UDP)");
                h.quic_addrs.push(a);
                tokio::spawn(doq::serve(endpoint, c.clone()));
            }
        }
        let own: Vec<SocketAddr> = h
            .tls_addrs
            .iter()
            .chain(&h.https_addrs)
            .chain(&h.quic_addrs)
            .copied()
            .collect();
        resolver.add_own_addresses(&own);
        tokio::spawn(certs.clone().watch(self.token.clone()));
        h.certs = Some(certs);
        Ok(h)
    }
}
