//! Test images built in Rust from the static busybox (no docker, no skopeo), pushed to a
//! test registry with oci-client.

use std::io::Write;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

use crate::deps;

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// One layer: a tar archive, gzipped.
pub struct Layer {
    pub gz: Vec<u8>,
    pub diff_id: String,
}

/// What goes into a layer: files, symlinks, directories, whiteouts.
pub enum Entry<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8], u32),
    Link(&'a str, &'a str),
}

pub fn layer(entries: &[Entry<'_>]) -> Layer {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        match e {
            Entry::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            Entry::File(p, data, mode) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, *data).unwrap();
            }
            Entry::Link(p, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, p, target).unwrap();
            }
        }
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    Layer {
        gz: gz.finish().unwrap(),
        diff_id: sha(&tar),
    }
}

/// The busybox base layer: /bin/busybox with applet links, /etc/passwd and /etc/group.
pub fn busybox_layer() -> Layer {
    let busybox = std::fs::read(deps::require(deps::tools_bin_dir().join("busybox"))).unwrap();
    let mut entries = vec![
        Entry::Dir("bin"),
        Entry::Dir("etc"),
        Entry::Dir("tmp"),
        Entry::File("bin/busybox", &busybox, 0o755),
        Entry::File("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644),
        Entry::File("etc/group", b"root:x:0:\n", 0o644),
    ];
    for a in ["sh", "true", "echo", "cat", "ls", "sleep"] {
        entries.push(Entry::Link(
            Box::leak(format!("bin/{a}").into_boxed_str()),
            "busybox",
        ));
    }
    layer(&entries)
}

fn client() -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..Default::default()
    })
}

/// Push an image of `layers` as `reference` (`host:port/repo:tag`); returns the manifest digest.
pub async fn push(reference: &str, layers: &[Layer], cmd: &[&str]) -> String {
    push_for(reference, layers, cmd, "amd64").await.0
}

/// The same, to a registry that wants basic auth.
pub async fn push_as(reference: &str, layers: &[Layer], user: &str, password: &str) -> String {
    let r: Reference = reference.parse().unwrap();
    let auth = oci_client::secrets::RegistryAuth::Basic(user.into(), password.into());
    let c = client();
    c.auth(&r, &auth, oci_client::RegistryOperation::Push)
        .await
        .expect("registry login");
    push_with(&c, reference, layers, &["sh"], "amd64").await.0
}

/// Push an index of already pushed manifests `(digest, size, architecture)` as `reference`.
pub async fn push_index(reference: &str, manifests: &[(String, usize, &str)]) -> String {
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests.iter().map(|(d, size, arch)| serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": d,
            "size": size,
            "platform": {"os": "linux", "architecture": arch},
        })).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec(&index).unwrap();
    let digest = sha(&bytes);
    client()
        .push_manifest_raw(
            &reference.parse().unwrap(),
            bytes,
            "application/vnd.oci.image.index.v1+json".parse().unwrap(),
        )
        .await
        .expect("push index");
    digest
}

/// Push an image for `architecture`; returns the manifest's digest and size.
pub async fn push_for(
    reference: &str,
    layers: &[Layer],
    cmd: &[&str],
    architecture: &str,
) -> (String, usize) {
    push_with(&client(), reference, layers, cmd, architecture).await
}

async fn push_with(
    client: &Client,
    reference: &str,
    layers: &[Layer],
    cmd: &[&str],
    architecture: &str,
) -> (String, usize) {
    let r: Reference = reference.parse().unwrap();
    let config = serde_json::json!({
        "architecture": architecture,
        "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()},
    });
    let config = serde_json::to_vec(&config).unwrap();
    let config_digest = sha(&config);
    client
        .push_blob(&r, config.clone(), &config_digest)
        .await
        .expect("push config");
    let mut descs = Vec::new();
    for l in layers {
        let d = sha(&l.gz);
        client
            .push_blob(&r, l.gz.clone(), &d)
            .await
            .expect("push layer");
        descs.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": d,
            "size": l.gz.len(),
        }));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": descs,
    });
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let digest = sha(&manifest);
    let size = manifest.len();
    client
        .push_manifest_raw(
            &r,
            manifest,
            "application/vnd.oci.image.manifest.v1+json"
                .parse()
                .unwrap(),
        )
        .await
        .expect("push manifest");
    (digest, size)
}

/// A second and third layer over [`busybox_layer`]: the third deletes a file of the second
/// (whiteout), replaces another, and makes a directory opaque.
pub fn whiteout_layers() -> [Layer; 2] {
    [
        layer(&[
            Entry::Dir("data"),
            Entry::File("data/a.txt", b"a1", 0o644),
            Entry::File("data/b.txt", b"b1", 0o644),
            Entry::Dir("opq"),
            Entry::File("opq/x", b"x", 0o644),
        ]),
        layer(&[
            Entry::Dir("data"),
            Entry::File("data/.wh.a.txt", b"", 0o644),
            Entry::File("data/b.txt", b"b2", 0o644),
            Entry::Dir("opq"),
            Entry::File("opq/.wh..wh..opq", b"", 0o644),
            Entry::File("opq/y", b"y", 0o644),
        ]),
    ]
}
