//! Streams built in memory block by block (hostile ones included), and inputs that never end.

mod end;
mod limits;
mod records;

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;

use super::{End, EntryInfo, TarError, TarLimits, TarStream};

const MTIME: u64 = 1_600_000_000;

/// A header block of type `kind` named `name` declaring `size` bytes (ustar, checksummed).
fn header(kind: u8, name: &[u8], size: u64) -> [u8; 512] {
    let mut h = tar::Header::new_ustar();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.as_mut_bytes()[156] = kind;
    h.set_mode(0o644);
    h.set_size(size);
    h.set_mtime(MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    *h.as_bytes()
}

/// `LEN key=value\n`, its length counting its own digits.
fn record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3;
    let mut len = body + body.to_string().len();
    if len.to_string().len() != body.to_string().len() {
        len += 1;
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    assert_eq!(r.len(), len);
    r
}

/// A tar stream put together block by block.
#[derive(Default)]
struct Gen(Vec<u8>);

impl Gen {
    fn new() -> Gen {
        Gen::default()
    }

    /// A block as given.
    fn raw(mut self, block: [u8; 512]) -> Gen {
        self.0.extend_from_slice(&block);
        self
    }

    /// A header, its data and its padding.
    fn entry(mut self, kind: u8, name: &str, data: &[u8]) -> Gen {
        self = self.raw(header(kind, name.as_bytes(), data.len() as u64));
        self.0.extend_from_slice(data);
        self.0.resize(self.0.len().div_ceil(512) * 512, 0);
        self
    }

    fn file(self, name: &str, data: &[u8]) -> Gen {
        self.entry(b'0', name, data)
    }

    /// A PAX local (`x`) header of `records`.
    fn pax(self, records: &[(&str, &[u8])]) -> Gen {
        let body: Vec<u8> = records.iter().flat_map(|(k, v)| record(k, v)).collect();
        self.entry(b'x', "PaxHeaders/x", &body)
    }

    /// A PAX global (`g`) header of `records`.
    fn global(self, records: &[(&str, &[u8])]) -> Gen {
        let body: Vec<u8> = records.iter().flat_map(|(k, v)| record(k, v)).collect();
        self.entry(b'g', "GlobalHead", &body)
    }

    /// A GNU long name (`L`) or long link (`K`) of `value`, NUL-terminated.
    fn long(self, kind: u8, value: &str) -> Gen {
        let mut body = value.as_bytes().to_vec();
        body.push(0);
        self.entry(kind, "././@LongLink", &body)
    }

    /// The stream without end-of-archive blocks.
    fn bytes(self) -> Vec<u8> {
        self.0
    }

    /// The stream with its two zero blocks.
    fn end(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&[0u8; 1024]);
        self.0
    }
}

/// `prefix`, then zeros for ever; counts the bytes handed out.
struct Endless {
    prefix: Vec<u8>,
    given: Rc<Cell<u64>>,
}

impl Endless {
    fn new(prefix: Vec<u8>) -> (Endless, Rc<Cell<u64>>) {
        let given = Rc::new(Cell::new(0));
        let given2 = given.clone();
        (Endless { prefix, given }, given2)
    }
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let at = self.given.get() as usize;
        let n = buf.len().min(64 * 1024);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = self.prefix.get(at + i).copied().unwrap_or(0);
        }
        self.given.set(self.given.get() + n as u64);
        Ok(n)
    }
}

/// Entries with their data, and how the stream ended.
type ReadAll = (Vec<(EntryInfo, Vec<u8>)>, End);

/// Every entry with its data, and how the stream ended.
fn read_all(bytes: &[u8]) -> Result<ReadAll, TarError> {
    read_with(bytes, TarLimits::default())
}

fn read_with(bytes: &[u8], limits: TarLimits) -> Result<ReadAll, TarError> {
    let mut stream = TarStream::with_limits(bytes, limits);
    let mut out = Vec::new();
    while let Some(mut entry) = stream.next()? {
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(TarError::Io)?;
        out.push((entry.info.clone(), data));
    }
    let end = stream
        .end()
        .ok_or_else(|| TarError::Io(std::io::Error::other("no end")))?;
    Ok((out, end))
}

/// Names and data of the entries.
fn names(entries: &[(EntryInfo, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    entries
        .iter()
        .map(|(i, d)| (String::from_utf8_lossy(&i.path).into_owned(), d.clone()))
        .collect()
}
