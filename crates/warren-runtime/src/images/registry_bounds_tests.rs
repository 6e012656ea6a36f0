//! Registry answers are bounded and timed: unit tests against a tiny loopback HTTP server
//! that misbehaves in one way each (an endless token answer, an endless error body, a
//! silence after the headers, a trickle).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use warren_proto::containerd::types::Descriptor;

use super::download::fetch_config;
use super::http::Clock;
use super::reference::normalize;
use super::session::Session;
use crate::{ContainerdRuntime, ErrorKind, RegistryOptions, RuntimeError, RuntimeOptions};

#[derive(Clone, Copy)]
enum Misbehaviour {
    /// `/v2/` asks for a bearer token; the token service answers 200 without end.
    EndlessToken,
    /// Blobs answer 500 with a body without end.
    EndlessError,
    /// Blobs answer 200 with their headers, then nothing.
    SilentAfterHeaders,
    /// Blobs answer 200 and send 8 bytes, one every 150 ms.
    Trickle,
}

/// Serve `m` on a loopback port; returns `127.0.0.1:port`.
async fn serve(m: Misbehaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let realm = format!("http://{addr}/token");
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(answer(conn, m, realm.clone()));
        }
    });
    addr
}

async fn answer(mut conn: TcpStream, m: Misbehaviour, realm: String) {
    let mut buf = Vec::new();
    loop {
        let head = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                buf.drain(..end + 4);
                break head;
            }
            let mut chunk = [0u8; 4096];
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
        let reply = match (m, path.as_str()) {
            (Misbehaviour::EndlessToken, "/v2/") => format!(
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"{realm}\",service=\"t\"\r\nContent-Length: 0\r\n\r\n"
            ),
            (_, "/v2/") => "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into(),
            (Misbehaviour::EndlessToken, _) => return endless(conn, "200 OK").await,
            (Misbehaviour::EndlessError, _) => return endless(conn, "500 Oops").await,
            (Misbehaviour::SilentAfterHeaders, _) => {
                let _ = conn
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                    .await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            (Misbehaviour::Trickle, _) => {
                let _ = conn
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n")
                    .await;
                for _ in 0..8 {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    let _ = conn.write_all(b"x").await;
                }
                continue;
            }
        };
        if conn.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A chunked answer with `status` whose body never ends.
async fn endless(mut conn: TcpStream, status: &str) {
    let head = format!("HTTP/1.1 {status}\r\nTransfer-Encoding: chunked\r\n\r\n");
    if conn.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let chunk = [
        format!("{:x}\r\n", 64 * 1024).into_bytes(),
        vec![b'e'; 64 * 1024],
        b"\r\n".to_vec(),
    ]
    .concat();
    while conn.write_all(&chunk).await.is_ok() {}
}

/// A session with `addr`'s repository `a/b`, an idle timeout of `idle` and an optional
/// deadline.
async fn session(
    addr: &str,
    idle: Duration,
    deadline: Option<Duration>,
) -> Result<Session, RuntimeError> {
    let options = RuntimeOptions::default()
        .socket("/nonexistent/containerd.sock")
        .registry(RegistryOptions::default().read_timeout(idle));
    let rt = ContainerdRuntime::with_options(options).unwrap();
    let r = normalize(&format!("{addr}/a/b:c")).unwrap();
    let clock = Clock {
        idle,
        connect: Duration::from_secs(5),
        deadline: deadline.map(|d| (tokio::time::Instant::now() + d, d)),
    };
    Session::open(&rt, &r, clock).await
}

fn config_of(size: i64) -> Descriptor {
    Descriptor {
        media_type: "application/vnd.oci.image.config.v1+json".into(),
        digest: format!("sha256:{}", "c".repeat(64)),
        size,
        ..Default::default()
    }
}

#[tokio::test]
async fn an_endless_token_answer_is_refused_at_its_cap() {
    let addr = serve(Misbehaviour::EndlessToken).await;
    let err = session(&addr, Duration::from_secs(5), None)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, RuntimeError::TooLarge { limit: 65536, .. }),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
}

#[tokio::test]
async fn an_endless_error_body_is_read_only_to_its_cap() {
    let addr = serve(Misbehaviour::EndlessError).await;
    let s = session(&addr, Duration::from_secs(5), None).await.unwrap();
    let r = normalize(&format!("{addr}/a/b:c")).unwrap();
    let err = tokio::time::timeout(
        Duration::from_secs(20),
        fetch_config(&s, &r, &config_of(100)),
    )
    .await
    .expect("a capped read ends")
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RuntimeError::Registry { .. }), "{err}");
    assert!(text.contains("500") && text.len() < 2048, "{text}");
    // The same for a layer's range request.
    let err = s
        .get("fetching layer", "blobs/sha256:x", None, Some(0))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("500"), "{err}");
}

#[tokio::test]
async fn a_registry_silent_after_its_headers_fails_at_the_idle_timeout() {
    let addr = serve(Misbehaviour::SilentAfterHeaders).await;
    let s = session(&addr, Duration::from_millis(300), None)
        .await
        .unwrap();
    let r = normalize(&format!("{addr}/a/b:c")).unwrap();
    let started = std::time::Instant::now();
    let err = fetch_config(&s, &r, &config_of(1000)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("registry.read_timeout_s"), "{err}");
}

#[tokio::test]
async fn a_slow_steady_body_is_not_an_idle_timeout_but_the_deadline_holds() {
    let addr = serve(Misbehaviour::Trickle).await;
    // 8 bytes over 1.2 s, never 500 ms apart: the idle timeout is not total.
    let s = session(&addr, Duration::from_millis(500), None)
        .await
        .unwrap();
    let mut response = s
        .get("fetching layer", "blobs/sha256:x", None, None)
        .await
        .unwrap();
    let mut got = 0;
    while let Some(b) = response.next(&s.clock).await.unwrap() {
        got += b.len();
    }
    assert_eq!(got, 8);
    // With a deadline of 600 ms, the same body fails at the deadline.
    let s = session(
        &addr,
        Duration::from_millis(500),
        Some(Duration::from_millis(600)),
    )
    .await
    .unwrap();
    let mut response = s
        .get("fetching layer", "blobs/sha256:x", None, None)
        .await
        .unwrap();
    let err = loop {
        match response.next(&s.clock).await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the body ended before the deadline"),
            Err(f) => break f.into_error("fetching layer", &s.registry),
        }
    };
    assert!(err.to_string().contains("PullOptions::deadline"), "{err}");
}

#[tokio::test]
async fn descriptors_without_a_size_are_refused_before_any_request() {
    // Every blob request there answers 500: an Integrity error means none was made.
    let addr = serve(Misbehaviour::EndlessError).await;
    let s = session(&addr, Duration::from_secs(5), None).await.unwrap();
    let r = normalize(&format!("{addr}/a/b:c")).unwrap();
    for size in [0, -1] {
        let err = fetch_config(&s, &r, &config_of(size)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Integrity, "{err}");
        assert!(err.to_string().contains(&"c".repeat(64)), "{err}");
    }
}
