//! PAX extended header records (`LEN KEY=VALUE\n`), and the keys Warren uses from them.

/// What a PAX header (`x`) says about the entry that follows it. Empty values set nothing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Pax {
    pub path: Option<Vec<u8>>,
    pub linkpath: Option<Vec<u8>>,
    pub size: Option<u64>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    pub uname: Option<Vec<u8>>,
    pub gname: Option<Vec<u8>>,
    /// Whole seconds of `mtime`, `atime` and `ctime`.
    pub mtime: Option<i64>,
    pub atime: Option<i64>,
    pub ctime: Option<i64>,
    /// `SCHILY.xattr.NAME` records in order, then `LIBARCHIVE.xattr.NAME` ones (base64
    /// values, URL-encoded names) for names the former do not give.
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// A `GNU.sparse.*` record was seen.
    pub sparse: bool,
}

/// Parse the records of a PAX header body. Trailing NUL bytes are ignored.
pub(super) fn parse(body: &[u8]) -> Result<Pax, String> {
    let mut pax = Pax::default();
    let mut libarchive = Vec::new();
    let end = body.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let mut rest = &body[..end];
    while !rest.is_empty() {
        let (key, value, tail) = record(rest)?;
        rest = tail;
        apply(&mut pax, &mut libarchive, key, value)?;
    }
    for (name, value) in libarchive {
        if !pax.xattrs.iter().any(|(n, _)| *n == name) {
            pax.xattrs.push((name, value));
        }
    }
    Ok(pax)
}

/// A record's key and value, and the bytes after it.
type Record<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// One record at the start of `bytes`: its key, its value and what follows it.
fn record(bytes: &[u8]) -> Result<Record<'_>, String> {
    let bad = |why: &str| format!("a PAX record {why}");
    let space = bytes
        .iter()
        .position(|b| *b == b' ')
        .ok_or_else(|| bad("has no length"))?;
    let digits = &bytes[..space];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad("has no valid length"));
    }
    let len: usize = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| bad("has no valid length"))?;
    if len <= space + 1 || len > bytes.len() {
        return Err(bad("has a length that does not fit"));
    }
    let (rec, tail) = bytes.split_at(len);
    let kv = rec[space + 1..]
        .strip_suffix(b"\n")
        .ok_or_else(|| bad("does not end with a newline"))?;
    let eq = kv
        .iter()
        .position(|b| *b == b'=')
        .ok_or_else(|| bad("has no `=`"))?;
    let (key, value) = (&kv[..eq], &kv[eq + 1..]);
    if key.is_empty() || key.contains(&0) {
        return Err(bad("has an empty key or a NUL in its key"));
    }
    Ok((key, value, tail))
}

fn apply(
    pax: &mut Pax,
    libarchive: &mut Vec<(String, Vec<u8>)>,
    key: &[u8],
    value: &[u8],
) -> Result<(), String> {
    let text = |v: &[u8]| -> Result<Option<Vec<u8>>, String> {
        if v.contains(&0) {
            return Err("a PAX name or path holds a NUL byte".into());
        }
        Ok((!v.is_empty()).then(|| v.to_vec()))
    };
    let number = |v: &[u8]| std::str::from_utf8(v).ok().and_then(|s| s.parse().ok());
    match key {
        b"path" => pax.path = text(value)?,
        b"linkpath" => pax.linkpath = text(value)?,
        b"uname" => pax.uname = text(value)?,
        b"gname" => pax.gname = text(value)?,
        // The size frames the stream: one that cannot be read is an error.
        b"size" if !value.is_empty() => {
            pax.size = Some(number(value).ok_or("a PAX size is not a number")?);
        }
        // Owners and times the header gives already: a broken record keeps those.
        b"uid" => pax.uid = number(value).or(pax.uid),
        b"gid" => pax.gid = number(value).or(pax.gid),
        b"mtime" => pax.mtime = seconds(value).or(pax.mtime),
        b"atime" => pax.atime = seconds(value).or(pax.atime),
        b"ctime" => pax.ctime = seconds(value).or(pax.ctime),
        _ => {
            if key.starts_with(b"GNU.sparse.") {
                pax.sparse = true;
            } else if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                if let Ok(name) = std::str::from_utf8(name) {
                    if !name.is_empty() {
                        pax.xattrs.retain(|(n, _)| n != name);
                        pax.xattrs.push((name.to_string(), value.to_vec()));
                    }
                }
            } else if let Some(name) = key.strip_prefix(b"LIBARCHIVE.xattr.") {
                let name = percent_decode(name).and_then(|n| String::from_utf8(n).ok());
                if let (Some(name), Some(value)) = (name, base64(value)) {
                    if !name.is_empty() {
                        libarchive.retain(|(n, _)| *n != name);
                        libarchive.push((name, value));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The whole seconds of a PAX time (`1600000000.25` → 1600000000).
fn seconds(value: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(value).ok()?;
    text.split('.').next()?.parse().ok()
}

/// `%XX` escapes decoded (libarchive's encoding of xattr names).
fn percent_decode(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Standard base64, `=` padding optional; `None` if it is not base64.
fn base64(text: &[u8]) -> Option<Vec<u8>> {
    let digit = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let trimmed = text.strip_suffix(b"==").or(text.strip_suffix(b"="));
    let text = trimmed.unwrap_or(text);
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= digit(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_percent_names_decode() {
        assert_eq!(base64(b"a2VwdA==").as_deref(), Some(&b"kept"[..]));
        assert_eq!(base64(b"a2VwdA").as_deref(), Some(&b"kept"[..]));
        assert_eq!(base64(b"AAEC").as_deref(), Some(&[0u8, 1, 2][..]));
        assert_eq!(base64(b"a!=="), None);
        assert_eq!(
            percent_decode(b"user.a%3Db").as_deref(),
            Some(&b"user.a=b"[..])
        );
    }

    #[test]
    fn records_are_checked() {
        assert!(parse(b"12 path=abc\n").is_ok());
        for bad in [
            &b"13 path=abc\n"[..],
            b"x path=a\n",
            b"9 path=a\n\n",
            b"7 =abc\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let p = parse(b"10 size=7\n14 mtime=-5.5\n\0\0").unwrap();
        assert_eq!((p.size, p.mtime), (Some(7), Some(-5)));
    }
}
