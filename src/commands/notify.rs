//! systemd's readiness protocol (`sd_notify(3)`), in the few lines it takes: when
//! `$NOTIFY_SOCKET` names a Unix datagram socket (a path, or `@name` for the
//! abstract namespace), each state change is one datagram of `KEY=value` lines.
//! Without the variable (not under systemd) nothing is sent.
//!
//! Our own code rather than a crate: the protocol is one `sendto`, and the only
//! other thing needed (`MONOTONIC_USEC` with `RELOADING=1`, which systemd 253+
//! wants for `Type=notify-reload`) is one `clock_gettime`.

use std::os::unix::net::UnixDatagram;

/// Where systemd listens, if it does.
pub struct Notifier {
    socket: Option<std::os::unix::net::SocketAddr>,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`. The variable is left in place (children are not
    /// started, so it cannot leak to them).
    pub fn from_env() -> Notifier {
        let socket = std::env::var_os("NOTIFY_SOCKET").and_then(|p| address(&p));
        Notifier { socket }
    }

    /// Sends one message; failures are logged at debug level only (systemd gone).
    pub fn send(&self, message: &str) {
        let Some(addr) = &self.socket else { return };
        let sent = UnixDatagram::unbound().and_then(|s| s.send_to_addr(message.as_bytes(), addr));
        if let Err(e) = sent {
            tracing::debug!("sd_notify {message:?}: {e}");
        }
    }

    /// Every listener is bound and answering.
    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    /// A reload begins; [`Notifier::ready`] ends it.
    pub fn reloading(&self) {
        self.send(&format!(
            "RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading zones",
            monotonic_usec()
        ));
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=stopping: finishing queries in flight");
    }
}

fn address(p: &std::ffi::OsStr) -> Option<std::os::unix::net::SocketAddr> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = p.as_bytes();
    match bytes.first()? {
        b'/' => std::os::unix::net::SocketAddr::from_pathname(p).ok(),
        #[cfg(target_os = "linux")]
        b'@' => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(&bytes[1..]).ok()
        }
        _ => None,
    }
}

/// CLOCK_MONOTONIC in microseconds, as systemd reads it.
fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if r != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs * 1_000_000 + nanos / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_datagrams_to_the_socket_it_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let n = Notifier {
            socket: address(path.as_os_str()),
        };
        assert!(n.socket.is_some());
        n.reloading();
        let mut buf = [0u8; 256];
        let len = listener.recv(&mut buf).unwrap();
        let msg = std::str::from_utf8(&buf[..len]).unwrap();
        assert!(msg.starts_with("RELOADING=1\nMONOTONIC_USEC="), "{msg}");
        assert!(monotonic_usec() > 0);
        assert!(address(std::ffi::OsStr::new("relative")).is_none());
        assert!(address(std::ffi::OsStr::new("@abstract")).is_some());
        Notifier { socket: None }.ready("nothing happens");
    }
}
