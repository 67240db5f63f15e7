//! NOTIFY (RFC 1996) to the secondaries of `[transfer] secondaries` after a reload
//! changed a zone's serial, so they ask for the new copy at once instead of on
//! their SOA refresh timer. Over UDP, each secondary and zone on its own task,
//! retried a bounded number of times with a growing wait (§3.6) until the
//! secondary answers (any answer ends it: an error answer says it will not listen).

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Record, RecordType};
use tokio::net::UdpSocket;

/// Tries per secondary and zone.
pub const TRIES: u32 = 5;
/// The wait for an answer to the first try; doubled on each retry (1 + 2 + 4 + 8 +
/// 16 s at most in all).
pub const FIRST_WAIT: Duration = Duration::from_secs(1);

/// Sends NOTIFY for every zone in `changed` (its SOA record) to every secondary, in
/// the background on `rt`. Returns at once.
pub fn send_all(rt: &tokio::runtime::Handle, secondaries: &[SocketAddr], changed: Vec<Record>) {
    for soa in changed {
        for &to in secondaries {
            let soa = soa.clone();
            rt.spawn(async move {
                let zone = soa.name.clone();
                match notify(to, soa, TRIES, FIRST_WAIT).await {
                    Ok(n) => tracing::info!(%zone, secondary = %to, tries = n, "NOTIFY answered"),
                    Err(e) => tracing::warn!(%zone, secondary = %to, "NOTIFY: {e}"),
                }
            });
        }
    }
}

/// The NOTIFY message for a zone: opcode NOTIFY, AA, the question `<zone> IN SOA`
/// and the new SOA in the answer section (RFC 1996 §3.7, §4.7).
pub fn message(id: u16, soa: &Record) -> Message {
    let mut m = Message::new(id, MessageType::Query, OpCode::Notify);
    m.metadata.authoritative = true;
    m.add_query(Query::query(soa.name.clone(), RecordType::SOA));
    m.add_answer(soa.clone());
    m
}

/// Sends one zone's NOTIFY to `to` until an answer with its ID comes back (the
/// number of tries it took), at most `tries` times, waiting `first_wait`, then
/// twice as long each time.
pub async fn notify(
    to: SocketAddr,
    soa: Record,
    tries: u32,
    first_wait: Duration,
) -> Result<u32, String> {
    let local: SocketAddr = if to.is_ipv4() {
        "0.0.0.0:0".parse().map_err(|_| "address")?
    } else {
        "[::]:0".parse().map_err(|_| "address")?
    };
    let sock = UdpSocket::bind(local)
        .await
        .map_err(|e| format!("cannot bind a socket: {e}"))?;
    let id: u16 = rand::random();
    let bytes = message(id, &soa)
        .to_vec()
        .map_err(|e| format!("cannot encode: {e}"))?;
    let mut wait = first_wait;
    let mut buf = vec![0u8; 4096];
    for n in 1..=tries {
        sock.send_to(&bytes, to)
            .await
            .map_err(|e| format!("cannot send: {e}"))?;
        let answered = tokio::time::timeout(wait, async {
            loop {
                let Ok((len, from)) = sock.recv_from(&mut buf).await else {
                    continue; // ICMP errors of an earlier try: wait on
                };
                if from != to {
                    continue;
                }
                if let Ok(m) = Message::from_vec(&buf[..len])
                    && m.metadata.id == id
                    && m.metadata.message_type == MessageType::Response
                {
                    return m.metadata.response_code;
                }
            }
        })
        .await;
        match answered {
            Ok(hickory_proto::op::ResponseCode::NoError) => return Ok(n),
            Ok(rcode) => return Err(format!("answered {rcode}")),
            Err(_) => wait = wait.saturating_mul(2),
        }
    }
    Err(format!("no answer after {tries} tries"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::SOA;
    use hickory_proto::rr::{Name, RData};

    fn soa() -> Record {
        let n = Name::from_ascii("geek.").unwrap();
        let s = SOA::new(n.clone(), n.clone(), 8, 1, 1, 1, 1);
        Record::from_rdata(n, 60, RData::SOA(s))
    }

    // A secondary that answers the third try only: three tries, each the same
    // NOTIFY (opcode, AA, question, SOA), then done; one that never answers: the
    // bounded number of tries, then an error.
    #[tokio::test(start_paused = true)]
    async fn retries_until_answered_and_no_more() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = server.local_addr().unwrap();
        let task = tokio::spawn(notify(to, soa(), 5, Duration::from_millis(100)));
        let mut buf = vec![0u8; 4096];
        for i in 1..=3 {
            let (len, from) = server.recv_from(&mut buf).await.unwrap();
            let m = Message::from_vec(&buf[..len]).unwrap();
            assert_eq!(m.metadata.op_code, OpCode::Notify);
            assert!(m.metadata.authoritative);
            assert_eq!(m.queries[0].query_type(), RecordType::SOA);
            assert_eq!(m.queries[0].name().to_string(), "geek.");
            assert!(matches!(&m.answers[0].data, RData::SOA(s) if s.serial == 8));
            if i == 3 {
                let mut r = Message::new(m.metadata.id, MessageType::Response, OpCode::Notify);
                r.add_query(m.queries[0].clone());
                server.send_to(&r.to_vec().unwrap(), from).await.unwrap();
            }
        }
        assert_eq!(task.await.unwrap(), Ok(3));

        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = silent.local_addr().unwrap();
        let r = notify(to, soa(), 4, Duration::from_millis(100)).await;
        assert_eq!(r, Err("no answer after 4 tries".to_string()));
        let mut seen = 0;
        while let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(1), silent.recv_from(&mut buf)).await
        {
            seen += 1;
        }
        assert_eq!(seen, 4);
    }
}
