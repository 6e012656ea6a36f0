//! Layers for the tar reader's tests (`tests/hostile_tar.rs`): one that ends right after its
//! last entry's data, as umoci writes them, one cut inside an entry's data, and "bombs"
//! whose first header declares 16 GiB. A bomb is a gzip stream made on the fly from
//! concatenated gzip members (a header, then one small member of 1 MiB of filler repeated):
//! about 16 MB compressed, pushed to the registry in chunks as it is generated, and never
//! whole in memory or on disk here.

use std::io::Write;

use futures::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

use crate::images::Layer;

/// What a bomb's first header declares: 16 GiB.
pub const BOMB_SIZE: u64 = 16 << 30;

/// A tar of a directory and two files whose stream ends right after the second file's
/// data: no padding to 512 bytes, no end-of-archive blocks.
pub fn unterminated_layer() -> Layer {
    let last = b"the last file, its data not padded";
    let mut b = tar::Builder::new(Vec::new());
    let entries: [(&str, &[u8], u32); 3] = [
        ("etc/", b"", 0o755),
        ("etc/first", b"first\n", 0o640),
        ("etc/last", last, 0o600),
    ];
    for (name, data, mode) in entries {
        let mut h = tar::Header::new_ustar();
        let ty = if name.ends_with('/') {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        };
        h.set_entry_type(ty);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        b.append_data(&mut h, name, data).unwrap();
    }
    let mut tar = b.into_inner().unwrap();
    while tar.ends_with(&[0u8; 512]) {
        tar.truncate(tar.len() - 512);
    }
    tar.truncate(tar.len() - (512 - last.len() % 512));
    assert_eq!(tar.len() % 512, last.len());
    layer_of(tar)
}

/// A tar whose second file's data stops halfway: cut inside an entry.
pub fn cut_layer() -> Layer {
    let mut b = tar::Builder::new(Vec::new());
    for (name, size) in [("a", 10usize), ("b", 4000)] {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(size as u64);
        b.append_data(&mut h, name, vec![b'x'; size].as_slice())
            .unwrap();
    }
    let mut tar = b.into_inner().unwrap();
    tar.truncate(1024 + 512 + 2000);
    layer_of(tar)
}

fn layer_of(tar: Vec<u8>) -> Layer {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    Layer {
        gz: gz.finish().unwrap(),
        diff_id: format!("sha256:{}", hex::encode(Sha256::digest(&tar))),
        tar,
    }
}

/// Which header a bomb starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bomb {
    /// A PAX extended header (`x`) of 16 GiB.
    PaxHeader,
    /// A GNU long name (`L`) of 16 GiB.
    LongName,
    /// A GNU long link (`K`) of 16 GiB.
    LongLink,
    /// A GNU sparse file (`S`) whose map goes on in extension blocks for 16 GiB.
    SparseMap,
}

impl Bomb {
    /// All of them.
    pub const ALL: [Bomb; 4] = [
        Bomb::PaxHeader,
        Bomb::LongName,
        Bomb::LongLink,
        Bomb::SparseMap,
    ];

    /// The bomb's first header.
    fn header(self) -> [u8; 512] {
        let mut h = tar::Header::new_gnu();
        let (ty, name) = match self {
            Bomb::PaxHeader => (tar::EntryType::XHeader, "PaxHeaders.0/bomb"),
            Bomb::LongName => (tar::EntryType::GNULongName, "././@LongLink"),
            Bomb::LongLink => (tar::EntryType::GNULongLink, "././@LongLink"),
            Bomb::SparseMap => (tar::EntryType::GNUSparse, "bomb"),
        };
        h.set_entry_type(ty);
        h.set_path(name).unwrap();
        h.set_mode(0o644);
        h.set_size(BOMB_SIZE);
        if self == Bomb::SparseMap {
            let gnu = h.as_gnu_mut().unwrap();
            gnu.isextended[0] = 1;
            gnu.realsize
                .copy_from_slice(b"\x80\0\0\0\0\0\0\x04\0\0\0\0");
        }
        h.set_cksum();
        *h.as_bytes()
    }

    /// 1 MiB of what follows the header: zeros, or sparse map extension blocks that each
    /// say another one follows.
    fn filler(self) -> Vec<u8> {
        let mut block = [0u8; 512];
        if self == Bomb::SparseMap {
            for (i, entry) in block[..504].chunks_mut(24).enumerate() {
                entry[..11].copy_from_slice(format!("{:011o}", i * 4096).as_bytes());
                entry[12..23].copy_from_slice(b"00000001000");
            }
            block[504] = 1; // isextended
        }
        block.repeat(2048)
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// The bomb's gzip stream, in pieces of about 1 MB: the header's member, then 16,384
/// copies of the filler's member (16 GiB uncompressed).
pub fn bomb_chunks(bomb: Bomb) -> impl Iterator<Item = Vec<u8>> + Send + 'static {
    let head = gzip(&bomb.header());
    let member = gzip(&bomb.filler());
    let per_chunk = (1 << 20) / member.len().max(1) + 1;
    let members = (BOMB_SIZE >> 20) as usize;
    let chunks = members.div_ceil(per_chunk);
    std::iter::once(head).chain((0..chunks).map(move |c| {
        let n = per_chunk.min(members - c * per_chunk);
        member.repeat(n)
    }))
}

fn client() -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..Default::default()
    })
}

/// Push an image of one bomb layer as `reference`: the layer streamed to the registry as it
/// is generated (its digest computed on the way), then the config and the manifest. The
/// config's diff ID is not the layer's (it would take hashing 16 GiB): the layer is refused
/// before it is checked.
pub async fn push_bomb(reference: &str, bomb: Bomb) {
    let r: Reference = reference.parse().unwrap();
    let client = client();
    let stream = futures::stream::iter(bomb_chunks(bomb))
        .map(|c| Ok::<_, oci_client::errors::OciDistributionError>(tonic::codegen::Bytes::from(c)));
    let pushed = client
        .push_blob_stream_chunked(&r, stream)
        .await
        .expect("push the bomb layer");
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", "0".repeat(64))]},
    }))
    .unwrap();
    let config_digest = format!("sha256:{}", hex::encode(Sha256::digest(&config)));
    client
        .push_blob(&r, config.clone(), &config_digest)
        .await
        .expect("push config");
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": pushed.blob_digest, "size": pushed.size,
        }],
    }))
    .unwrap();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bomb stream decompresses to its header, then filler, and is small.
    #[test]
    fn a_bomb_is_small_and_starts_with_its_header() {
        for bomb in Bomb::ALL {
            let mut total = 0usize;
            let mut first = Vec::new();
            for (i, chunk) in bomb_chunks(bomb).enumerate() {
                total += chunk.len();
                if i < 2 {
                    first.extend_from_slice(&chunk);
                }
            }
            // 16 GiB behind each header: about 17 MB of gzip, 77 MB for the sparse map
            // (its text compresses less than zeros).
            assert!(total < 96 << 20, "{bomb:?}: {total} bytes compressed");
            let mut out = vec![0u8; 4096];
            let mut d = flate2::read::MultiGzDecoder::new(first.as_slice());
            std::io::Read::read_exact(&mut d, &mut out).unwrap();
            assert_eq!(&out[..512], &bomb.header()[..], "{bomb:?}");
            let h = tar::Header::from_byte_slice(&out[..512]);
            assert_eq!(h.entry_size().unwrap(), BOMB_SIZE);
        }
    }
}
