//! One entry of a tar stream: what its headers say, and its data as a reader.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::TarStream;

/// What an entry's header says, its PAX records and GNU long name and link applied: the
/// information Warren uses of an entry, whichever format wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryInfo {
    /// Its position in the stream among real entries (extension headers not counted).
    pub index: u64,
    /// Its type. A `\0` type whose name ends in `/` is a directory, as in Go's archive/tar.
    pub kind: tar::EntryType,
    /// Its name, as stored (PAX `path`, else a GNU long name, else the header's name with
    /// its ustar prefix).
    pub path: Vec<u8>,
    /// The target of a link (PAX `linkpath`, else a GNU long link, else the header's);
    /// `None` when empty.
    pub link: Option<Vec<u8>>,
    /// Bytes of data that follow the header (PAX `size` over the header's). Always 0 for
    /// the types that have no data (links, directories, devices, FIFOs), as Go reads them.
    pub size: u64,
    /// Permission bits with setuid, setgid and sticky (the header's mode field).
    pub mode: u32,
    /// Owner (PAX `uid`/`gid` over the header's).
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Owner and group names (PAX `uname`/`gname` over the header's); may be empty.
    pub uname: Vec<u8>,
    /// See `uname`.
    pub gname: Vec<u8>,
    /// Modification time in whole seconds (PAX `mtime` over the header's).
    pub mtime: i64,
    /// Access and change times, from PAX records only.
    pub atime: Option<i64>,
    /// See `atime`.
    pub ctime: Option<i64>,
    /// Major and minor device numbers of a character or block device (0, 0 otherwise).
    pub device: (u32, u32),
    /// Extended attributes: `SCHILY.xattr.*` records, then `LIBARCHIVE.xattr.*` ones for
    /// other names.
    pub xattrs: Vec<(String, Vec<u8>)>,
}

impl EntryInfo {
    /// The name as a path.
    pub(crate) fn path(&self) -> &Path {
        Path::new(OsStr::from_bytes(&self.path))
    }

    /// The link target as a path.
    pub(crate) fn link_path(&self) -> Option<&Path> {
        self.link
            .as_deref()
            .map(|l| Path::new(OsStr::from_bytes(l)))
    }
}

/// An entry's name quoted for messages, or `#index` without one.
pub(super) fn label(name: Option<&[u8]>, index: u64) -> String {
    match name {
        Some(n) if !n.is_empty() => format!("{:?}", String::from_utf8_lossy(n)),
        _ => format!("#{index}"),
    }
}

/// The current entry of a [`TarStream`]: what its headers say, and its data as a reader
/// limited to its size. Data left unread is skipped by the next [`TarStream::next`].
pub(crate) struct Entry<'a, R: Read> {
    /// What its headers say.
    pub info: EntryInfo,
    pub(super) stream: &'a mut TarStream<R>,
}

impl<R: Read> Read for Entry<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stream.read_data(buf)
    }
}
