//! A registry that never ends a response: a small HTTP/1.1 server on 127.0.0.1 that speaks
//! just enough of the distribution API for a pull to reach the part under test, then streams
//! bytes for as long as the client reads.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the registry streams without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endless {
    /// Every manifest.
    Manifest,
    /// The config blob (the manifest is fine).
    Config,
    /// The layer blob (manifest and config are fine; the layer declares 1000 bytes).
    Layer,
}

/// A running hostile registry; stops when dropped.
pub struct HostileRegistry {
    addr: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HostileRegistry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

struct Content {
    endless: Endless,
    manifest: Vec<u8>,
    config: Vec<u8>,
    config_digest: String,
    layer_digest: String,
}

impl HostileRegistry {
    /// Start one on a free loopback port.
    pub async fn start(endless: Endless) -> HostileRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]},"config":{"Cmd":["sh"]}}"#.to_vec();
        let config_digest = sha(&config);
        let layer_digest = sha(b"a layer that never ends");
        let config_size = if endless == Endless::Config {
            1000
        } else {
            config.len()
        };
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer_digest}","size":1000}}]}}"#
        )
        .into_bytes();
        let content = Arc::new(Content {
            endless,
            manifest,
            config,
            config_digest,
            layer_digest,
        });
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, content.clone()));
            }
        });
        HostileRegistry { addr, task }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }
}

/// Answer requests on one connection until it closes.
async fn serve(mut conn: TcpStream, c: Arc<Content>) {
    let mut buf = Vec::new();
    loop {
        // Read one request head.
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
        let mut words = head.split_whitespace();
        let method = words.next().unwrap_or("").to_string();
        let path = words.next().unwrap_or("").to_string();
        let endless = if path.contains("/manifests/") {
            if c.endless == Endless::Manifest {
                Some("application/vnd.oci.image.manifest.v1+json")
            } else {
                let digest = sha(&c.manifest);
                let headers = format!(
                    "Content-Type: application/vnd.oci.image.manifest.v1+json\r\nDocker-Content-Digest: {digest}\r\n"
                );
                if !respond(&mut conn, &method, &headers, &c.manifest).await {
                    return;
                }
                None
            }
        } else if path.ends_with(&c.config_digest) {
            if c.endless == Endless::Config {
                Some("application/octet-stream")
            } else {
                if !respond(&mut conn, &method, "", &c.config).await {
                    return;
                }
                None
            }
        } else if path.ends_with(&c.layer_digest) {
            Some("application/octet-stream")
        } else if path == "/v2/" || path == "/v2" {
            if !respond(
                &mut conn,
                &method,
                "Content-Type: application/json\r\n",
                b"{}",
            )
            .await
            {
                return;
            }
            None
        } else {
            let _ = conn
                .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                .await;
            None
        };
        if let Some(kind) = endless {
            stream_forever(&mut conn, &method, kind).await;
            return;
        }
    }
}

async fn respond(conn: &mut TcpStream, method: &str, headers: &str, body: &[u8]) -> bool {
    let head = format!(
        "HTTP/1.1 200 OK\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    if conn.write_all(head.as_bytes()).await.is_err() {
        return false;
    }
    method == "HEAD" || conn.write_all(body).await.is_ok()
}

/// A chunked 200 response whose body never ends (until the client goes away).
async fn stream_forever(conn: &mut TcpStream, method: &str, content_type: &str) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    if conn.write_all(head.as_bytes()).await.is_err() || method == "HEAD" {
        return;
    }
    let chunk = vec![b' '; 64 * 1024];
    let framed = [
        format!("{:x}\r\n", chunk.len()).into_bytes(),
        chunk,
        b"\r\n".to_vec(),
    ]
    .concat();
    while conn.write_all(&framed).await.is_ok() {}
}
