//! The DoQ listener (RFC 9250): DNS over dedicated QUIC connections, on quinn.
//!
//! Each query comes on its own client-initiated bidirectional stream, as a
//! two-byte length and the message, closed by the client's FIN; the answer goes
//! back on that stream the same way, then our FIN (§4.2). A zone transfer's
//! messages all go on the query's stream. Everything passes through
//! [`super::Frontend::receive`] as DoT's frames do: the allow list,
//! `max-per-client`, the budgets, the query log (`proto=doq`) and the metrics.
//!
//! Bounds, as for DoT: at most `tcp-clients` connections (its own count; past it a
//! new connection is refused with CONNECTION_REFUSED, never queued); the
//! handshake, and then each whole query (up to its FIN), within
//! `tcp-idle-timeout`; a connection on which no query starts for that long is
//! closed with DOQ_NO_ERROR (QUIC's own idle timeout, for a client that vanished,
//! is that plus `query-timeout`). At most [`STREAMS`] queries of one
//! connection at once (QUIC stream credit: a client past it waits, nothing is
//! dropped), each at most 65,535 bytes (its stream's flow-control window).
//!
//! What RFC 9250 §4.3.3 calls a protocol error closes the connection with
//! DOQ_PROTOCOL_ERROR: a stream whose length prefix does not match what came
//! before the FIN (cut short, or a second message on the stream), a message ID
//! other than 0 (§4.2.1), a message that is not a query, or a query that does not
//! finish within `tcp-idle-timeout`. Unidirectional streams are refused by QUIC
//! itself (we grant none). 0-RTT is off: a replayed early query is what §4.5
//! warns of, and a resolver gains little from saving one round trip.

use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::QuicServerConfig;
use quinn::{Connection, Endpoint, Incoming, RecvStream, SendStream, VarInt};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::tcp::Ctx;
use super::{Handled, Proto};

/// Queries of one connection at once (QUIC's concurrent bidirectional streams;
/// DoH allows as many HTTP/2 streams).
pub const STREAMS: u32 = 100;
/// The longest stream a query may be: the length and a 65,535-byte message.
const MAX_STREAM: usize = 2 + 65_535;
/// All streams of a connection together may have this much unread.
const CONNECTION_WINDOW: u32 = 1 << 20;

/// DoQ error codes (RFC 9250 §4.3).
pub const DOQ_NO_ERROR: u32 = 0x0;
pub const DOQ_INTERNAL_ERROR: u32 = 0x1;
pub const DOQ_PROTOCOL_ERROR: u32 = 0x2;

/// The QUIC endpoint of one `quic-listen` address, on its bound socket. `silent`
/// is QUIC's idle timeout: how long a connection may carry no packet at all
/// before it is dropped without a word (a client gone away). It must outlast a
/// question being resolved, during which nothing need be sent; an idle client is
/// closed sooner, and politely, by [`connection`].
pub fn endpoint(
    socket: std::net::UdpSocket,
    tls: Arc<rustls::ServerConfig>,
    silent: Duration,
) -> Result<Endpoint, String> {
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| format!("QUIC TLS set-up: {e}"))?;
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(VarInt::from_u32(STREAMS))
        .max_concurrent_uni_streams(VarInt::from_u32(0))
        .max_idle_timeout(quinn::IdleTimeout::try_from(silent).ok())
        .stream_receive_window(VarInt::from_u32(MAX_STREAM as u32))
        .receive_window(VarInt::from_u32(CONNECTION_WINDOW))
        .datagram_receive_buffer_size(None);
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    server.transport_config(Arc::new(transport));
    // The allow list and the per-client bounds go by the address the connection
    // was opened from; a connection does not move to another.
    server.migration(false);
    Endpoint::new(
        quinn::EndpointConfig::default(),
        Some(server),
        socket,
        Arc::new(quinn::TokioRuntime),
    )
    .map_err(|e| format!("QUIC endpoint: {e}"))
}

/// Accepts connections until the server stops; each one is a task holding one of
/// `tcp-clients` places.
pub async fn serve(endpoint: Endpoint, ctx: Arc<Ctx>) {
    let mine = tokio_util::task::TaskTracker::new();
    loop {
        let incoming = tokio::select! {
            i = endpoint.accept() => match i {
                Some(i) => i,
                None => return,
            },
            _ = ctx.token.cancelled() => break,
        };
        let Ok(permit) = ctx.connections.clone().try_acquire_owned() else {
            incoming.refuse();
            continue;
        };
        let peer = incoming.remote_address();
        let (c, fe) = (ctx.clone(), ctx.frontend.clone());
        ctx.tracker.spawn(mine.track_future(async move {
            let _permit = permit;
            let what = format!("serving a doq connection from {peer}");
            fe.panics()
                .guard(Proto::Doq, what, connection(incoming, c))
                .await;
        }));
    }
    // The connection tasks close their connections once their answers are out;
    // then the endpoint sends what is left (the CONNECTION_CLOSE frames).
    mine.close();
    let _ = tokio::time::timeout(ctx.idle, mine.wait()).await;
    endpoint.close(VarInt::from_u32(DOQ_NO_ERROR), b"server stopping");
    let _ = tokio::time::timeout(ctx.idle, endpoint.wait_idle()).await;
}

/// One connection: the handshake, then a task per stream, until the client
/// closes, goes idle, breaks the protocol, or the server stops.
async fn connection(incoming: Incoming, ctx: Arc<Ctx>) {
    let connecting = match incoming.accept() {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("QUIC connection not accepted: {e}");
            return;
        }
    };
    let conn = tokio::select! {
        r = tokio::time::timeout(ctx.idle, connecting) => match r {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::debug!("QUIC handshake failed: {e}");
                return;
            }
            Err(_) => return,
        },
        _ = ctx.token.cancelled() => return,
    };
    let mut streams = JoinSet::new();
    let mut last = Instant::now();
    loop {
        tokio::select! {
            s = conn.accept_bi() => match s {
                Ok((send, recv)) => {
                    last = Instant::now();
                    let (conn, c) = (conn.clone(), ctx.clone());
                    streams.spawn(async move {
                        let fe = c.frontend.clone();
                        let what = format!("answering a doq stream from {}", conn.remote_address());
                        fe.panics().guard(Proto::Doq, what, stream(send, recv, conn, c)).await;
                    });
                }
                // Closed by the client, by QUIC's idle timeout, or by us.
                Err(_) => return,
            },
            Some(_) = streams.join_next(), if !streams.is_empty() => {
                last = Instant::now();
            }
            _ = tokio::time::sleep_until(last + ctx.idle), if streams.is_empty() => {
                conn.close(VarInt::from_u32(DOQ_NO_ERROR), b"idle");
                return;
            }
            _ = ctx.token.cancelled() => break,
        }
    }
    // Stopping: the answers being resolved go out first, for a bounded time.
    let _ = tokio::time::timeout(ctx.idle, async {
        while streams.join_next().await.is_some() {}
    })
    .await;
    conn.close(VarInt::from_u32(DOQ_NO_ERROR), b"server stopping");
}

/// Closes the connection for a protocol error (RFC 9250 §4.3.3).
fn protocol_error(conn: &Connection, why: &'static str) {
    tracing::debug!(client = %conn.remote_address(), "DoQ protocol error: {why}");
    conn.close(VarInt::from_u32(DOQ_PROTOCOL_ERROR), why.as_bytes());
}

/// The message of a stream: its two-byte length must be what follows, all of it.
pub fn message(stream: &[u8]) -> Result<&[u8], &'static str> {
    let (len, rest) = match stream {
        [a, b, rest @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), rest),
        _ => return Err("a stream shorter than its length field"),
    };
    match rest.len().cmp(&len) {
        std::cmp::Ordering::Less => Err("a stream cut short of its message"),
        std::cmp::Ordering::Greater => Err("more than one message on a stream"),
        std::cmp::Ordering::Equal if len < 12 => Err("a message shorter than a header"),
        std::cmp::Ordering::Equal => Ok(rest),
    }
}

/// One query stream: read it whole (to the FIN), answer on it, then FIN.
async fn stream(mut send: SendStream, mut recv: RecvStream, conn: Connection, ctx: Arc<Ctx>) {
    let bytes = match tokio::time::timeout(ctx.idle, recv.read_to_end(MAX_STREAM)).await {
        Ok(Ok(b)) => b,
        Ok(Err(quinn::ReadToEndError::TooLong)) => {
            return protocol_error(&conn, "more than one message on a stream");
        }
        // Reset by the client, or the connection is gone: nobody to answer.
        Ok(Err(quinn::ReadToEndError::Read(_))) => return,
        Err(_) => return protocol_error(&conn, "a query not finished in time"),
    };
    let query = match message(&bytes) {
        Ok(q) => q,
        Err(why) => return protocol_error(&conn, why),
    };
    if query[..2] != [0, 0] {
        return protocol_error(&conn, "a message ID other than 0");
    }
    if query[2] & 0x80 != 0 {
        return protocol_error(&conn, "a response where a query belongs");
    }
    let peer = conn.remote_address();
    let mut out = Vec::new();
    let fe = &ctx.frontend;
    let sent = match fe.receive_caught(query, peer, Proto::Doq, &mut out) {
        Handled::Reply => write(&mut send, &out).await,
        Handled::Later(p) => {
            let answer = tokio::select! {
                a = fe.resolve_caught(p) => a,
                // The client gave up on it (STOP_SENDING) or the connection went.
                _ = send.stopped() => return,
            };
            write(&mut send, &answer).await
        }
        Handled::Transfer(mut t) => {
            let mut ok = true;
            while let Some(m) = t.next_message() {
                match m {
                    Ok(b) if write(&mut send, &b).await => {}
                    Ok(_) => {
                        ok = false;
                        break;
                    }
                    Err(e) => {
                        // No closing SOA: the client keeps what it had.
                        tracing::warn!("zone transfer stopped: {e}");
                        let _ = send.reset(VarInt::from_u32(DOQ_INTERNAL_ERROR));
                        return;
                    }
                }
            }
            ok
        }
        // Only a runt or a response are dropped, and neither gets this far.
        Handled::Drop => {
            let _ = send.reset(VarInt::from_u32(DOQ_INTERNAL_ERROR));
            return;
        }
    };
    if sent && send.finish().is_ok() {
        // Held until the client has it, so that a stopping server does not close
        // the connection under an answer still in flight.
        let _ = tokio::time::timeout(ctx.idle, send.stopped()).await;
    }
}

/// Writes one message with its length; false when the stream is gone.
async fn write(send: &mut SendStream, message: &[u8]) -> bool {
    let Ok(len) = u16::try_from(message.len()) else {
        return false;
    };
    let mut b = Vec::with_capacity(message.len() + 2);
    b.extend_from_slice(&len.to_be_bytes());
    b.extend_from_slice(message);
    send.write_all(&b).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_holds_one_whole_message() {
        let mut q = vec![0u8, 12];
        q.extend_from_slice(&[0; 12]);
        assert_eq!(message(&q), Ok(&[0u8; 12][..]));
        assert!(message(&q[..13]).unwrap_err().contains("cut short"));
        let mut two = q.clone();
        two.extend_from_slice(&q);
        assert!(message(&two).unwrap_err().contains("more than one"));
        assert!(message(&[0]).is_err());
        assert!(message(&[]).is_err());
        assert!(message(&[0, 3, 1, 2, 3]).unwrap_err().contains("header"));
    }
}
