//! The UDP listener: one receive loop per socket. Answers that need no network are
//! sent from the loop itself; a question for the resolver gets a task, tracked so
//! that shutdown can wait for it.
//!
//! On Linux each socket has a thread of its own that waits in `recvmmsg(2)`,
//! takes up to [`BATCH`] datagrams at once and sends the answers it has with one
//! `sendmmsg(2)`: system calls are most of what an answer costs (the kernel is
//! ~90% of a local answer's CPU time, `perf`, docs/performance.md), and the
//! thread makes two per batch where a loop on the runtime made four and a
//! wake-up. Questions for the resolver still run as tasks on the runtime.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::frontend::Pending;
#[cfg(not(target_os = "linux"))]
use super::panics::Guarded;
use super::{Frontend, Handled, Proto};

/// Largest datagram read (a DNS query over UDP is far smaller; RFC 6891 allows
/// up to 65535, and a larger one is cut, then fails to parse: FORMERR).
const BUFFER: usize = 4096;

/// Datagrams taken per receive call.
#[cfg(target_os = "linux")]
const BATCH: usize = 32;

/// Serves one socket until the server stops. A datagram's work runs guarded
/// ([`Frontend::receive_caught`]); should the loop itself panic all the same, it
/// is counted, logged and started again on the same socket.
pub async fn serve(
    sock: UdpSocket,
    fe: Arc<Frontend>,
    token: CancellationToken,
    tracker: TaskTracker,
) {
    #[cfg(target_os = "linux")]
    threaded(sock, fe, token, tracker).await;
    #[cfg(not(target_os = "linux"))]
    {
        let sock = Arc::new(sock);
        loop {
            let (s, f, t, tr) = (sock.clone(), fe.clone(), token.clone(), tracker.clone());
            match Guarded::new(one_by_one(s, f, t, tr)).await {
                Ok(()) => return,
                Err(e) => {
                    fe.panics()
                        .caught(Proto::Udp, &receiving(sock.local_addr()), e.as_ref());
                    if token.is_cancelled() {
                        return;
                    }
                    // Not a busy loop, whatever keeps panicking.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    }
}

/// What a receive loop was doing, for the line about its panic.
fn receiving(addr: io::Result<SocketAddr>) -> String {
    match addr {
        Ok(a) => format!("receiving on UDP {a}"),
        Err(_) => "receiving on UDP".to_string(),
    }
}

/// What to do with one datagram: reply from `out` (`true`), drop it, or hand its
/// question to `later` (the resolver's task, which sends the answer itself).
fn handle(
    fe: &Arc<Frontend>,
    bytes: &[u8],
    from: SocketAddr,
    out: &mut Vec<u8>,
    later: impl FnOnce(Box<Pending>),
) -> bool {
    #[cfg(debug_assertions)]
    fe.panics().trip(bytes, super::Stage::Listener);
    match fe.receive_caught(bytes, from, Proto::Udp, out) {
        Handled::Reply => true,
        // (never over UDP: the front end answers transfers there itself)
        Handled::Drop | Handled::Transfer(_) => false,
        Handled::Later(p) => {
            later(p);
            false
        }
    }
}

/// A receive error: ICMP errors for earlier replies, a full receive queue. The
/// socket lives on.
fn receive_error(e: &io::Error) {
    tracing::debug!("UDP receive: {e}");
}

#[cfg(not(target_os = "linux"))]
async fn one_by_one(
    sock: Arc<UdpSocket>,
    fe: Arc<Frontend>,
    token: CancellationToken,
    tracker: TaskTracker,
) {
    let mut buf = vec![0u8; BUFFER];
    let mut out = Vec::with_capacity(BUFFER);
    loop {
        let (n, from) = tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    receive_error(&e);
                    continue;
                }
            },
            _ = token.cancelled() => return,
        };
        let bytes = buf.get(..n).unwrap_or_default();
        let later = |p| {
            let (s, fe) = (sock.clone(), fe.clone());
            tracker.spawn(async move {
                let b = fe.resolve_caught(p).await;
                let _ = s.send_to(&b, from).await;
            });
        };
        if handle(&fe, bytes, from, &mut out, later) {
            let _ = sock.send_to(&out, from).await;
        }
    }
}

/// The receive loop of one socket on a thread of its own (Linux): a blocking
/// `recvmmsg(2)` with `MSG_WAITFORONE` returns as soon as one datagram is queued,
/// with whatever else is queued behind it, and the ready answers go back with one
/// `sendmmsg(2)` — two system calls per batch, as a bare C loop makes. On the
/// runtime the same batch cost four (the readiness wait, the receive, the send,
/// and the receive that finds the queue empty) plus a wake-up (issue 19). A
/// question for the resolver becomes a task on the runtime, as before; its
/// answer is sent from there without waiting ([`send_later`]).
///
/// The socket's receive timeout ([`WAKE`]) lets the thread see the server stop.
#[cfg(target_os = "linux")]
async fn threaded(
    sock: UdpSocket,
    fe: Arc<Frontend>,
    token: CancellationToken,
    tracker: TaskTracker,
) {
    // The runtime lets go of the socket (no readiness events for it any more).
    let std_sock = match sock.into_std().and_then(blocking) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tracing::error!("UDP socket for its receive thread: {e}");
            return;
        }
    };
    let fe_tasks = fe.clone();
    let rt = tokio::runtime::Handle::current();
    // The thread stops when the server does, and also when this task is dropped
    // without it (a runtime shut down with the server still running).
    let stop = token.child_token();
    let _stop_on_drop = stop.clone().drop_guard();
    let (misses, mut to_resolve) = tokio::sync::mpsc::unbounded_channel();
    // Its lines go where the runtime's go (a test's captured log, too).
    let log = tracing::dispatcher::get_default(|d| d.clone());
    let reply_sock = std_sock.clone();
    let spawned = std::thread::Builder::new()
        .name("altroot-udp".to_string())
        .spawn(move || {
            // The front end uses the runtime's clock and spawns work on it.
            let _in_runtime = rt.enter();
            let _log = tracing::dispatcher::set_default(&log);
            loop {
                let (s, f, t, m) = (std_sock.clone(), fe.clone(), stop.clone(), misses.clone());
                let what = || receiving(std_sock.local_addr());
                let finished = fe
                    .panics()
                    .catch(Proto::Udp, what, move || receive_thread(s, f, t, m));
                if finished.is_some() || stop.is_cancelled() {
                    break;
                }
                // Not a busy loop, whatever keeps panicking.
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            // (dropping `misses` ends the loop below)
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start a UDP receive thread: {e}");
        return;
    }
    // The questions for the resolver, a batch at a time: the thread wakes this
    // task (one wake-up for whatever it sent meanwhile) and the tasks are
    // spawned from here, on the runtime, rather than one cross-thread spawn each.
    let mut batch = Vec::with_capacity(BATCH);
    while to_resolve.recv_many(&mut batch, BATCH).await > 0 {
        for (p, from) in batch.drain(..) {
            let (s, fe) = (reply_sock.clone(), fe_tasks.clone());
            tracker.spawn(async move {
                let b = fe.resolve_caught(p).await;
                send_later(&s, &b, from).await;
            });
        }
    }
}

/// Where the receive thread sends the questions it cannot answer itself.
#[cfg(target_os = "linux")]
type Misses = tokio::sync::mpsc::UnboundedSender<(Box<Pending>, SocketAddr)>;

/// How often an idle receive thread wakes to see whether the server stopped.
#[cfg(target_os = "linux")]
const WAKE: std::time::Duration = std::time::Duration::from_millis(100);

/// The socket made blocking, with a receive timeout ([`WAKE`]) so that its
/// thread sees the server stop, and a send timeout so that a full send buffer
/// holds the thread up a second at most.
#[cfg(target_os = "linux")]
fn blocking(s: std::net::UdpSocket) -> io::Result<std::net::UdpSocket> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(WAKE))?;
    s.set_write_timeout(Some(std::time::Duration::from_secs(1)))?;
    Ok(s)
}

#[cfg(target_os = "linux")]
fn receive_thread(
    sock: Arc<std::net::UdpSocket>,
    fe: Arc<Frontend>,
    token: CancellationToken,
    misses: Misses,
) {
    let mut b = mmsg::Batch::new();
    while !token.is_cancelled() {
        let got = match b.receive(&sock) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => {
                receive_error(&e);
                continue;
            }
        };
        let mut replies = 0;
        for i in 0..got {
            // A datagram without a sender's address cannot be answered.
            let Some((bytes, from)) = mmsg::datagram(&b.bufs, &b.lens, &b.from, i) else {
                continue;
            };
            let (Some(out), Some(to)) = (b.out.get_mut(replies), b.to.get_mut(replies)) else {
                break;
            };
            // (the runtime has stopped when nobody takes it: then so do we)
            let later = |p| drop(misses.send((p, from)));
            if handle(&fe, bytes, from, out, later) {
                *to = from;
                replies += 1;
            }
        }
        let mut sent = 0;
        while sent < replies {
            match b.send(&sock, sent, replies) {
                Ok(k) if k > 0 => sent += k,
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::debug!("UDP send: {e}");
                    break;
                }
            }
        }
    }
}

/// Sends a resolved answer from the runtime on the receive thread's (blocking)
/// socket without blocking a worker: `MSG_DONTWAIT`, and while the send buffer is
/// full, a few more tries a millisecond apart; then the answer is dropped, as a
/// datagram lost on the way would be (the client asks again).
#[cfg(target_os = "linux")]
async fn send_later(sock: &std::net::UdpSocket, b: &[u8], to: SocketAddr) {
    use nix::sys::socket::{MsgFlags, SockaddrStorage, sendto};
    use std::os::fd::AsRawFd;
    let addr = SockaddrStorage::from(to);
    for _ in 0..20 {
        match sendto(sock.as_raw_fd(), b, &addr, MsgFlags::MSG_DONTWAIT) {
            Err(nix::errno::Errno::EAGAIN) => {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await
            }
            Err(nix::errno::Errno::EINTR) => {}
            Ok(_) | Err(_) => return,
        }
    }
}

/// `recvmmsg`/`sendmmsg` through nix's safe wrappers, with the buffers kept from
/// one batch to the next.
#[cfg(target_os = "linux")]
mod mmsg {
    use std::io::{self, IoSlice, IoSliceMut};
    use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg};

    use super::{BATCH, BUFFER};

    pub(super) struct Batch {
        /// [`BATCH`] receive buffers of [`BUFFER`] bytes, the length received in
        /// each and who sent it (`None`: the kernel gave no address).
        pub(super) bufs: Vec<u8>,
        pub(super) lens: [usize; BATCH],
        pub(super) from: [Option<SocketAddr>; BATCH],
        /// The replies of a batch, and where each goes.
        pub(super) out: Vec<Vec<u8>>,
        pub(super) to: [SocketAddr; BATCH],
        /// The receive headers, kept from one batch to the next (the batch lives
        /// on its receive thread).
        rx: MultiHeaders<SockaddrStorage>,
    }

    impl Batch {
        pub(super) fn new() -> Batch {
            let any = SocketAddr::from(([0, 0, 0, 0], 0));
            Batch {
                bufs: vec![0; BUFFER * BATCH],
                lens: [0; BATCH],
                from: [None; BATCH],
                out: (0..BATCH).map(|_| Vec::with_capacity(BUFFER)).collect(),
                to: [any; BATCH],
                rx: MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None),
            }
        }

        /// Waits for a datagram (up to the socket's receive timeout), then takes
        /// it and whatever else is queued, at most [`BATCH`] datagrams.
        pub(super) fn receive(&mut self, sock: &impl AsRawFd) -> io::Result<usize> {
            let mut iovs: Vec<[IoSliceMut<'_>; 1]> = self
                .bufs
                .chunks_exact_mut(BUFFER)
                .map(|c| [IoSliceMut::new(c)])
                .collect();
            let fd = sock.as_raw_fd();
            let res = recvmmsg(
                fd,
                &mut self.rx,
                iovs.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            )
            .map_err(io::Error::from)?;
            let mut n = 0;
            for ((m, len), from) in res.zip(&mut self.lens).zip(&mut self.from) {
                *len = m.bytes;
                // Never the previous datagram's sender (REVIEW finding 8).
                *from = sender(m.address);
                n += 1;
            }
            Ok(n)
        }

        /// Sends replies `from..to` with one `sendmmsg`; how many it took.
        pub(super) fn send(
            &mut self,
            sock: &impl AsRawFd,
            from: usize,
            to: usize,
        ) -> io::Result<usize> {
            let range = || from..to.max(from);
            let iovs: Vec<[IoSlice<'_>; 1]> = self
                .out
                .get(range())
                .unwrap_or_default()
                .iter()
                .map(|o| [IoSlice::new(o)])
                .collect();
            let addrs: Vec<Option<SockaddrStorage>> = self
                .to
                .get(range())
                .unwrap_or_default()
                .iter()
                .map(|a| Some(SockaddrStorage::from(*a)))
                .collect();
            let mut tx = MultiHeaders::<SockaddrStorage>::preallocate(iovs.len(), None);
            let fd = sock.as_raw_fd();
            let res = sendmmsg(fd, &mut tx, iovs.iter(), addrs, [], MsgFlags::empty())
                .map_err(io::Error::from)?;
            Ok(res.count())
        }
    }

    /// Datagram `i` of a batch and its sender; `None` when it has no sender's
    /// address (it is dropped: a reply could not be addressed) or `i` is not a
    /// datagram of the batch.
    pub(super) fn datagram<'a>(
        bufs: &'a [u8],
        lens: &[usize],
        from: &[Option<SocketAddr>],
        i: usize,
    ) -> Option<(&'a [u8], SocketAddr)> {
        let start = i.checked_mul(BUFFER)?;
        let len = (*lens.get(i)?).min(BUFFER);
        Some((bufs.get(start..start + len)?, (*from.get(i)?)?))
    }

    /// The sender of a received datagram, as std's address; `None` for none, or
    /// one that is not IPv4 or IPv6.
    fn sender(a: Option<SockaddrStorage>) -> Option<SocketAddr> {
        a.and_then(to_std)
    }

    fn to_std(a: SockaddrStorage) -> Option<SocketAddr> {
        if let Some(v4) = a.as_sockaddr_in() {
            return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
        }
        a.as_sockaddr_in6()
            .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::mmsg::datagram;
    use super::*;

    // REVIEW finding 8: a datagram for which recvmmsg gave no address was
    // answered to the previous datagram's sender. Now it is dropped.
    #[test]
    fn a_datagram_without_a_sender_is_dropped() {
        let mut bufs = vec![0u8; 3 * BUFFER];
        bufs[..3].copy_from_slice(b"one");
        bufs[2 * BUFFER..2 * BUFFER + 5].copy_from_slice(b"three");
        let lens = [3, 3, 5];
        let a: SocketAddr = "192.0.2.1:53".parse().unwrap();
        let c: SocketAddr = "[2001:db8::3]:53".parse().unwrap();
        let from = [Some(a), None, Some(c)];
        let got: Vec<_> = (0..4)
            .filter_map(|i| datagram(&bufs, &lens, &from, i))
            .collect();
        assert_eq!(got, vec![(&b"one"[..], a), (&b"three"[..], c)]);
        let too_long = [BUFFER + 1];
        assert_eq!(
            datagram(&bufs, &too_long, &[Some(a)], 0).map(|d| d.0.len()),
            Some(BUFFER),
            "never past its buffer"
        );
    }
}
