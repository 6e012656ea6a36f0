//! What PAX records and GNU long names and links change in an entry.

use super::*;

#[test]
fn pax_records_override_the_header() {
    let long = format!("{}/file", "dir".repeat(60));
    let target = format!("{}/target", "t".repeat(200));
    let bytes = Gen::new()
        .pax(&[
            ("path", long.as_bytes()),
            ("linkpath", target.as_bytes()),
            ("size", b"3"),
            ("uid", b"70000"),
            ("gid", b"80000"),
            ("uname", b"someone"),
            ("gname", b"staff"),
            ("mtime", b"1700000000.123456789"),
            ("atime", b"1700000001.5"),
            ("ctime", b"1700000002"),
            ("SCHILY.xattr.user.note", b"kept"),
            ("SCHILY.xattr.security.capability", b"\x01\x00\x00\x02"),
            ("comment", b"ignored"),
        ])
        // The header says 0 bytes; PAX says 3.
        .raw(header(b'0', b"short", 0))
        .bytes();
    let mut bytes = bytes;
    bytes.extend_from_slice(b"abc");
    bytes.resize(bytes.len().div_ceil(512) * 512, 0);
    bytes.extend_from_slice(&Gen::new().file("next", b"n").end());
    let (entries, end) = read_all(&bytes).unwrap();
    assert_eq!(end, End::Marker);
    let (info, data) = &entries[0];
    assert_eq!(info.path(), std::path::Path::new(&long));
    assert_eq!(info.link.as_deref(), Some(target.as_bytes()));
    assert_eq!((info.size, data.as_slice()), (3, &b"abc"[..]));
    assert_eq!((info.uid, info.gid), (70000, 80000));
    assert_eq!(
        (&info.uname[..], &info.gname[..]),
        (&b"someone"[..], &b"staff"[..])
    );
    assert_eq!(
        (info.mtime, info.atime, info.ctime),
        (1_700_000_000, Some(1_700_000_001), Some(1_700_000_002))
    );
    assert_eq!(
        info.xattrs,
        [
            ("user.note".to_string(), b"kept".to_vec()),
            (
                "security.capability".to_string(),
                b"\x01\x00\x00\x02".to_vec()
            )
        ]
    );
    // PAX records apply to one entry only.
    let (next, data) = &entries[1];
    assert_eq!(
        (next.path.as_slice(), data.as_slice()),
        (&b"next"[..], &b"n"[..])
    );
    assert_eq!(
        (next.uid, next.mtime, next.xattrs.len()),
        (0, MTIME as i64, 0)
    );
}

#[test]
fn libarchive_xattrs_are_decoded_and_schily_ones_win() {
    let bytes = Gen::new()
        .pax(&[
            ("LIBARCHIVE.xattr.user.a%3Db", b"a2VwdA"),
            ("LIBARCHIVE.xattr.user.both", b"bGli"),
            ("SCHILY.xattr.user.both", b"schily"),
        ])
        .file("f", b"")
        .end();
    let (entries, _) = read_all(&bytes).unwrap();
    assert_eq!(
        entries[0].0.xattrs,
        [
            ("user.both".to_string(), b"schily".to_vec()),
            ("user.a=b".to_string(), b"kept".to_vec())
        ]
    );
}

#[test]
fn gnu_long_names_and_links_apply_to_the_next_entry() {
    let name = "n".repeat(300);
    let link = "l".repeat(250);
    let bytes = Gen::new()
        .long(b'L', &name)
        .long(b'K', &link)
        .entry(b'2', "short", b"")
        .file("plain", b"p")
        .end();
    let (entries, _) = read_all(&bytes).unwrap();
    assert_eq!(entries[0].0.path, name.as_bytes());
    assert_eq!(entries[0].0.link.as_deref(), Some(link.as_bytes()));
    assert_eq!(entries[0].0.kind, tar::EntryType::Symlink);
    assert_eq!(entries[1].0.path, b"plain");
    assert_eq!(entries[1].0.link, None);
}

#[test]
fn the_last_extension_of_a_kind_wins_and_global_headers_change_nothing() {
    let bytes = Gen::new()
        .global(&[("path", b"global"), ("uid", b"5")])
        .pax(&[("path", b"first")])
        .pax(&[("path", b"second")])
        .file("header", b"")
        .end();
    let (entries, _) = read_all(&bytes).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].0.path.as_slice(), entries[0].0.uid),
        (&b"second"[..], 0)
    );
}

#[test]
fn names_use_the_ustar_prefix_and_old_directories_their_slash() {
    let mut h = tar::Header::new_ustar();
    let long = format!("{}/{}", "p".repeat(120), "name");
    h.set_path(&long).unwrap();
    h.set_size(0);
    h.set_cksum();
    let old_dir = header(0, b"olddir/", 0);
    let bytes = Gen::new().raw(*h.as_bytes()).raw(old_dir).end();
    let (entries, _) = read_all(&bytes).unwrap();
    assert_eq!(entries[0].0.path, long.as_bytes());
    assert_eq!(entries[1].0.kind, tar::EntryType::Directory);
}

#[test]
fn broken_pax_records_are_header_errors() {
    let bytes = Gen::new()
        .entry(b'x', "PaxHeaders/x", b"99 path=x\n")
        .file("f", b"")
        .end();
    assert!(matches!(
        read_all(&bytes).unwrap_err(),
        TarError::Header { .. }
    ));
    let bytes = Gen::new().pax(&[("size", b"lots")]).file("f", b"").end();
    assert!(matches!(
        read_all(&bytes).unwrap_err(),
        TarError::Header { .. }
    ));
}
