//! The certificate and key the DoT, DoH and DoQ listeners present, swapped in place when
//! the files change or on SIGHUP, without touching a connection.
//!
//! Every handshake asks [`Certs`] (a rustls `ResolvesServerCert`) for the current
//! pair. The files are polled (size, modification time, inode; symlinks followed,
//! so certbot's `live/` links and Kubernetes secret swaps work): a change is
//! loaded once the files have stayed the same for one more poll, since a
//! certificate and its key are two files written one after the other. A new pair
//! that does not load — unreadable, bad PEM, a key that is not the certificate's —
//! leaves the old one in service, and the log says why (once per change).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

use crate::config::TlsFiles;

/// How often the files are looked at.
pub const POLL: Duration = Duration::from_millis(500);

/// What identifies one version of a file.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(p: &Path) -> Stamp {
    let m = std::fs::metadata(p).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.modified().ok()?, m.len(), ino))
}

pub struct Certs {
    files: TlsFiles,
    current: ArcSwap<CertifiedKey>,
    /// The stamps of the files last loaded (or last found broken).
    loaded: Mutex<(Stamp, Stamp)>,
}

impl std::fmt::Debug for Certs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Certs({})", self.files.cert.display())
    }
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

impl Certs {
    /// Loads the pair; an error here stops `serve` (there is no old pair to keep).
    pub fn load(files: &TlsFiles) -> Result<Arc<Certs>, String> {
        let stamps = (stamp(&files.cert), stamp(&files.key));
        let ck = crate::tls::load_certified_key(&files.cert, &files.key)?;
        Ok(Arc::new(Certs {
            files: files.clone(),
            current: ArcSwap::new(ck),
            loaded: Mutex::new(stamps),
        }))
    }

    /// A rustls server config that asks this store for every handshake.
    pub fn server_config(self: &Arc<Self>, alpn: &[&[u8]]) -> Result<Arc<ServerConfig>, String> {
        let mut c = ServerConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(c))
    }

    /// The rustls config of the DoQ listener: TLS 1.3 only (QUIC has no other,
    /// RFC 9001 §4.2), ALPN `doq` (RFC 9250 §4.1), no early data (0-RTT queries
    /// could be replayed, RFC 9250 §4.5).
    pub fn quic_server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, String> {
        let mut c = ServerConfig::builder_with_provider(crate::tls::provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        c.alpn_protocols = vec![b"doq".to_vec()];
        c.max_early_data_size = 0;
        Ok(Arc::new(c))
    }

    /// Reads the files again now (SIGHUP); a pair that does not load keeps the old
    /// one. Returns whether a new pair is in service.
    pub fn reload(&self) -> bool {
        let stamps = (stamp(&self.files.cert), stamp(&self.files.key));
        self.try_swap(stamps)
    }

    fn try_swap(&self, stamps: (Stamp, Stamp)) -> bool {
        *self.loaded.lock().unwrap_or_else(|p| p.into_inner()) = stamps;
        match crate::tls::load_certified_key(&self.files.cert, &self.files.key) {
            Ok(ck) => {
                self.current.store(ck);
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                tracing::warn!("TLS certificate not reloaded, the old one stays in service: {e}");
                false
            }
        }
    }

    /// Polls the files until `token` is cancelled, loading a change once it has
    /// settled.
    pub async fn watch(self: Arc<Self>, token: CancellationToken) {
        let mut last_seen = None;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = token.cancelled() => return,
            }
            let now = (stamp(&self.files.cert), stamp(&self.files.key));
            let loaded = *self.loaded.lock().unwrap_or_else(|p| p.into_inner());
            if now == loaded {
                last_seen = None;
                continue;
            }
            if last_seen != Some(now) {
                // Changed since the last poll: wait until it holds still.
                last_seen = Some(now);
                continue;
            }
            last_seen = None;
            let s = self.clone();
            let _ = tokio::task::spawn_blocking(move || s.try_swap(now)).await;
        }
    }
}
