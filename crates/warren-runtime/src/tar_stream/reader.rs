//! The stream: headers read block by block, extension headers folded into the entry they
//! precede, data handed out as it is asked for.

use std::io::Read;

use super::block::{self, Fill, BLOCK};
use super::entry::{label, Entry, EntryInfo};
use super::error::{cut, invalid, limit, over};
use super::pax::Pax;
use super::{TarError, TarLimits};

/// How a stream ended. Every one is a clean end: Go's archive/tar (containerd, Docker)
/// accepts them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The input ended between two entries (padding present, partly present or missing),
    /// without an end-of-archive block: a complete stream from some writers, a copy cut
    /// short for others.
    Eof,
    /// One zero block, then the end of the input.
    OneZeroBlock,
    /// The two zero blocks of the end-of-archive marker.
    Marker,
}

/// What extension headers said about the entry that follows them (a later one of a kind
/// replaces an earlier one, as in Go's archive/tar).
#[derive(Default)]
struct Pending {
    pax: Option<Pax>,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
}

impl Pending {
    fn name(&self) -> Option<&[u8]> {
        let pax = self.pax.as_ref().and_then(|p| p.path.as_deref());
        pax.or(self.long_name.as_deref())
    }
}

/// A tar stream read entry by entry, within [`TarLimits`]. It never reads ahead of what it
/// needs and never buffers more than one extension header's body (itself capped), so the
/// input may be a decompressor or a network stream.
pub(crate) struct TarStream<R: Read> {
    input: R,
    limits: TarLimits,
    /// Data of the current entry not read yet, and the padding that follows it.
    pub(super) remaining: u64,
    padding: u64,
    /// Entries handed out so far, and extension header bytes read.
    entries: u64,
    extension_bytes: u64,
    /// How errors name the current entry.
    current: String,
    end: Option<End>,
}

impl<R: Read> TarStream<R> {
    /// A stream over `input` with the default limits.
    pub(crate) fn new(input: R) -> Self {
        Self::with_limits(input, TarLimits::default())
    }

    /// A stream over `input` with `limits`.
    pub(crate) fn with_limits(input: R, limits: TarLimits) -> Self {
        TarStream {
            input,
            limits,
            remaining: 0,
            padding: 0,
            entries: 0,
            extension_bytes: 0,
            current: String::new(),
            end: None,
        }
    }

    /// How the stream ended, once [`TarStream::next`] has said it did.
    pub(crate) fn end(&self) -> Option<End> {
        self.end
    }

    /// The next entry, skipping what is left of the current one; `None` at the end.
    pub(crate) fn next(&mut self) -> Result<Option<Entry<'_, R>>, TarError> {
        if self.end.is_some() {
            return Ok(None);
        }
        match self.advance()? {
            Some(info) => Ok(Some(Entry { info, stream: self })),
            None => Ok(None),
        }
    }

    fn advance(&mut self) -> Result<Option<EntryInfo>, TarError> {
        let left = self.remaining;
        if block::skip(&mut self.input, left).map_err(TarError::Io)? < left {
            return Err(self.cut_in_data());
        }
        self.remaining = 0;
        // Padding may be missing or partly there at the end of the stream.
        let pad = std::mem::take(&mut self.padding);
        if block::skip(&mut self.input, pad).map_err(TarError::Io)? < pad {
            self.end = Some(End::Eof);
            return Ok(None);
        }
        let mut pending = Pending::default();
        let index = self.entries;
        let at = |p: &Pending| label(p.name(), index);
        loop {
            let mut header = [0u8; BLOCK];
            match block::fill(&mut self.input, &mut header).map_err(TarError::Io)? {
                // Also after extension headers whose entry never came, as Go does.
                Fill::Empty => {
                    self.end = Some(End::Eof);
                    return Ok(None);
                }
                Fill::Partial => return Err(cut(at(&pending), "its header")),
                Fill::Full => {}
            }
            if block::is_zero(&header) {
                self.end_marker(at(&pending))?;
                return Ok(None);
            }
            block::checksum_ok(&header).map_err(|reason| invalid(at(&pending), reason))?;
            let h = tar::Header::from_byte_slice(&header);
            match header[156] {
                b'x' | b'g' | b'L' | b'K' => {
                    if !self.extension(h, &mut pending)? {
                        self.end = Some(End::Eof);
                        return Ok(None);
                    }
                }
                // The sparse map (in this header and the blocks after it) is never read.
                b'S' => {
                    let name = pending.name().map(<[u8]>::to_vec);
                    let name = name.unwrap_or_else(|| h.path_bytes().into_owned());
                    return Err(TarError::Sparse {
                        entry: label(Some(&name), self.entries),
                    });
                }
                _ => return self.entry(h, pending).map(Some),
            }
        }
    }

    /// After a zero block: a second one, or the input's end, ends the stream.
    fn end_marker(&mut self, at: String) -> Result<(), TarError> {
        let mut second = [0u8; BLOCK];
        let end = match block::fill(&mut self.input, &mut second).map_err(TarError::Io)? {
            Fill::Empty => End::OneZeroBlock,
            Fill::Partial => return Err(cut(at, "the end-of-archive marker")),
            Fill::Full if block::is_zero(&second) => End::Marker,
            Fill::Full => return Err(invalid(at, "a zero block followed by a header".into())),
        };
        self.end = Some(end);
        Ok(())
    }

    /// Read one extension header's body into `pending`; false if the stream ended in the
    /// body's padding (a clean end, as in Go).
    fn extension(&mut self, h: &tar::Header, pending: &mut Pending) -> Result<bool, TarError> {
        let at = label(pending.name(), self.entries);
        let size = block::numeric(&h.as_bytes()[124..136])
            .map_err(|e| invalid(at.clone(), format!("its size field: {e}")))?;
        let limits = self.limits;
        if size > limits.max_extension_size {
            return Err(over(
                limit::EXTENSION_SIZE,
                limits.max_extension_size,
                size,
                at,
            ));
        }
        let total = (self.extension_bytes + BLOCK as u64).saturating_add(size);
        if total > limits.max_extension_bytes {
            return Err(over(
                limit::EXTENSION_BYTES,
                limits.max_extension_bytes,
                total,
                at,
            ));
        }
        self.extension_bytes = total;
        let mut body = vec![0u8; size as usize];
        if block::fill(&mut self.input, &mut body).map_err(TarError::Io)? != Fill::Full {
            return Err(cut(at, "its extension header"));
        }
        let pad = block::padding(size);
        if block::skip(&mut self.input, pad).map_err(TarError::Io)? < pad {
            return Ok(false);
        }
        match h.as_bytes()[156] {
            b'x' => pending.pax = Some(super::pax::parse(&body).map_err(|r| invalid(at, r))?),
            // Checked, then ignored, as containerd ignores global headers.
            b'g' => drop(super::pax::parse(&body).map_err(|r| invalid(at, r))?),
            b'L' => pending.long_name = Some(block::until_nul(&body).to_vec()),
            _ => pending.long_link = Some(block::until_nul(&body).to_vec()),
        }
        Ok(true)
    }

    /// The entry of header `h` and the extensions before it; its data comes next.
    fn entry(&mut self, h: &tar::Header, pending: Pending) -> Result<EntryInfo, TarError> {
        let pax = pending.pax.unwrap_or_default();
        let path = pax
            .path
            .or(pending.long_name)
            .unwrap_or_else(|| h.path_bytes().into_owned());
        let at = label(Some(&path), self.entries);
        if pax.sparse {
            return Err(TarError::Sparse { entry: at });
        }
        if self.entries >= self.limits.max_entries {
            let max = self.limits.max_entries;
            return Err(over(limit::ENTRIES, max, self.entries + 1, at));
        }
        let field = |range: std::ops::Range<usize>, what: &str| {
            block::numeric(&h.as_bytes()[range])
                .map_err(|e| invalid(at.clone(), format!("its {what} field: {e}")))
        };
        let small = |v: u64, what: &str| {
            u32::try_from(v).map_err(|_| invalid(at.clone(), format!("its {what} is too large")))
        };
        let mut kind = h.entry_type();
        if h.as_bytes()[156] == 0 && path.ends_with(b"/") {
            kind = tar::EntryType::Directory;
        }
        let header_only = matches!(h.as_bytes()[156], b'1'..=b'6');
        let size = match pax.size {
            _ if header_only => 0,
            Some(size) => size,
            None => field(124..136, "size")?,
        };
        let device = if matches!(h.as_bytes()[156], b'3' | b'4') {
            let major = small(field(329..337, "device major")?, "device major")?;
            (
                major,
                small(field(337..345, "device minor")?, "device minor")?,
            )
        } else {
            (0, 0)
        };
        let link = pax.linkpath.or(pending.long_link).or_else(|| {
            let l = h.link_name_bytes()?;
            (!l.is_empty()).then(|| l.into_owned())
        });
        let info = EntryInfo {
            index: self.entries,
            kind,
            link,
            size,
            mode: small(field(100..108, "mode")?, "mode")?,
            uid: pax.uid.map_or_else(|| field(108..116, "uid"), Ok)?,
            gid: pax.gid.map_or_else(|| field(116..124, "gid"), Ok)?,
            uname: pax.uname.unwrap_or_else(|| owner(h.username_bytes())),
            gname: pax.gname.unwrap_or_else(|| owner(h.groupname_bytes())),
            mtime: pax.mtime.map_or_else(
                || field(136..148, "mtime").map(|t| t.min(i64::MAX as u64) as i64),
                Ok,
            )?,
            atime: pax.atime,
            ctime: pax.ctime,
            device,
            xattrs: pax.xattrs,
            path,
        };
        self.entries += 1;
        self.remaining = size;
        self.padding = block::padding(size);
        self.current = at;
        Ok(info)
    }

    /// Read the current entry's data (the [`Entry`]'s reader).
    pub(super) fn read_data(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = self.remaining.min(buf.len() as u64) as usize;
        let n = self.input.read(&mut buf[..want])?;
        if n == 0 {
            let e = self.cut_in_data();
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, e));
        }
        self.remaining -= n as u64;
        Ok(n)
    }

    fn cut_in_data(&self) -> TarError {
        cut(self.current.clone(), "its data")
    }
}

fn owner(name: Option<&[u8]>) -> Vec<u8> {
    name.map(<[u8]>::to_vec).unwrap_or_default()
}
