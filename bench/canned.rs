//! The canned-answer ceiling for `bench/run.sh`: a one-thread tokio loop that answers
//! every query with the same A record, doing only what any UDP DNS server must —
//! receive, copy the question, patch the ID, send. What altroot's hot path costs
//! beyond this is what it does on top.
//!
//! `cargo run --release --example canned -- 127.0.0.1:5409`

use std::net::SocketAddr;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| "127.0.0.1:5409".parse().expect("a socket address"));
    let sock = tokio::net::UdpSocket::bind(addr).await?;
    let mut buf = [0u8; 512];
    let mut out = Vec::with_capacity(512);
    loop {
        let (n, from) = sock.recv_from(&mut buf).await?;
        if n < 17 {
            continue;
        }
        // Header + the question as sent (up to the end of its QCLASS), then one answer.
        let Some(qend) = question_end(&buf[..n]) else {
            continue;
        };
        out.clear();
        out.extend_from_slice(&buf[..qend]);
        out[2] = 0x81 | (buf[2] & 0x01); // QR, RD echoed
        out[3] = 0x80; // RA, NOERROR
        out[4..12].copy_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0]);
        out.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1]);
        let _ = sock.send_to(&out, from).await;
    }
}

fn question_end(m: &[u8]) -> Option<usize> {
    let mut i = 12;
    loop {
        let len = *m.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        i += len;
    }
    (i + 4 <= m.len()).then_some(i + 4)
}
