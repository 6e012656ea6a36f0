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

/// The method and path of the next request on `conn` (its head read up to the blank line;
/// what follows stays in `buf`); `None` once the connection closes.
async fn request_head(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, String)> {
    let head = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            buf.drain(..end + 4);
            break head;
        }
        let mut chunk = [0u8; 4096];
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or("").to_string();
    let path = words.next().unwrap_or("").to_string();
    Some((method, path))
}

/// Answer requests on one connection until it closes.
async fn serve(mut conn: TcpStream, c: Arc<Content>) {
    let mut buf = Vec::new();
    loop {
        let Some((method, path)) = request_head(&mut conn, &mut buf).await else {
            return;
        };
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

/// How a [`Misbehaving`] registry answers one blob request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with these bytes.
    Bytes(Vec<u8>),
    /// 200, then a body that never ends.
    Endless,
    /// 500, then a body that never ends.
    EndlessError,
    /// 200 with its headers (declaring 1000 bytes), then nothing at all.
    Silent,
}

/// What a [`Misbehaving`] registry serves: one image (one config, one layer), and how it
/// answers for each part.
#[derive(Debug, Clone)]
pub struct Script {
    /// `/v2/` asks for a bearer token, and the token service answers 200 without end.
    pub endless_token: bool,
    /// The config's bytes (its digest and size go into the manifest).
    pub config: Vec<u8>,
    /// How the config blob is answered.
    pub config_answer: Answer,
    /// The layer's digest and declared size (in the manifest).
    pub layer: (String, i64),
    /// How the layer blob is answered.
    pub layer_answer: Answer,
}

impl Script {
    /// An image whose layer (declared `layer_size` bytes, unknown digest) is answered as
    /// `layer_answer`, with a valid config (answered as `config_answer`).
    pub fn broken(config_answer: Answer, layer_size: i64, layer_answer: Answer) -> Script {
        let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]},"config":{"Cmd":["sh"]}}"#.to_vec();
        let config_answer = match config_answer {
            Answer::Bytes(_) => Answer::Bytes(config.clone()),
            a => a,
        };
        Script {
            endless_token: false,
            config,
            config_answer,
            layer: (sha(b"a hostile layer"), layer_size),
            layer_answer,
        }
    }

    /// A valid image of one gzip layer: a tar holding `/zeros`, `n` zero bytes (a
    /// few hundred kilobytes compressed per hundred megabytes).
    pub fn zeros(n: u64) -> Script {
        use sha2::Digest;
        use std::io::Write;
        // Streamed: the tar (header, zeros, padding, end blocks) goes through the hash of
        // the diff ID and the compressor a chunk at a time, so only the compressed layer
        // (about a thousandth of `n`) is ever held.
        let mut h = tar::Header::new_gnu();
        h.set_path("zeros").unwrap();
        h.set_size(n);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        let mut diff = sha2::Sha256::new();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let mut put = |bytes: &[u8]| {
            diff.update(bytes);
            gz.write_all(bytes).unwrap();
        };
        put(h.as_bytes());
        let chunk = vec![0u8; 64 * 1024];
        let mut left = n + (512 - n % 512) % 512 + 1024;
        while left > 0 {
            let take = left.min(chunk.len() as u64) as usize;
            put(&chunk[..take]);
            left -= take as u64;
        }
        let diff_id = format!("sha256:{}", hex::encode(diff.finalize()));
        let layer = gz.finish().unwrap();
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}},"config":{{"Cmd":["sh"]}}}}"#
        )
        .into_bytes();
        Script {
            endless_token: false,
            config: config.clone(),
            config_answer: Answer::Bytes(config),
            layer: (sha(&layer), layer.len() as i64),
            layer_answer: Answer::Bytes(layer),
        }
    }
}

/// A registry that follows a [`Script`]; stops when dropped.
pub struct Misbehaving {
    addr: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Misbehaving {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Misbehaving {
    /// Start one on a free loopback port.
    pub async fn start(script: Script) -> Misbehaving {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (config_digest, config_size) = (sha(&script.config), script.config.len());
        let (layer_digest, layer_size) = &script.layer;
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer_digest}","size":{layer_size}}}]}}"#
        )
        .into_bytes();
        let script = Arc::new((script, manifest, config_digest, addr.clone()));
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(follow(conn, script.clone()));
            }
        });
        Misbehaving { addr, task }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }
}

type Shared = Arc<(Script, Vec<u8>, String, String)>;

async fn follow(mut conn: TcpStream, shared: Shared) {
    let (script, manifest, config_digest, addr) = &*shared;
    let mut buf = Vec::new();
    loop {
        let Some((method, path)) = request_head(&mut conn, &mut buf).await else {
            return;
        };
        let answer = if path == "/v2/" || path == "/v2" {
            if script.endless_token {
                let head = format!(
                    "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://{addr}/token\",service=\"hostile\"\r\nContent-Length: 0\r\n\r\n"
                );
                if conn.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                continue;
            }
            Answer::Bytes(b"{}".to_vec())
        } else if path.starts_with("/token") {
            Answer::Endless
        } else if path.contains("/manifests/") {
            let headers = format!(
                "Content-Type: application/vnd.oci.image.manifest.v1+json\r\nDocker-Content-Digest: {}\r\n",
                sha(manifest)
            );
            if !respond(&mut conn, &method, &headers, manifest).await {
                return;
            }
            continue;
        } else if path.ends_with(config_digest.as_str()) {
            script.config_answer.clone()
        } else if path.ends_with(script.layer.0.as_str()) {
            script.layer_answer.clone()
        } else {
            let _ = conn
                .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                .await;
            continue;
        };
        match answer {
            Answer::Bytes(b) => {
                if !respond(&mut conn, &method, "", &b).await {
                    return;
                }
            }
            Answer::Endless => {
                return stream_forever(&mut conn, &method, "application/octet-stream").await
            }
            Answer::EndlessError => return endless_error(&mut conn).await,
            Answer::Silent => {
                let _ = conn
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                    .await;
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                return;
            }
        }
    }
}

/// A chunked 500 answer whose body never ends.
async fn endless_error(conn: &mut TcpStream) {
    let head = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
    if conn.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let chunk = vec![b'!'; 64 * 1024];
    let framed = [
        format!("{:x}\r\n", chunk.len()).into_bytes(),
        chunk,
        b"\r\n".to_vec(),
    ]
    .concat();
    while conn.write_all(&framed).await.is_ok() {}
}
