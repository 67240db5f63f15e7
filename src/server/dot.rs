//! The DoT listener (RFC 7858): TLS on TCP, then TCP's framing and bounds
//! ([`tcp::frames`]). At most `tcp-clients` connections (its own count, beside
//! TCP's and DoH's); the handshake must finish within `tcp-idle-timeout`, so a
//! client that stalls it (a slow-loris) holds its place no longer than that and
//! never a worker thread: each connection is a task.

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::Proto;
use super::tcp::{self, Ctx};

pub async fn serve(listener: TcpListener, acceptor: TlsAcceptor, ctx: Arc<Ctx>) {
    tcp::accept_loop(listener, ctx, Proto::Dot, move |stream, peer, c| {
        let acc = acceptor.clone();
        async move {
            if let Some(tls) = handshake(&acc, stream, &c).await {
                tcp::frames(tls, peer, Proto::Dot, &c).await;
            }
        }
    })
    .await;
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
