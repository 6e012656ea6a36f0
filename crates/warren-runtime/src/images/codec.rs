//! How a layer blob is compressed, and the decompressor that reads it: what the applier
//! reads a layer through.

use std::io::Read;

use super::unpacked::UnpackBudget;

/// How a layer blob is compressed, by its media type; `None` for one the applier does not
/// know (containerd's Diff.Apply then does the work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Plain,
    Gzip,
    Zstd,
}

impl Codec {
    pub(crate) fn of(media_type: &str) -> Option<Codec> {
        if media_type.ends_with(".tar") || media_type.ends_with("layer.v1.tar") {
            Some(Codec::Plain)
        } else if media_type.ends_with("tar+gzip") || media_type.ends_with("tar.gzip") {
            Some(Codec::Gzip)
        } else if media_type.ends_with("tar+zstd") {
            Some(Codec::Zstd)
        } else {
            None
        }
    }
}

/// The decompressed stream of a layer compressed as `codec`, counted against `budget`
/// when given: what the applier reads.
pub(crate) fn decoder<R: Read + 'static>(
    codec: Codec,
    input: R,
    budget: Option<(&UnpackBudget, &str)>,
) -> std::io::Result<Box<dyn Read>> {
    let decoded: Box<dyn Read> = match codec {
        Codec::Plain => Box::new(input),
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Codec::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(input)
                .map_err(|e| std::io::Error::other(e.to_string()))?,
        ),
    };
    Ok(match budget {
        Some((b, digest)) => Box::new(b.counted(digest, decoded)),
        None => decoded,
    })
}
