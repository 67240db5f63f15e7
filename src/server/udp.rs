//! The UDP listener: one receive loop per socket. Answers that need no network are
//! sent from the loop itself; a question for the resolver gets a task, tracked so
//! that shutdown can wait for it.

use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Frontend, Handled, Proto};

/// Largest datagram read (a DNS query over UDP is far smaller; RFC 6891 allows
/// up to 65535, and a larger one is cut, then fails to parse: FORMERR).
const BUFFER: usize = 4096;

pub async fn serve(
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
                // ICMP errors for earlier replies, a full receive queue: the socket
                // lives on.
                Err(e) => {
                    tracing::debug!("UDP receive: {e}");
                    continue;
                }
            },
            _ = token.cancelled() => return,
        };
        match fe.receive(&buf[..n], from, Proto::Udp, &mut out) {
            Handled::Reply => {
                let _ = sock.send_to(&out, from).await;
            }
            Handled::Drop => {}
            Handled::Later(p) => {
                let (s, fe) = (sock.clone(), fe.clone());
                tracker.spawn(async move {
                    let b = fe.resolve(p).await;
                    let _ = s.send_to(&b, from).await;
                });
            }
        }
    }
}
