//! `import_archive`: images from an OCI image-layout tarball or a `docker save` tarball
//! (optionally gzipped), for nodes that cannot reach a registry. Like a pull: every blob is
//! written through the content service under a lease, labelled for the GC, unpacked into
//! snapshots and recorded, so `ctr` and nerdctl see the same images `ctr import` would make.

mod layout;
mod tar_reader;

use std::collections::HashMap;
use std::path::Path;

use crate::containerd::Containerd;
use oci_spec::image::ImageIndex;
use tokio::sync::mpsc;
use warren_proto::containerd::types::Descriptor;

use super::lease::Lease;
use super::platform::Platform;
use super::reference::{image_name, normalize};
use super::{config, local, pull, record, Image};
use crate::containerd::content;
use crate::containerd::content::BlobWriter;
use crate::{ContainerdRuntime, RuntimeError};
use tar_reader::Event;

/// Options of an import.
#[derive(Debug, Clone, Default, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct ImportOptions {
    /// The platform to unpack from multi-platform images (default: this host's).
    pub platform: Option<Platform>,
}

/// What the archive held: files stored as blobs (path → digest, size), table-of-contents
/// files, symbolic links.
#[derive(Default)]
struct Contents {
    blobs: HashMap<String, (String, i64)>,
    meta: HashMap<String, Vec<u8>>,
    links: HashMap<String, String>,
    /// Set when the archive ended without tar's end marker: the last entry read.
    cut_after: Option<String>,
}

impl Contents {
    /// Why a table of contents may be missing, for the error that says so: empty for a
    /// whole archive.
    fn cut_hint(&self) -> String {
        match &self.cut_after {
            Some(after) if after.is_empty() => {
                "; it ends before tar's end marker with no entry at all, so it was probably \
                 cut short: copy or export it again"
                    .into()
            }
            Some(after) => format!(
                "; it ends after {after:?} without tar's end marker, so it was probably cut \
                 short: copy or export it again"
            ),
            None => String::new(),
        }
    }
}

/// `blobs/sha256/<hex>` → `sha256:<hex>`: the digest an OCI layout promises for a file.
fn digest_from_path(name: &str) -> Option<String> {
    let rest = name.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    (alg == "sha256" && hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("{alg}:{hex}"))
}

impl ContainerdRuntime {
    /// Import every named image of the archive at `path` (an OCI image layout or a
    /// `docker save` tarball, plain or gzipped), unpack it for this host's platform, and
    /// return the images. Names come from `io.containerd.image.name`, a full
    /// `org.opencontainers.image.ref.name`, or docker's `RepoTags`, normalised as for a pull.
    ///
    /// ```no_run
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// for image in rt.import_archive("/srv/images/app.tar", &Default::default()).await? {
    ///     println!("imported {}", image.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn import_archive(
        &self,
        path: impl AsRef<Path>,
        options: &ImportOptions,
    ) -> Result<Vec<Image>, RuntimeError> {
        let path = path.as_ref().to_path_buf();
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|source| RuntimeError::Io {
                op: "opening image archive",
                path: path.to_path_buf(),
                source,
            })?;
        if !meta.is_file() {
            return Err(RuntimeError::Archive {
                path: path.to_path_buf(),
                reason: "not a regular file".into(),
            });
        }
        self.free_space()
            .await
            .check(&format!("importing {}", path.display()))?;
        let lease = Lease::create(self, "import").await?;
        let result = self.import_under(&path, options, &lease.clients).await;
        lease.release(result.is_err()).await;
        result
    }

    async fn import_under(
        &self,
        path: &Path,
        options: &ImportOptions,
        clients: &Containerd,
    ) -> Result<Vec<Image>, RuntimeError> {
        let bad = |reason: String| RuntimeError::Archive {
            path: path.to_path_buf(),
            reason,
        };
        let contents = store_all(clients, path).await?;
        let platform = options.platform.clone().unwrap_or_else(Platform::host);
        let targets: Vec<(String, Descriptor)> = if contents.meta.contains_key("oci-layout") {
            let index_bytes = contents.meta.get("index.json").ok_or_else(|| {
                bad(format!(
                    "OCI layout without index.json{}",
                    contents.cut_hint()
                ))
            })?;
            let index: ImageIndex = serde_json::from_slice(index_bytes)
                .map_err(|e| bad(format!("bad index.json: {e}")))?;
            layout::oci_images(&index, &platform).map_err(bad)?
        } else if let Some(manifest) = contents.meta.get("manifest.json") {
            docker_images(clients, &contents, manifest)
                .await
                .map_err(|e| match e {
                    RuntimeError::Archive { reason, .. } => bad(reason),
                    e => e,
                })?
        } else {
            return Err(bad(format!(
                "neither an OCI image layout (oci-layout, index.json) nor a docker save \
                 archive (manifest.json){}",
                contents.cut_hint()
            )));
        };
        if targets.is_empty() {
            return Err(bad("it names no image (no io.containerd.image.name, full \
                 org.opencontainers.image.ref.name or RepoTags)"
                .into()));
        }
        let snapshotter = &self.inner.snapshotter;
        let free = self.free_space().await;
        let mut images = Vec::new();
        for (name, target) in targets {
            let disk = &self.inner.disk;
            let budget = super::unpacked::UnpackBudget::new(
                &name,
                disk.max_layer_unpacked_bytes,
                disk.max_image_unpacked_bytes,
                free.clone(),
            );
            let (config, top, size) = local::unpack_stored(
                clients,
                (snapshotter, self.inner.layer_unpack),
                &name,
                &target,
                &platform,
                &budget,
            )
            .await?;
            record::record(clients, &name, &target).await?;
            images.push(Image {
                name,
                digest: target.digest,
                media_type: target.media_type,
                config: config::run_config(&config, None),
                top_chain_id: top,
                size,
            });
        }
        Ok(images)
    }
}

/// Read the archive once, storing every file that is not a table of contents as a blob.
async fn store_all(clients: &Containerd, path: &Path) -> Result<Contents, RuntimeError> {
    let mut events = tar_reader::spawn(path.to_path_buf());
    let mut contents = Contents::default();
    while let Some(event) = events.recv().await {
        match event? {
            Event::Meta { name, bytes } => {
                contents.meta.insert(name, bytes);
            }
            Event::Link { name, target } => {
                contents.links.insert(name, target);
            }
            Event::Cut { after } => {
                tracing::warn!(archive = %path.display(), after = %after, "image archive ends without tar's end marker");
                contents.cut_after = Some(after);
            }
            Event::Blob { name, size, skip } => {
                let known = digest_from_path(&name);
                if let Some(d) = &known {
                    if content::exists(clients, d).await? {
                        let _ = skip.send(true);
                        contents.blobs.insert(name, (d.clone(), size as i64));
                        continue;
                    }
                }
                let _ = skip.send(false);
                let digest = store_one(clients, &mut events, &name, known.as_deref(), size)
                    .await
                    .map_err(|e| match e {
                        RuntimeError::Daemon {
                            kind: crate::ErrorKind::WrongState,
                            ..
                        } => RuntimeError::DigestMismatch {
                            reference: path.display().to_string(),
                            digest: known.clone().unwrap_or_default(),
                            message: format!("{name}: {}", e.daemon_message()),
                            source: Some(Box::new(e)),
                        },
                        e => e,
                    })?;
                contents.blobs.insert(name, (digest, size as i64));
            }
            Event::Chunk(_) | Event::End { .. } => {
                return Err(RuntimeError::Archive {
                    path: path.to_path_buf(),
                    reason: "archive reader out of step".into(),
                })
            }
        }
    }
    Ok(contents)
}

/// Store the blob whose bytes come next; returns its digest (checked against `known`).
async fn store_one(
    clients: &Containerd,
    events: &mut mpsc::Receiver<Result<Event, RuntimeError>>,
    name: &str,
    known: Option<&str>,
    size: u64,
) -> Result<String, RuntimeError> {
    let reference = format!("tar-{name}");
    let mut writer =
        BlobWriter::open(clients, &reference, known.unwrap_or(""), size as i64).await?;
    if let Some(w) = writer.as_mut() {
        w.restart();
    }
    let truncated = || RuntimeError::Archive {
        path: name.into(),
        reason: "archive ended inside this file".into(),
    };
    loop {
        let step = match events.recv().await {
            Some(Ok(Event::Chunk(bytes))) => match writer.as_mut() {
                Some(w) => w.write(&bytes).await.map(|_| None),
                None => Ok(None),
            },
            Some(Ok(Event::End { digest })) => Ok(Some(digest)),
            Some(Ok(_)) | None => Err(truncated()),
            Some(Err(e)) => Err(e),
        };
        match step {
            Ok(None) => {}
            Ok(Some(digest)) => {
                if let Some(k) = known {
                    if k != digest {
                        if let Some(w) = writer {
                            w.abort().await;
                        }
                        return Err(RuntimeError::DigestMismatch {
                            reference: name.to_string(),
                            digest: k.to_string(),
                            message: format!("its bytes hash to {digest}"),
                            source: None,
                        });
                    }
                }
                if let Some(w) = writer {
                    w.commit(&digest, HashMap::new()).await?;
                }
                return Ok(digest);
            }
            Err(e) => {
                if let Some(w) = writer {
                    w.abort().await;
                }
                return Err(e);
            }
        }
    }
}

/// The images of a `docker save` archive: a Docker schema-2 manifest written for each.
async fn docker_images(
    clients: &Containerd,
    contents: &Contents,
    manifest_json: &[u8],
) -> Result<Vec<(String, Descriptor)>, RuntimeError> {
    let archive = |reason: String| RuntimeError::Archive {
        path: std::path::PathBuf::new(),
        reason,
    };
    let entries: Vec<layout::DockerEntry> = serde_json::from_slice(manifest_json)
        .map_err(|e| archive(format!("bad manifest.json: {e}")))?;
    let blob = |file: &str| {
        contents
            .blobs
            .get(layout::resolve(&contents.links, file))
            .cloned()
            .ok_or_else(|| archive(format!("manifest.json names {file}, which is not in it")))
    };
    let mut out = Vec::new();
    for entry in entries {
        let (digest, size) = blob(&entry.config)?;
        let config = Descriptor {
            media_type: layout::DOCKER_CONFIG.into(),
            digest,
            size,
            annotations: HashMap::new(),
        };
        let mut layers = Vec::new();
        for file in &entry.layers {
            let (digest, size) = blob(file)?;
            let head = config::read_prefix(clients, &digest, 4).await?;
            layers.push(Descriptor {
                media_type: layout::layer_media_type(&head).into(),
                digest,
                size,
                annotations: HashMap::new(),
            });
        }
        let bytes = layout::docker_manifest(&config, &layers);
        let desc = Descriptor {
            media_type: layout::DOCKER_MANIFEST.into(),
            digest: format!(
                "sha256:{}",
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
            ),
            size: bytes.len() as i64,
            annotations: HashMap::new(),
        };
        let manifest: oci_spec::image::ImageManifest = serde_json::from_slice(&bytes)
            .map_err(|e| archive(format!("manifest we built does not parse: {e}")))?;
        pull::store_bytes(
            clients,
            "manifest",
            &desc,
            &bytes,
            pull::manifest_labels(&manifest),
        )
        .await?;
        for tag in entry.repo_tags.unwrap_or_default() {
            let name = image_name(&normalize(&tag)?);
            out.push((name, desc.clone()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::digest_from_path;

    #[test]
    fn layout_paths_name_digests() {
        let hex = "a".repeat(64);
        assert_eq!(
            digest_from_path(&format!("blobs/sha256/{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(digest_from_path("abc/layer.tar"), None);
        assert_eq!(digest_from_path("blobs/sha256/short"), None);
    }
}
