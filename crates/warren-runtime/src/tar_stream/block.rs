//! 512-byte blocks: reading them whole, skipping bytes, and checking a header's checksum.

use std::io::{ErrorKind, Read};

/// The size of a tar block: headers are one block, data is padded to whole blocks.
pub(super) const BLOCK: usize = 512;

/// How far a read of a whole block (or any buffer) got.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Fill {
    /// Every byte.
    Full,
    /// Some bytes, then the end of the input.
    Partial,
    /// Nothing: the input was at its end.
    Empty,
}

/// Fill `buf` from `input`, stopping early only at the input's end.
pub(super) fn fill(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<Fill> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(if got == buf.len() {
        Fill::Full
    } else if got == 0 {
        Fill::Empty
    } else {
        Fill::Partial
    })
}

/// Read and drop `n` bytes; returns how many there were before the input's end.
pub(super) fn skip(input: &mut impl Read, n: u64) -> std::io::Result<u64> {
    let mut scratch = [0u8; 8192];
    let mut done = 0u64;
    while done < n {
        let want = (n - done).min(scratch.len() as u64) as usize;
        match input.read(&mut scratch[..want]) {
            Ok(0) => break,
            Ok(k) => done += k as u64,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// The bytes of padding that follow `size` bytes of data.
pub(super) fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// Whether every byte of the block is zero (an end-of-archive block).
pub(super) fn is_zero(block: &[u8; BLOCK]) -> bool {
    block.iter().all(|b| *b == 0)
}

/// Where the checksum field is: 8 bytes, counted as spaces in the sum.
const CHECKSUM: std::ops::Range<usize> = 148..156;

/// Whether the block's checksum field holds the sum of its bytes (the field itself counted
/// as spaces), as unsigned bytes or, as some old writers did, as signed ones.
pub(super) fn checksum_ok(block: &[u8; BLOCK]) -> Result<(), String> {
    let stored = parse_octal(&block[CHECKSUM])
        .ok_or_else(|| "its checksum field is not an octal number".to_string())?;
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, b) in block.iter().enumerate() {
        let b = if CHECKSUM.contains(&i) { b' ' } else { *b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    if stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed) {
        Ok(())
    } else {
        Err(format!(
            "checksum mismatch (the header says {stored:o}, its bytes sum to {unsigned:o})"
        ))
    }
}

/// An octal field: optional leading spaces, digits, then NULs or spaces to the end.
fn parse_octal(field: &[u8]) -> Option<u64> {
    let start = field.iter().position(|b| *b != b' ')?;
    let rest = &field[start..];
    let end = rest
        .iter()
        .position(|b| *b == 0 || *b == b' ')
        .unwrap_or(rest.len());
    if end == 0 || rest[end..].iter().any(|b| *b != 0 && *b != b' ') {
        return None;
    }
    rest[..end].iter().try_fold(0u64, |acc, b| match b {
        b'0'..=b'7' => acc.checked_mul(8)?.checked_add(u64::from(b - b'0')),
        _ => None,
    })
}

/// A numeric header field as Go's archive/tar reads it: base-256 when its first byte has
/// the high bit set (non-negative only), else octal with leading and trailing spaces and
/// NULs ignored (an empty field is 0).
pub(super) fn numeric(field: &[u8]) -> Result<u64, String> {
    if let Some(first) = field.first().filter(|b| **b & 0x80 != 0) {
        if first & 0x40 != 0 {
            return Err("a negative base-256 number".into());
        }
        let mut acc = u64::from(first & 0x3f);
        for b in &field[1..] {
            acc = acc
                .checked_mul(256)
                .and_then(|a| a.checked_add(u64::from(*b)))
                .ok_or("a base-256 number too large")?;
        }
        return Ok(acc);
    }
    let pad = |b: &u8| *b == 0 || *b == b' ';
    let start = field.iter().position(|b| !pad(b)).unwrap_or(field.len());
    let end = field.iter().rposition(|b| !pad(b)).map_or(start, |i| i + 1);
    field[start..end].iter().try_fold(0u64, |acc, b| match b {
        b'0'..=b'7' => acc
            .checked_mul(8)
            .and_then(|a| a.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| "an octal number too large".to_string()),
        _ => Err(format!(
            "{:?} is not an octal number",
            String::from_utf8_lossy(field)
        )),
    })
}

/// The bytes of a NUL-terminated field (or record body) up to its first NUL.
pub(super) fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}
