//! Reading an image archive (a tar, optionally gzipped) on a blocking thread, one entry after
//! another, handing its files to the async side as events: the archive is read once, in
//! order, and never unpacked to disk.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use crate::tar_stream::{End, TarError, TarStream};
use crate::RuntimeError;

/// Files read whole rather than stored as blobs: the archive's table of contents.
const META: &[&str] = &["oci-layout", "index.json", "manifest.json", "repositories"];
use crate::images::limits::{MAX_ARCHIVE_METADATA_BYTES, MAX_CONFIG_BYTES};
const CHUNK: usize = 1024 * 1024;

/// One step of reading the archive.
#[derive(Debug)]
pub(super) enum Event {
    /// A table-of-contents file, read whole.
    Meta { name: String, bytes: Vec<u8> },
    /// A file to store as a blob. Answer on `skip` (true: its bytes are not needed); unless
    /// skipped, its bytes follow as `Chunk`s and an `End`.
    Blob {
        name: String,
        size: u64,
        skip: oneshot::Sender<bool>,
    },
    /// Some bytes of the current blob.
    Chunk(Bytes),
    /// The end of the current blob, with the sha256 digest of its bytes.
    End { digest: String },
    /// A symbolic link (docker uses them for layers shared by images), target resolved.
    Link { name: String, target: String },
    /// The archive stopped between two entries without tar's end-of-archive marker: it was
    /// most likely cut short (a copy or export that did not finish). The last event; `after`
    /// is the last entry read (empty if none).
    Cut { after: String },
}

/// `./a/b/../c` → `a/c`: the names archives use for the same file differ in form. `None`
/// for a name that leaves the archive: absolute, or climbing above its top with `..`.
pub(super) fn clean(name: &str) -> Option<String> {
    if name.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for p in name.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn archive_err(path: &Path, reason: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Archive {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Start reading `path`; events arrive on the receiver, ending with the channel's close.
pub(super) fn spawn(path: PathBuf) -> mpsc::Receiver<Result<Event, RuntimeError>> {
    let (tx, rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = read(&path, &tx) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    rx
}

type Tx = mpsc::Sender<Result<Event, RuntimeError>>;

/// Ok(()) also when the receiver went away (the import failed and stopped listening).
fn read(path: &Path, tx: &Tx) -> Result<(), RuntimeError> {
    let file = File::open(path).map_err(|source| RuntimeError::Io {
        op: "opening image archive",
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = BufReader::with_capacity(CHUNK, file);
    let mut magic = [0u8; 4];
    let n = peek(&mut reader, &mut magic).map_err(|e| archive_err(path, e))?;
    let input: Box<dyn Read> = match &magic[..n] {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::GzDecoder::new(reader)),
        [0x28, 0xb5, 0x2f, 0xfd] => {
            return Err(archive_err(
                path,
                "zstd-compressed archives are not supported; decompress it first",
            ))
        }
        _ => Box::new(reader),
    };
    // Read within the tar limits: a limit reached is LimitExceeded, anything else a
    // damaged archive.
    let tar_err = |e: TarError| {
        e.into_runtime(format!("image archive {}", path.display()), |m| {
            archive_err(path, format!("damaged tar: {m}"))
        })
    };
    let mut stream = TarStream::new(input);
    let mut last = String::new();
    while let Some(mut entry) = stream.next().map_err(tar_err)? {
        let raw = String::from_utf8_lossy(&entry.info.path).into_owned();
        let name = clean(&raw).ok_or_else(|| {
            archive_err(path, format!("entry {raw:?} points outside the archive"))
        })?;
        let kind = entry.info.kind;
        last.clone_from(&name);
        let event = if kind.is_symlink() || kind.is_hard_link() {
            let Some(target) = entry.info.link.clone() else {
                continue;
            };
            let target = String::from_utf8_lossy(&target).into_owned();
            // Links name files of the archive: relative to the link's folder (symbolic) or
            // to the archive's top (hard), never outside it.
            let joined = match name.rsplit_once('/') {
                Some((dir, _)) if kind.is_symlink() => format!("{dir}/{target}"),
                _ => target.clone(),
            };
            let target = clean(&joined).ok_or_else(|| {
                archive_err(
                    path,
                    format!("link {name:?} -> {target:?} points outside the archive"),
                )
            })?;
            Event::Link { name, target }
        } else if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            continue;
        } else if META.contains(&name.as_str()) {
            let limit = MAX_ARCHIVE_METADATA_BYTES;
            let size = entry.info.size;
            let too_large = || RuntimeError::TooLarge {
                what: "archive metadata",
                subject: format!("{} ({name})", path.display()),
                limit,
                detail: format!(" ({size} bytes)"),
            };
            if size > limit {
                return Err(too_large());
            }
            let mut bytes = Vec::new();
            (&mut entry)
                .take(limit + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| archive_err(path, format!("reading {name}: {e}")))?;
            if bytes.len() as u64 > limit {
                return Err(too_large());
            }
            Event::Meta { name, bytes }
        } else if name.ends_with("/json") || name.ends_with("/VERSION") {
            // Legacy `docker save` leftovers nothing refers to.
            continue;
        } else {
            let size = entry.info.size;
            // A `docker save` config (`<id>.json` at the top): refused before a byte of it is
            // stored if it is over the config limit (other blobs are only known for configs
            // once the table of contents is read; those are refused when read back).
            if !name.contains('/') && name.ends_with(".json") && size > MAX_CONFIG_BYTES {
                return Err(RuntimeError::TooLarge {
                    what: "config",
                    subject: format!("{} ({name})", path.display()),
                    limit: MAX_CONFIG_BYTES,
                    detail: format!(" ({size} bytes)"),
                });
            }
            let (skip_tx, skip_rx) = oneshot::channel();
            let blob = Event::Blob {
                name: name.clone(),
                size,
                skip: skip_tx,
            };
            if tx.blocking_send(Ok(blob)).is_err() {
                return Ok(());
            }
            match skip_rx.blocking_recv() {
                Ok(true) => continue,
                Ok(false) => {}
                Err(_) => return Ok(()),
            }
            let mut hash = Sha256::new();
            loop {
                let mut buf = vec![0u8; CHUNK];
                let n = read_full(&mut entry, &mut buf)
                    .map_err(|e| archive_err(path, format!("reading {name}: {e}")))?;
                if n == 0 {
                    break;
                }
                buf.truncate(n);
                hash.update(&buf);
                if tx
                    .blocking_send(Ok(Event::Chunk(Bytes::from(buf))))
                    .is_err()
                {
                    return Ok(());
                }
            }
            Event::End {
                digest: format!("sha256:{}", hex::encode(hash.finalize())),
            }
        };
        if tx.blocking_send(Ok(event)).is_err() {
            return Ok(());
        }
    }
    // Ending between entries is a complete tar for Go's archive/tar, but an archive
    // written by `docker save` or an OCI exporter has the end marker: without one, it was
    // most likely cut short.
    if stream.end() == Some(End::Eof) {
        let _ = tx.blocking_send(Ok(Event::Cut { after: last }));
    }
    Ok(())
}

/// Look at the first bytes without consuming them.
fn peek(reader: &mut BufReader<File>, out: &mut [u8]) -> std::io::Result<usize> {
    use std::io::BufRead;
    let buf = reader.fill_buf()?;
    let n = buf.len().min(out.len());
    out[..n].copy_from_slice(&buf[..n]);
    Ok(n)
}

/// Fill `buf` as far as the entry allows (a short read only at its end).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::{clean, spawn, Event};

    /// The events of reading a tar made of `files`, with its end marker or without.
    async fn events_of(files: &[(&str, &[u8])], whole: bool, tag: &str) -> Vec<String> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, bytes) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            builder.append_data(&mut h, name, *bytes).unwrap();
        }
        let mut tar = builder.into_inner().unwrap();
        if !whole {
            // Two zero blocks of 512 bytes end a tar; Builder may pad further.
            while tar.ends_with(&[0u8; 512]) {
                tar.truncate(tar.len() - 512);
            }
        }
        let path = std::env::temp_dir().join(format!("warren-tar-{}-{tag}", std::process::id()));
        std::fs::write(&path, &tar).unwrap();
        let mut rx = spawn(path.clone());
        let mut seen = Vec::new();
        while let Some(event) = rx.recv().await {
            seen.push(match event.unwrap() {
                Event::Meta { name, .. } => format!("meta {name}"),
                Event::Blob { name, skip, .. } => {
                    let _ = skip.send(false);
                    format!("blob {name}")
                }
                Event::Chunk(_) | Event::End { .. } => continue,
                Event::Link { name, .. } => format!("link {name}"),
                Event::Cut { after } => format!("cut after {after}"),
            });
        }
        std::fs::remove_file(&path).unwrap();
        seen
    }

    #[tokio::test]
    async fn an_archive_without_its_end_marker_is_reported_cut() {
        let files: &[(&str, &[u8])] = &[("blobs/sha256/aa", b"layer"), ("index.json", b"{}")];
        assert_eq!(
            events_of(files, true, "whole").await,
            ["blob blobs/sha256/aa", "meta index.json"]
        );
        assert_eq!(
            events_of(files, false, "cut").await,
            [
                "blob blobs/sha256/aa",
                "meta index.json",
                "cut after index.json"
            ]
        );
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean("./blobs/sha256/ab").unwrap(), "blobs/sha256/ab");
        assert_eq!(clean("a/../b/./c/").unwrap(), "b/c");
        // Names that leave the archive are refused.
        for escaping in ["/index.json", "../x", "a/../../x", "/etc/shadow"] {
            assert_eq!(clean(escaping), None, "{escaping}");
        }
    }
}
