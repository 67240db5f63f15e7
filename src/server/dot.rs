//! The DoT listener (RFC 7858): TLS on TCP, then TCP's framing and bounds
//! ([`tcp::frames`]). At most `tcp-clients` connections (its own count, beside
//! TCP's and DoH's); the handshake must finish within `tcp-idle-timeout`, so a
//! client that stalls it (a slow-loris) holds its place no longer than that and
//! never a worker thread: each connection is a task.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::Proto;
use super::tcp::{self, Ctx};

pub async fn serve(listener: TcpListener, acceptor: TlsAcceptor, ctx: Arc<Ctx>) {
    loop {
        let Some((stream, peer)) = accept(&listener, &ctx).await else {
            return;
        };
        let Ok(permit) = ctx.connections.clone().try_acquire_owned() else {
            drop(stream); // full: close at once, never queue
            continue;
        };
        let (c, acc) = (ctx.clone(), acceptor.clone());
        ctx.tracker.spawn(async move {
            let _permit = permit;
            let Some(tls) = handshake(&acc, stream, &c).await else {
                return;
            };
            tcp::frames(tls, peer, Proto::Dot, &c).await;
        });
    }
}

/// The next connection, or `None` when the server stops.
pub async fn accept(
    listener: &TcpListener,
    ctx: &Ctx,
) -> Option<(TcpStream, std::net::SocketAddr)> {
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => return Some(x),
                Err(e) => {
                    tracing::debug!("TLS accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = ctx.token.cancelled() => return None,
        }
    }
}

/// The TLS handshake, bounded by `tcp-idle-timeout` and by the server's life.
pub async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    ctx: &Ctx,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let _ = stream.set_nodelay(true);
    tokio::select! {
        r = tokio::time::timeout(ctx.idle, acceptor.accept(stream)) => match r {
            Ok(Ok(s)) => Some(s),
            Ok(Err(e)) => {
                tracing::debug!("TLS handshake failed: {e}");
                None
            }
            Err(_) => None,
        },
        _ = ctx.token.cancelled() => None,
    }
}
