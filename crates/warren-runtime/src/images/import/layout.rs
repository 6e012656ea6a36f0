//! What an archive holds: the images named in an OCI layout's `index.json`, or in the
//! `manifest.json` of a `docker save` tarball (for which, as containerd's importer does, we
//! write a Docker schema-2 manifest).

use std::collections::HashMap;

use oci_spec::image::ImageIndex;
use serde::Deserialize;
use warren_proto::containerd::types::Descriptor;

use crate::images::platform::Platform;
use crate::images::reference::{image_name, normalize};

/// containerd's annotation for the full image name of an index entry.
pub(super) const IMAGE_NAME: &str = "io.containerd.image.name";
/// OCI's annotation for an index entry's reference (often only a tag).
pub(super) const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The images of an OCI layout's `index.json`: (name, target). Entries with no usable name
/// are skipped; several entries of one name (one per platform) resolve to `platform`'s.
pub(super) fn oci_images(
    index: &ImageIndex,
    platform: &Platform,
) -> Result<Vec<(String, Descriptor)>, String> {
    let mut by_name: Vec<(String, Vec<&oci_spec::image::Descriptor>)> = Vec::new();
    for m in index.manifests() {
        let annotations = m.annotations().clone().unwrap_or_default();
        let name = annotations
            .get(IMAGE_NAME)
            .or_else(|| {
                annotations
                    .get(REF_NAME)
                    .filter(|r| r.contains(['/', ':', '@']))
            })
            .map(|n| normalize(n).map(|r| image_name(&r)));
        let Some(name) = name else {
            tracing::warn!(digest = %m.digest(), "index.json entry without an image name; skipped");
            continue;
        };
        let name = name.map_err(|e| e.to_string())?;
        match by_name.iter_mut().find(|(n, _)| *n == name) {
            Some((_, list)) => list.push(m),
            None => by_name.push((name, vec![m])),
        }
    }
    let mut out = Vec::new();
    for (name, entries) in by_name {
        let chosen = if entries.len() == 1 {
            entries[0]
        } else {
            let owned: Vec<_> = entries.iter().map(|d| (*d).clone()).collect();
            match platform.choose(&owned) {
                Some(c) => entries
                    .iter()
                    .copied()
                    .find(|d| d.digest() == c.digest())
                    .unwrap_or(entries[0]),
                None => entries[0],
            }
        };
        let mut desc = crate::images::pull::descriptor(chosen);
        desc.annotations = chosen.annotations().clone().unwrap_or_default();
        out.push((name, desc));
    }
    Ok(out)
}

/// One entry of a `docker save` `manifest.json`.
#[derive(Debug, Deserialize)]
pub(super) struct DockerEntry {
    #[serde(rename = "Config")]
    pub config: String,
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
}

/// Docker schema-2 media types.
pub(super) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(super) const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub(super) const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub(super) const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub(super) const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";

/// The media type of a layer whose bytes start with `head`.
pub(super) fn layer_media_type(head: &[u8]) -> &'static str {
    match head {
        [0x1f, 0x8b, ..] => DOCKER_LAYER_GZIP,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => DOCKER_LAYER_ZSTD,
        _ => DOCKER_LAYER,
    }
}

/// A Docker schema-2 manifest, serialised with the field order (and so the digest) of
/// containerd's own importer.
pub(super) fn docker_manifest(config: &Descriptor, layers: &[Descriptor]) -> Vec<u8> {
    let desc = |d: &Descriptor| {
        format!(
            r#"{{"mediaType":"{}","digest":"{}","size":{}}}"#,
            d.media_type, d.digest, d.size
        )
    };
    let layers: Vec<String> = layers.iter().map(desc).collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{},"layers":[{}]}}"#,
        desc(config),
        layers.join(",")
    )
    .into_bytes()
}

/// Resolve symbolic links among archive paths (one level is all docker writes; allow a few).
pub(super) fn resolve<'a>(links: &'a HashMap<String, String>, mut name: &'a str) -> &'a str {
    for _ in 0..8 {
        match links.get(name) {
            Some(t) => name = t,
            None => break,
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_by_magic() {
        assert_eq!(layer_media_type(&[0x1f, 0x8b, 8, 0]), DOCKER_LAYER_GZIP);
        assert_eq!(layer_media_type(b"bin/"), DOCKER_LAYER);
    }

    #[test]
    fn docker_manifest_is_go_shaped() {
        let d = |m: &str, s| Descriptor {
            media_type: m.into(),
            digest: format!("sha256:{}", "a".repeat(64)),
            size: s,
            annotations: Default::default(),
        };
        let m = docker_manifest(&d(DOCKER_CONFIG, 2), &[d(DOCKER_LAYER, 3)]);
        let v: serde_json::Value = serde_json::from_slice(&m).unwrap();
        assert_eq!(v["layers"][0]["size"], 3);
        assert!(String::from_utf8(m)
            .unwrap()
            .starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType""#));
    }

    #[test]
    fn oci_names() {
        let index: ImageIndex = serde_json::from_value(serde_json::json!({
            "schemaVersion": 2,
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{}", "a".repeat(64)), "size": 1,
                 "annotations": {"io.containerd.image.name": "busybox:1"}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{}", "b".repeat(64)), "size": 1,
                 "annotations": {"org.opencontainers.image.ref.name": "latest"}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{}", "c".repeat(64)), "size": 1,
                 "annotations": {"org.opencontainers.image.ref.name": "example.com/x:2"}}
            ]
        }))
        .unwrap();
        let names: Vec<String> = oci_images(&index, &Platform::host())
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            vec!["docker.io/library/busybox:1", "example.com/x:2"]
        );
    }
}
