//! A DoT upstream (RFC 7858): one TLS connection, reused and pipelined (RFC 7766
//! §6.2.1.1: several queries in flight, answers in any order, matched by message
//! ID), opened again when the server closes it, closed by us after
//! [`IDLE_CLOSE`] without questions.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::Query;
use rustls::ClientConfig;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_util::sync::CancellationToken;

use super::{Fail, Shared, TlsTarget, our_reply, query_bytes};
use crate::resolver::failure::ServerError;
use crate::resolver::transport::{Reply, framed, read_framed};

/// We close a connection that carried no question for this long (servers close
/// theirs too: Unbound after `tcp-idle-timeout`, 30 s).
pub const IDLE_CLOSE: Duration = Duration::from_secs(20);
/// Questions waiting on one connection at once; past it, a question waits its turn.
const IN_FLIGHT: usize = 256;

type Waiting = Arc<Mutex<HashMap<u16, oneshot::Sender<Vec<u8>>>>>;

pub struct DotClient {
    target: TlsTarget,
    conn: Shared<Arc<Conn>>,
}

/// One open connection: a writer task fed by `tx`, a reader task handing replies
/// to the waiting questions.
struct Conn {
    tx: mpsc::Sender<Vec<u8>>,
    waiting: Waiting,
    slots: tokio::sync::Semaphore,
    closed: CancellationToken,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.closed.cancel();
    }
}

impl DotClient {
    pub fn new(addr: SocketAddr, name: &str, config: Arc<ClientConfig>) -> Result<Self, String> {
        Ok(DotClient {
            target: TlsTarget::new(addr, name, config)?,
            conn: Shared::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.target.name
    }

    /// Asks one question; waits at most until `deadline`.
    pub async fn query(
        &self,
        q: &Query,
        rd: bool,
        deadline: Instant,
    ) -> Result<Reply, ServerError> {
        // A reused connection the server has just closed fails at once: then once
        // more on a new one.
        for _ in 0..2 {
            let (conn, fresh) = self
                .conn
                .get(
                    deadline,
                    |c| !c.closed.is_cancelled(),
                    || self.connect(deadline),
                )
                .await?;
            match ask(&conn, q, rd, deadline).await {
                Ok(r) => return Ok(r),
                Err(Fail::Closed) if !fresh => {
                    self.conn.forget(|c| Arc::ptr_eq(c, &conn));
                    continue;
                }
                Err(Fail::Closed) => {
                    return Err(ServerError::Unreachable(format!(
                        "{}: the TLS connection closed before the reply",
                        self.target.addr
                    )));
                }
                Err(Fail::Other(e)) => return Err(e),
            }
        }
        Err(ServerError::Unreachable(format!(
            "{}: the TLS connection keeps closing",
            self.target.addr
        )))
    }

    /// A new connection, by `deadline`, with its tasks started.
    async fn connect(&self, deadline: Instant) -> Result<Arc<Conn>, ServerError> {
        let tls = self.target.connect(deadline).await?;
        Ok(Arc::new(start(tls)))
    }
}

/// Starts the writer and reader tasks of a connection.
fn start(tls: tokio_rustls::client::TlsStream<TcpStream>) -> Conn {
    let (mut rd, mut wr) = tokio::io::split(tls);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(64);
    let waiting: Waiting = Default::default();
    let closed = CancellationToken::new();
    let c = closed.clone();
    tokio::spawn(async move {
        loop {
            let frame = tokio::select! {
                f = rx.recv() => f,
                _ = c.cancelled() => None,
            };
            let Some(frame) = frame else { break };
            if wr.write_all(&frame).await.is_err() || wr.flush().await.is_err() {
                break;
            }
        }
        c.cancel();
        let _ = wr.shutdown().await;
    });
    let (w, c) = (waiting.clone(), closed.clone());
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                r = timeout(IDLE_CLOSE, read_framed(&mut rd)) => r.map(Result::ok),
                _ = c.cancelled() => break,
            };
            match next {
                Ok(Some(bytes)) if bytes.len() >= 2 => {
                    let id = u16::from_be_bytes([bytes[0], bytes[1]]);
                    let to = w.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                    if let Some(to) = to {
                        let _ = to.send(bytes);
                    }
                }
                Ok(Some(_)) => {}
                // Closed, or quiet for IDLE_CLOSE: a question still waiting then has
                // outlived any query-timeout, and a frame cut by the timer would
                // leave the stream out of step, so the connection ends either way.
                Ok(None) | Err(_) => break,
            }
        }
        c.cancel();
        // Questions still waiting learn at once that no reply will come.
        w.lock().unwrap_or_else(|p| p.into_inner()).clear();
    });
    Conn {
        tx,
        waiting,
        slots: tokio::sync::Semaphore::new(IN_FLIGHT),
        closed,
    }
}

/// One question on one connection.
async fn ask(conn: &Conn, q: &Query, rd: bool, deadline: Instant) -> Result<Reply, Fail> {
    let Ok(Ok(_slot)) = timeout_at(deadline, conn.slots.acquire()).await else {
        return Err(Fail::Other(ServerError::Timeout));
    };
    let (tx, rx) = oneshot::channel();
    let id = {
        let mut w = conn.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let mut id: u16 = rand::random();
        while w.contains_key(&id) {
            id = rand::random();
        }
        w.insert(id, tx);
        id
    };
    let forget = || {
        conn.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    };
    let framed = query_bytes(id, q, rd)
        .and_then(|b| framed(&b))
        .map_err(Fail::Other)?;
    let started = Instant::now();
    if conn.tx.send(framed).await.is_err() {
        forget();
        return Err(Fail::Closed);
    }
    match timeout_at(deadline, rx).await {
        Err(_) => {
            forget();
            Err(Fail::Other(ServerError::Timeout))
        }
        Ok(Err(_)) => Err(Fail::Closed),
        Ok(Ok(reply)) => {
            let message = our_reply(&reply, id, q).map_err(Fail::Other)?;
            Ok(Reply {
                message,
                rtt: started.elapsed(),
            })
        }
    }
}
