//! Counting what layers unpack to, at the decompressor's output: a small compressed layer
//! that expands without end is stopped at the per-layer or per-image cap, not when the
//! disk is full, and the free-space floor is checked every
//! [`FREE_SPACE_CHECK_EVERY`] bytes on the way.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::disk::FreeSpace;
use super::limits::FREE_SPACE_CHECK_EVERY;
use crate::RuntimeError;

/// Where the caps are set, for error messages.
const LAYER_SETTING: &str = "DiskLimits::max_layer_unpacked_bytes or PullOptions::max_layer_unpacked_bytes; warrend: registry.max_layer_unpacked_bytes";
const IMAGE_SETTING: &str = "DiskLimits::max_image_unpacked_bytes or PullOptions::max_image_unpacked_bytes; warrend: registry.max_image_unpacked_bytes";

/// `n` bytes for a message: `68719476736 bytes (64 GiB)`.
pub(crate) fn human(n: u64) -> String {
    let units = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    match units.iter().find(|(u, _)| n >= *u) {
        Some((u, name)) => format!("{n} bytes ({:.1} {name})", n as f64 / *u as f64),
        None => format!("{n} bytes"),
    }
}

/// The unpacked-size budget of one pull or import, shared by its layers (cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct UnpackBudget(Arc<Budget>);

#[derive(Debug)]
struct Budget {
    subject: String,
    layer_cap: u64,
    image_cap: u64,
    /// Bytes of the layers unpacked to their end so far.
    done: AtomicU64,
    free: FreeSpace,
    /// The limit a layer hit: the applier turns the reader's error into text, so the
    /// typed error is kept here for the caller.
    hit: Mutex<Option<RuntimeError>>,
}

impl UnpackBudget {
    /// A budget for image `subject`.
    pub(crate) fn new(subject: &str, layer_cap: u64, image_cap: u64, free: FreeSpace) -> Self {
        UnpackBudget(Arc::new(Budget {
            subject: subject.to_string(),
            layer_cap,
            image_cap,
            done: AtomicU64::new(0),
            free,
            hit: Mutex::new(None),
        }))
    }

    /// The limit the last failed layer hit, if that is why it failed.
    pub(crate) fn take_hit(&self) -> Option<RuntimeError> {
        self.0.hit.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// The free-space check of this pull or import.
    pub(crate) fn free(&self) -> &FreeSpace {
        &self.0.free
    }

    /// A reader that counts what `inner` (a decompressor of layer `digest`) gives.
    pub(crate) fn counted<R: Read>(&self, digest: &str, inner: R) -> Counted<R> {
        Counted {
            inner,
            budget: self.clone(),
            digest: digest.to_string(),
            layer: 0,
            since_check: 0,
            ended: false,
        }
    }
}

/// A decompressor's output, counted (see [`UnpackBudget::counted`]).
pub(crate) struct Counted<R> {
    inner: R,
    budget: UnpackBudget,
    digest: String,
    layer: u64,
    since_check: u64,
    ended: bool,
}

impl<R> Counted<R> {
    fn refuse(&self, e: RuntimeError) -> std::io::Error {
        let text = e.to_string();
        *self.budget.0.hit.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        std::io::Error::other(text)
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let b = &self.budget.0;
        if n == 0 {
            if !self.ended {
                self.ended = true;
                b.done.fetch_add(self.layer, Ordering::Relaxed);
            }
            return Ok(0);
        }
        self.layer += n as u64;
        self.since_check += n as u64;
        let subject = || format!("{} layer {}", b.subject, self.digest);
        if self.layer > b.layer_cap {
            return Err(self.refuse(RuntimeError::LimitExceeded {
                subject: subject(),
                what: "the layer unpacks to more bytes".into(),
                limit: "per-layer unpacked size limit",
                value: human(b.layer_cap),
                setting: LAYER_SETTING,
            }));
        }
        if b.done.load(Ordering::Relaxed) + self.layer > b.image_cap {
            return Err(self.refuse(RuntimeError::LimitExceeded {
                subject: subject(),
                what: "the image's layers unpack to more bytes".into(),
                limit: "per-image unpacked size limit",
                value: human(b.image_cap),
                setting: IMAGE_SETTING,
            }));
        }
        if self.since_check >= FREE_SPACE_CHECK_EVERY {
            self.since_check = 0;
            if let Err(e) = b.free.check(&format!("unpacking {}", subject())) {
                return Err(self.refuse(e));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::codec::{decoder, Codec};
    use std::io::Write;

    /// `n` zero bytes, gzipped (a few kilobytes per megabyte).
    fn zeros_gz(n: usize) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let block = vec![0u8; 1 << 20];
        let mut left = n;
        while left > 0 {
            let k = left.min(block.len());
            gz.write_all(&block[..k]).unwrap();
            left -= k;
        }
        gz.finish().unwrap()
    }

    fn drain(r: &mut dyn Read) -> (u64, std::io::Result<()>) {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (total, Ok(())),
                Ok(n) => total += n as u64,
                Err(e) => return (total, Err(e)),
            }
        }
    }

    #[test]
    fn a_gzip_bomb_is_stopped_at_the_layer_cap() {
        let bomb = zeros_gz(64 << 20);
        assert!(bomb.len() < 1 << 20);
        let budget = UnpackBudget::new("img", 4 << 20, u64::MAX, FreeSpace::default());
        let mut r = decoder(
            Codec::Gzip,
            std::io::Cursor::new(bomb),
            Some((&budget, "sha256:l")),
        )
        .unwrap();
        let (read, result) = drain(&mut r);
        assert!(result.is_err());
        assert!(read <= 4 << 20, "{read} bytes came out past the cap");
        let hit = budget.take_hit().expect("the typed error is kept");
        assert_eq!(hit.kind(), crate::ErrorKind::LimitExceeded);
        let text = hit.to_string();
        assert!(
            text.contains("per-layer") && text.contains("4194304 bytes"),
            "{text}"
        );
        assert!(text.contains("registry.max_layer_unpacked_bytes"), "{text}");
    }

    #[test]
    fn the_image_cap_counts_every_layer() {
        let budget = UnpackBudget::new("img", u64::MAX, 3 << 20, FreeSpace::default());
        for (i, ok) in [(0, true), (1, false)] {
            let layer = zeros_gz(2 << 20);
            let digest = format!("sha256:{i}");
            let mut r = decoder(
                Codec::Gzip,
                std::io::Cursor::new(layer),
                Some((&budget, &digest)),
            )
            .unwrap();
            assert_eq!(drain(&mut r).1.is_ok(), ok, "layer {i}");
        }
        let text = budget.take_hit().unwrap().to_string();
        assert!(text.contains("per-image"), "{text}");
    }

    #[test]
    fn the_free_space_floor_is_checked_while_unpacking() {
        let dir = std::env::temp_dir();
        let floor = super::super::disk::available(&dir).unwrap() + (1 << 40);
        let budget = UnpackBudget::new("img", u64::MAX, u64::MAX, FreeSpace::new(vec![dir], floor));
        let plain = vec![0u8; (FREE_SPACE_CHECK_EVERY + 1) as usize];
        let mut r = decoder(
            Codec::Plain,
            std::io::Cursor::new(plain),
            Some((&budget, "sha256:l")),
        )
        .unwrap();
        let (read, result) = drain(&mut r);
        assert!(result.is_err() && read <= FREE_SPACE_CHECK_EVERY + 64 * 1024);
        assert!(matches!(
            budget.take_hit(),
            Some(RuntimeError::LowDiskSpace { .. })
        ));
    }
}
