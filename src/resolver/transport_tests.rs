use super::*;

// Running out of descriptors or buffers is our problem, not the server's: it
// must not count against the server (the old engine marked it down).
#[test]
fn local_exhaustion_is_not_the_servers_fault() {
    for code in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
        let e = std::io::Error::from_raw_os_error(code);
        assert!(matches!(io_error(e), ServerError::Local(_)), "{code}");
    }
    let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    assert!(matches!(io_error(refused), ServerError::Unreachable(_)));
}

#[test]
fn only_our_id_with_qr_set_is_ours() {
    assert!(looks_ours(&[0x12, 0x34, 0x80], 0x1234));
    assert!(
        !looks_ours(&[0x12, 0x34, 0x00], 0x1234),
        "a query, not a reply"
    );
    assert!(!looks_ours(&[0x12, 0x35, 0x80], 0x1234));
    assert!(!looks_ours(&[0x12], 0x1234));
}

// RFC 5452 §9.2, SAD DNS: a source port carries at most REUSE_QUERIES (8)
// queries to the same server (the engine used to keep a socket for 64 queries,
// with no time limit), and none past REUSE_FOR (1 s).
#[tokio::test]
async fn a_port_carries_at_most_8_queries_within_a_second() {
    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let t = Transport::default();
    let q = Query::query(
        hickory_proto::rr::Name::root(),
        hickory_proto::rr::RecordType::NS,
    );
    const N: usize = 24;
    let answer = async {
        let mut ports = Vec::new();
        let mut buf = [0u8; 512];
        for _ in 0..N {
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            let mut m = Message::from_vec(&buf[..n]).unwrap();
            m.metadata.message_type = MessageType::Response;
            server.send_to(&m.to_vec().unwrap(), from).await.unwrap();
            ports.push(from.port());
        }
        ports
    };
    let ask = async {
        for _ in 0..N {
            let deadline = Instant::now() + Duration::from_secs(5);
            t.query(addr, &q, false, deadline).await.unwrap();
        }
    };
    let (ports, ()) = tokio::join!(answer, ask);
    // Runs of one port: none longer than 8 (a new socket drawing the port the
    // closed one had is a 1-in-28,000 chance per switch).
    let mut runs = vec![1usize];
    for w in ports.windows(2) {
        if w[0] == w[1] {
            *runs.last_mut().unwrap() += 1;
        } else {
            runs.push(1);
        }
    }
    assert!(
        runs.iter().all(|&r| r <= usize::from(REUSE_QUERIES)),
        "a port carried more than {REUSE_QUERIES} queries: {ports:?}"
    );
    assert!(runs.len() >= N / usize::from(REUSE_QUERIES), "{ports:?}");
}

// A socket past REUSE_FOR, or that carried REUSE_QUERIES, is closed, not kept.
#[tokio::test]
async fn an_old_or_worn_socket_is_not_kept() {
    let server: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let t = Transport::default();
    let idle = |uses, opened| async move {
        Idle {
            server,
            sock: open_udp(server).await.unwrap(),
            uses,
            opened,
        }
    };
    let old = Instant::now()
        .checked_sub(REUSE_FOR)
        .expect("the clock is past one second");
    t.give_back(idle(0, old).await);
    assert!(t.take(server).is_none(), "kept past REUSE_FOR");
    t.give_back(idle(REUSE_QUERIES - 1, Instant::now()).await);
    assert!(t.take(server).is_none(), "kept after REUSE_QUERIES");
    t.give_back(idle(0, Instant::now()).await);
    let other: SocketAddr = "127.0.0.2:9".parse().unwrap();
    assert!(t.take(other).is_none(), "another server's socket");
    assert!(t.take(server).is_some(), "a young socket is kept");
}
