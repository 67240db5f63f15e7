//! The problems of a config beyond its zones: hints files, forward roots' CA
//! files, the listeners' certificate and key. One list for `altroot check` and
//! for the running server's status page, so the two never disagree; the zones'
//! problems come from [`crate::zones::ZoneSet::load`] in both.

use std::path::PathBuf;

use crate::config::{Config, RootSource, TlsFiles};
use crate::tls::{Severity, Which};
use crate::zones::{Problem, hints};

/// Every problem of `config` that is not in a zones folder, as `check` reports
/// it: each at the file and line that causes it.
pub fn config_problems(config: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    for root in &config.roots {
        match &root.source {
            RootSource::Zones(_) => {}
            RootSource::Hints(h) => {
                if let Err(mut e) = hints::load(h) {
                    out.append(&mut e);
                }
            }
            RootSource::Forward {
                tls_ca: Some(ca), ..
            } => {
                if let Err(e) = crate::tls::load_ca(&ca.path) {
                    out.push(Problem::error(
                        config_file(config),
                        ca.line,
                        format!("tls-ca: {e}"),
                    ));
                }
            }
            RootSource::Forward { .. } => {}
        }
    }
    if let Some(files) = &config.server.tls {
        out.extend(tls_problems(config, files));
    }
    out
}

/// The config file problems point at.
pub fn config_file(config: &Config) -> PathBuf {
    config
        .source
        .clone()
        .unwrap_or_else(|| "<builtin config>".into())
}

/// The listeners' certificate and key: readable, belonging together, valid now and
/// for 30 more days (a warning), and the names they cover (a warning, so an
/// operator sees what clients must ask for). Each at the config line of the file.
fn tls_problems(config: &Config, files: &TlsFiles) -> Vec<Problem> {
    let now = crate::clock::unix_now() as i64;
    let file = config_file(config);
    crate::tls::check_pair(&files.cert, &files.key, now)
        .into_iter()
        .map(|(sev, which, msg)| {
            let (line, key) = match which {
                Which::Cert => (files.cert_line, "tls-cert"),
                Which::Key => (files.key_line, "tls-key"),
            };
            let msg = format!("{key}: {msg}");
            match sev {
                Severity::Error => Problem::error(file.clone(), line, msg),
                Severity::Warning => Problem::warning(file.clone(), line, msg),
            }
        })
        .collect()
}
