//! PEM files for TLS, shared by the listeners (their certificate and key), the
//! encrypted upstreams (CA lists, the system's roots) and `check` (what a
//! certificate covers and until when).
//!
//! One crypto provider everywhere: rustls with *ring* (already in the tree through
//! hickory-proto; no C toolchain needed, unlike aws-lc).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// A certificate expiring sooner than this is a warning in `check`.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// The crypto provider every TLS config uses.
pub fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// Every certificate in a PEM file (the chain, leaf first).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs = iter
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: bad PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no CERTIFICATE in it", path.display()));
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("{}: no PRIVATE KEY in it", path.display())
        }
        e => format!("cannot read a private key from {}: {e}", path.display()),
    })
}

/// A listener's certificate chain and key, checked to belong together.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, String> {
    certified_key(load_certs(cert)?, load_key(key)?, cert, key)
}

/// A chain and a key (read from `cert` and `key`), checked to belong together.
fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    der: PrivateKeyDer<'static>,
    cert: &Path,
    key: &Path,
) -> Result<Arc<CertifiedKey>, String> {
    CertifiedKey::from_der(chain, der, &provider())
        .map(Arc::new)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => format!(
                "the key in {} does not belong to the certificate in {}",
                key.display(),
                cert.display()
            ),
            e => format!("{} / {}: {e}", cert.display(), key.display()),
        })
}

/// The CAs in a PEM file, as a root store for verifying upstreams.
pub fn load_ca(path: &Path) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    for c in load_certs(path)? {
        store
            .add(c)
            .map_err(|e| format!("{}: not a usable CA certificate: {e}", path.display()))?;
    }
    Ok(store)
}

/// The system's trusted CAs (rustls-native-certs: the OS store, e.g. Debian's
/// ca-certificates, honouring `SSL_CERT_FILE`/`SSL_CERT_DIR`), read once.
pub fn system_roots() -> Result<Arc<RootCertStore>, String> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut store = RootCertStore::empty();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found.errors.first().map(|e| format!(" ({e})")).unwrap_or_default();
                return Err(format!(
                    "no system CA certificates found{why}: install ca-certificates, or give the root tls-ca"
                ));
            }
            Ok(Arc::new(store))
        })
        .clone()
}

//------------ What `check` says about a certificate ----------------------------

/// What a leaf certificate covers and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// DNS names and IP addresses of the subjectAltName (the CN when there is none).
    pub names: Vec<String>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

/// Reads the names and validity of a DER certificate.
pub fn cert_info(der: &[u8]) -> Result<CertInfo, String> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => names.push(d.to_string()),
                GeneralName::IPAddress(b) => names.push(ip_text(b)),
                _ => {}
            }
        }
    }
    if names.is_empty() {
        names.extend(
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok().map(str::to_string)),
        );
    }
    let v = cert.validity();
    Ok(CertInfo {
        names,
        not_before: v.not_before.timestamp(),
        not_after: v.not_after.timestamp(),
    })
}

/// The UTC date of Unix seconds, as YYYY-MM-DD (H. Hinnant's civil_from_days).
pub fn date(t: i64) -> String {
    let z = t.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn ip_text(b: &[u8]) -> String {
    match b.len() {
        4 => std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => format!("{b:02x?}"),
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// Which file a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Cert,
    Key,
}

/// Everything `check` reports about a listener's certificate and key at `now`
/// (Unix seconds): unreadable files, a key that is not the certificate's, a
/// certificate not yet valid or expired (errors), one expiring within
/// [`EXPIRY_WARNING_DAYS`] and the names it covers (warnings).
pub fn check_pair(cert: &Path, key: &Path, now: i64) -> Vec<(Severity, Which, String)> {
    let mut out = Vec::new();
    let chain = match load_certs(cert) {
        Ok(c) => c,
        Err(e) => return vec![(Severity::Error, Which::Cert, e)],
    };
    if let Err(e) = load_key(key).and_then(|der| certified_key(chain.clone(), der, cert, key)) {
        out.push((Severity::Error, Which::Key, e));
    }
    let info = match cert_info(&chain[0]) {
        Ok(i) => i,
        Err(e) => {
            out.push((
                Severity::Error,
                Which::Cert,
                format!("{}: {e}", cert.display()),
            ));
            return out;
        }
    };
    let c = cert.display();
    if info.not_after < now {
        out.push((
            Severity::Error,
            Which::Cert,
            format!("{c}: expired on {}", date(info.not_after)),
        ));
    } else if info.not_before > now {
        out.push((
            Severity::Error,
            Which::Cert,
            format!("{c}: not valid before {}", date(info.not_before)),
        ));
    } else {
        let left = (info.not_after - now) / 86_400;
        if left < EXPIRY_WARNING_DAYS {
            out.push((
                Severity::Warning,
                Which::Cert,
                format!(
                    "{c}: expires in {left} {}, on {}",
                    if left == 1 { "day" } else { "days" },
                    date(info.not_after)
                ),
            ));
        }
    }
    out.push((
        Severity::Warning,
        Which::Cert,
        format!(
            "{c}: covers {} (clients must ask for one of these names)",
            info.names.join(", ")
        ),
    ));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::date(0), "1970-01-01");
        assert_eq!(super::date(951_782_400), "2000-02-29");
        assert_eq!(super::date(1_798_761_599), "2026-12-31");
    }

    // Issue 14: "expires in 1 days". A certificate ending 2030-01-02 00:00 UTC,
    // checked a day and an hour before.
    #[test]
    fn expiry_warning_counts_days_in_the_right_number() {
        let mut p = rcgen::CertificateParams::new(vec!["dns.example".to_string()]).unwrap();
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2030, 1, 2);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        let end = 1_893_542_400; // 2030-01-02 00:00:00 UTC
        let found = super::check_pair(&c, &k, end - 86_400 - 3_600);
        assert!(
            found
                .iter()
                .any(|(_, _, m)| m.ends_with("expires in 1 day, on 2030-01-02")),
            "{found:?}"
        );
    }
}
