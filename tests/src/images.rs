//! Test images built in Rust from the static busybox (no docker, no skopeo): pushed to a
//! test registry with oci-client, or written as OCI image layouts and `docker save` tarballs.

use std::io::Write;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

use crate::deps;

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// One layer: a tar archive, gzipped.
#[derive(Clone)]
pub struct Layer {
    pub gz: Vec<u8>,
    pub diff_id: String,
    /// The uncompressed tar (its digest is `diff_id`).
    pub tar: Vec<u8>,
}

/// What goes into a layer: files, symlinks, directories, whiteouts.
pub enum Entry<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8], u32),
    Link(&'a str, &'a str),
    /// A named pipe.
    Fifo(&'a str),
    /// A character device node (major, minor).
    Char(&'a str, u32, u32),
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
            Entry::Fifo(p) => {
                h.set_entry_type(tar::EntryType::Fifo);
                h.set_mode(0o644);
                h.set_size(0);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            Entry::Char(p, major, minor) => {
                h.set_entry_type(tar::EntryType::Char);
                h.set_mode(0o644);
                h.set_size(0);
                h.set_device_major(*major).unwrap();
                h.set_device_minor(*minor).unwrap();
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
        }
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    Layer {
        gz: gz.finish().unwrap(),
        diff_id: sha(&tar),
        tar,
    }
}

/// The busybox base layer: /bin/busybox with applet links, /etc/passwd and /etc/group, and
/// `/etc/warren-layer-id` holding a random id, so that every call makes a layer no other
/// test has: containerd shares blobs between namespaces, and a blob some other test already
/// stored would never be fetched from the registry.
pub fn busybox_layer() -> Layer {
    let busybox = std::fs::read(deps::require(deps::tools_bin_dir().join("busybox"))).unwrap();
    let id = format!("{:016x}\n", rand::random::<u64>());
    let mut entries = vec![
        Entry::Dir("bin"),
        Entry::Dir("etc"),
        Entry::File("etc/warren-layer-id", id.as_bytes(), 0o644),
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
    let built = build(layers, cmd, architecture, Flavor::Oci, Compression::Gzip);
    push_built(client, reference, &built).await
}

/// Push a Docker-format image whose config carries Docker's `Healthcheck` object
/// (`{"Test": [...], "Interval": ns, ...}`, as `docker build` writes a `HEALTHCHECK`).
pub async fn push_with_healthcheck(
    reference: &str,
    layers: &[Layer],
    cmd: &[&str],
    healthcheck: serde_json::Value,
) -> String {
    let mut built = build(layers, cmd, "amd64", Flavor::Docker, Compression::Gzip);
    let mut config: serde_json::Value = serde_json::from_slice(&built.config).unwrap();
    config["config"]["Healthcheck"] = healthcheck;
    built.config = serde_json::to_vec(&config).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_slice(&built.manifest).unwrap();
    manifest["config"]["digest"] = sha(&built.config).into();
    manifest["config"]["size"] = built.config.len().into();
    built.manifest = serde_json::to_vec(&manifest).unwrap();
    push_plain(reference, &built).await.0
}

/// Which media types an image uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// OCI manifest, config and layer types.
    Oci,
    /// Docker schema-2 manifest, config and layer types.
    Docker,
}

/// An image's blobs, ready to push or to write as a layout.
pub struct Built {
    pub manifest: Vec<u8>,
    pub manifest_type: &'static str,
    pub config: Vec<u8>,
    pub config_type: &'static str,
    /// (blob, media type, diff id) per layer, bottom first.
    pub layers: Vec<(Vec<u8>, &'static str, String)>,
    pub architecture: String,
}

impl Built {
    pub fn digest(&self) -> String {
        sha(&self.manifest)
    }
}

/// How an image's layer blobs are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip (what registries mostly hold).
    Gzip,
    /// zstd (OCI images only: Docker's schema 2 has no zstd layer type).
    Zstd,
}

/// A zstd frame of `data` (pure-Rust encoder, fastest level).
pub fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

/// Build an image of `layers`, stored as `compression` says, running `cmd`.
pub fn build(
    layers: &[Layer],
    cmd: &[&str],
    architecture: &str,
    flavor: Flavor,
    compression: Compression,
) -> Built {
    let (manifest_type, config_type, gz_type, tar_type) = match flavor {
        Flavor::Oci => (
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.v1.tar",
        ),
        Flavor::Docker => (
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.docker.image.rootfs.diff.tar",
        ),
    };
    assert!(
        compression != Compression::Zstd || flavor == Flavor::Oci,
        "zstd layers exist in OCI images only"
    );
    let config = serde_json::json!({
        "architecture": architecture,
        "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin"], "WorkingDir": "/", "StopSignal": "SIGQUIT"},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()},
    });
    let config = serde_json::to_vec(&config).unwrap();
    let blobs: Vec<(Vec<u8>, &'static str, String)> = layers
        .iter()
        .map(|l| match compression {
            Compression::Gzip => (l.gz.clone(), gz_type, l.diff_id.clone()),
            Compression::None => (l.tar.clone(), tar_type, l.diff_id.clone()),
            Compression::Zstd => (
                zstd(&l.tar),
                "application/vnd.oci.image.layer.v1.tar+zstd",
                l.diff_id.clone(),
            ),
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "digest": sha(&config), "size": config.len()},
        "layers": blobs.iter().map(|(b, t, _)| serde_json::json!({
            "mediaType": t, "digest": sha(b), "size": b.len(),
        })).collect::<Vec<_>>(),
    });
    Built {
        manifest: serde_json::to_vec(&manifest).unwrap(),
        manifest_type,
        config,
        config_type,
        layers: blobs,
        architecture: architecture.to_string(),
    }
}

/// Push a built image as `reference`; returns the manifest's digest and size.
pub async fn push_built(client: &Client, reference: &str, built: &Built) -> (String, usize) {
    let r: Reference = reference.parse().unwrap();
    client
        .push_blob(&r, built.config.clone(), &sha(&built.config))
        .await
        .expect("push config");
    for (blob, _, _) in &built.layers {
        client
            .push_blob(&r, blob.clone(), &sha(blob))
            .await
            .expect("push layer");
    }
    client
        .push_manifest_raw(
            &r,
            built.manifest.clone(),
            built.manifest_type.parse().unwrap(),
        )
        .await
        .expect("push manifest");
    (built.digest(), built.manifest.len())
}

/// Push a built image to a plain-HTTP registry without credentials.
pub async fn push_plain(reference: &str, built: &Built) -> (String, usize) {
    push_built(&client(), reference, built).await
}

/// Write `images` (full name → image) as an OCI image layout in `dir`, each entry of
/// `index.json` annotated with its name as containerd and `ctr export` do.
pub fn write_layout(dir: &std::path::Path, images: &[(&str, &Built)]) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |data: &[u8]| {
        let d = sha(data);
        std::fs::write(blobs.join(d.trim_start_matches("sha256:")), data).unwrap();
    };
    let mut manifests = Vec::new();
    for (name, built) in images {
        put(&built.config);
        for (b, _, _) in &built.layers {
            put(b);
        }
        put(&built.manifest);
        let tag = name.rsplit_once(':').map(|(_, t)| t).unwrap_or("latest");
        manifests.push(serde_json::json!({
            "mediaType": built.manifest_type,
            "digest": built.digest(),
            "size": built.manifest.len(),
            "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag},
            "platform": {"os": "linux", "architecture": built.architecture},
        }));
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// Tar the directory `dir` into `out` (entries named `./...` as `tar -C dir .` does).
pub fn tar_dir(dir: &std::path::Path, out: &std::path::Path) {
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    b.append_dir_all(".", dir).unwrap();
    b.finish().unwrap();
}

/// Write a legacy `docker save` tarball of one image tagged `tags`: `manifest.json`,
/// `<id>.json` config, `<id>/layer.tar` layers (plus docker's `json`/`VERSION` leftovers
/// and, for a repeated layer, a symlink as docker writes).
pub fn write_docker_save(out: &std::path::Path, tags: &[&str], built: &Built) {
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, data).unwrap();
    };
    let config_hex = sha(&built.config).trim_start_matches("sha256:").to_string();
    add(&format!("{config_hex}.json"), &built.config);
    let mut layer_paths = Vec::new();
    let mut links = Vec::new();
    for (blob, _, _) in &built.layers {
        let id = sha(blob).trim_start_matches("sha256:").to_string();
        let path = format!("{id}/layer.tar");
        if layer_paths.contains(&path) {
            let alias = format!("{id}-again/layer.tar");
            links.push((alias.clone(), format!("../{id}/layer.tar")));
            layer_paths.push(alias);
            continue;
        }
        add(&format!("{id}/VERSION"), b"1.0");
        add(&format!("{id}/json"), b"{}");
        add(&path, blob);
        layer_paths.push(path);
    }
    let manifest = serde_json::json!([{
        "Config": format!("{config_hex}.json"),
        "RepoTags": tags,
        "Layers": layer_paths,
    }]);
    add("manifest.json", &serde_json::to_vec(&manifest).unwrap());
    for (alias, target) in links {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, &alias, &target).unwrap();
    }
    b.finish().unwrap();
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

/// The images `warren-build-images` writes: (short name, full name, image). `busybox`: one
/// gzip layer; `layered`: three layers whose upper ones delete (whiteout) and replace files of
/// lower ones and make a directory opaque; `docker`: Docker schema-2 types, an uncompressed
/// and a gzip layer; `arm64`: the dummy arm64 image of the multi-platform index the registry
/// tests push.
pub fn standard_set() -> Vec<(String, String, Built)> {
    let [l2, l3] = whiteout_layers();
    let extra = layer(&[
        Entry::Dir("etc"),
        Entry::File("etc/motd", b"docker\n", 0o644),
    ]);
    let dummy = layer(&[Entry::File("arm", b"arm", 0o644)]);
    let base = busybox_layer();
    vec![
        (
            "busybox".into(),
            "warren.test/busybox:v1".into(),
            build(
                std::slice::from_ref(&base),
                &["sh"],
                "amd64",
                Flavor::Oci,
                Compression::Gzip,
            ),
        ),
        (
            "layered".into(),
            "warren.test/layered:v1".into(),
            build(
                &[base.clone(), l2, l3],
                &["sh"],
                "amd64",
                Flavor::Oci,
                Compression::Gzip,
            ),
        ),
        (
            "docker".into(),
            "warren.test/docker:v1".into(),
            build(
                &[base, extra],
                &["sh"],
                "amd64",
                Flavor::Docker,
                Compression::None,
            ),
        ),
        (
            "arm64".into(),
            "warren.test/arm64:v1".into(),
            build(&[dummy], &["sh"], "arm64", Flavor::Oci, Compression::Gzip),
        ),
    ]
}
