//! The TCP listener (RFC 7766): at most `tcp-clients` connections; a connection
//! that does not deliver a complete query within `tcp-idle-timeout` is closed (a
//! slow sender cannot hold it open byte by byte); up to [`PIPELINE`] questions of
//! one connection are resolved at once, answered as they are ready. DoT (RFC 7858)
//! uses the same framing after its handshake ([`frames`]).

use crate::resolver::transport::{framed, read_framed};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Frontend, Handled, Proto};

/// Questions of one connection resolved at once (PowerDNS
/// `max-concurrent-requests-per-tcp-connection` 10).
pub const PIPELINE: usize = 16;

pub struct Ctx {
    pub frontend: Arc<Frontend>,
    pub token: CancellationToken,
    pub tracker: TaskTracker,
    pub connections: Arc<Semaphore>,
    pub idle: Duration,
}

pub async fn serve(listener: TcpListener, ctx: Ctx) {
    accept_loop(
        listener,
        Arc::new(ctx),
        Proto::Tcp,
        |stream, peer, c| async move {
            let _ = stream.set_nodelay(true);
            frames(stream, peer, Proto::Tcp, &c).await;
        },
    )
    .await;
}

/// Accepts connections until the server stops (TCP, DoT and DoH alike, `proto`):
/// each one takes one of `tcp-clients` places and is served by `serve` as a task
/// holding it. When all are taken a new connection is closed at once (the client
/// may retry), never queued. A panic in a connection's task ends that connection
/// only; it is counted and logged ([`super::panics`]).
pub async fn accept_loop<F, Fut>(listener: TcpListener, ctx: Arc<Ctx>, proto: Proto, serve: F)
where
    F: Fn(TcpStream, SocketAddr, Arc<Ctx>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors, a connection reset before accept: wait a
                    // little rather than spin.
                    tracing::debug!("{} accept: {e}", proto.as_str());
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = ctx.token.cancelled() => return,
        };
        let Ok(permit) = ctx.connections.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let conn = serve(stream, peer, ctx.clone());
        let fe = ctx.frontend.clone();
        ctx.tracker.spawn(async move {
            let _permit = permit;
            let what = format!("serving a {} connection from {peer}", proto.as_str());
            fe.panics().guard(proto, what, conn).await;
        });
    }
}

/// Reads one framed message, all of it within `idle`.
async fn read_frame<R: AsyncRead + Unpin>(stream: &mut R, idle: Duration) -> Option<Vec<u8>> {
    tokio::time::timeout(idle, read_framed(stream))
        .await
        .ok()
        .and_then(Result::ok)
}

/// Serves the two-byte-length framed messages of one connection (TCP, or DoT
/// after the TLS handshake) until the client stops, goes idle, or the server stops.
pub async fn frames<S>(stream: S, peer: SocketAddr, proto: Proto, ctx: &Ctx)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(PIPELINE);
    let writer = tokio::spawn(async move {
        while let Some(b) = rx.recv().await {
            // Replies over a stream are never longer (request::reply_limit).
            let Ok(framed) = framed(&b) else {
                continue;
            };
            // (flush: a TLS stream holds written records until flushed)
            if wr.write_all(&framed).await.is_err() || wr.flush().await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    });
    let pipeline = Arc::new(Semaphore::new(PIPELINE));
    loop {
        let frame = tokio::select! {
            f = read_frame(&mut rd, ctx.idle) => f,
            _ = ctx.token.cancelled() => None,
        };
        let Some(frame) = frame else { break };
        let mut out = Vec::new();
        match ctx.frontend.receive_caught(&frame, peer, proto, &mut out) {
            Handled::Reply => {
                if tx.send(out).await.is_err() {
                    break;
                }
            }
            Handled::Drop => {}
            Handled::Transfer(mut t) => {
                // The messages go out in order before the next question is read.
                let sent = tokio::select! {
                    s = send_transfer(&mut t, &tx) => s,
                    _ = ctx.token.cancelled() => false,
                };
                if !sent {
                    break;
                }
            }
            Handled::Later(p) => {
                // Bounded per connection: past PIPELINE the reader waits.
                let Ok(slot) = pipeline.clone().acquire_owned().await else {
                    break;
                };
                let (fe, tx) = (ctx.frontend.clone(), tx.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    let b = fe.resolve_caught(p).await;
                    let _ = tx.send(b).await;
                });
            }
        }
    }
    // Answers still being resolved are sent before the connection closes.
    drop(tx);
    let _ = writer.await;
}

/// Sends every message of a zone transfer to the connection's writer; false when
/// the connection is gone or a message could not be made (the connection is then
/// closed: the client sees no closing SOA and keeps what it had).
async fn send_transfer(t: &mut super::xfr::Transfer, tx: &mpsc::Sender<Vec<u8>>) -> bool {
    while let Some(m) = t.next_message() {
        match m {
            Ok(b) => {
                if tx.send(b).await.is_err() {
                    return false;
                }
            }
            Err(e) => {
                tracing::warn!("zone transfer stopped: {e}");
                return false;
            }
        }
    }
    tracing::debug!(
        "zone transfer sent: {} records in {} messages",
        t.record_count(),
        t.messages()
    );
    true
}
