//! Hostile sizes refused from the header alone, sparse entries, and the per-stream caps.

use super::*;
use crate::tar_stream::error::limit;

const HUGE: u64 = 16 << 30;

/// Read `prefix` followed by endless zeros: the error, and how many bytes were read.
fn refused(prefix: Vec<u8>) -> (TarError, u64) {
    let (input, given) = Endless::new(prefix);
    let mut stream = TarStream::new(input);
    let err = loop {
        match stream.next() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended"),
            Err(e) => break e,
        }
    };
    (err, given.get())
}

#[test]
fn a_16_gib_extension_header_is_refused_from_its_header_alone() {
    for (kind, what) in [
        (b'x', "PAX"),
        (b'g', "PAX global"),
        (b'L', "long name"),
        (b'K', "long link"),
    ] {
        let prefix = Gen::new()
            .file("before", b"ok")
            .raw(header(kind, b"././@LongLink", HUGE))
            .bytes();
        let len = prefix.len() as u64;
        let (err, read) = refused(prefix);
        match &err {
            TarError::Limit {
                limit,
                value,
                found,
                entry,
            } => {
                assert_eq!(*limit, limit::EXTENSION_SIZE, "{what}");
                assert_eq!((*value, *found), (1 << 20, HUGE), "{what}");
                assert_eq!(entry, "#1", "{what}");
            }
            e => panic!("{what}: {e}"),
        }
        // Reads come in 64 KiB pieces at most, and none was asked for past the header.
        assert!(
            read <= len,
            "{what}: read {read} bytes of a {len}-byte prefix"
        );
        assert_eq!(
            err.to_string(),
            "tar entry #1 reaches 17179869184, over the tar extension header size limit of 1048576",
            "{what}"
        );
    }
}

#[test]
fn a_gnu_sparse_entry_is_refused_before_its_map() {
    // Type S with the "extended" flag (more map blocks follow) and a huge real size.
    let mut h = tar::Header::new_gnu();
    h.set_path("sparse").unwrap();
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_size(HUGE);
    h.as_gnu_mut().unwrap().isextended[0] = 1;
    h.set_cksum();
    let prefix = Gen::new().raw(*h.as_bytes()).bytes();
    let (err, read) = refused(prefix);
    assert!(
        matches!(&err, TarError::Sparse { entry } if entry == "\"sparse\""),
        "{err}"
    );
    assert!(read <= 512, "read {read}");
}

#[test]
fn a_pax_sparse_entry_is_refused_before_its_map() {
    // PAX 1.0 sparse: the map is at the start of the data, which is never read.
    let prefix = Gen::new()
        .pax(&[
            ("GNU.sparse.major", b"1"),
            ("GNU.sparse.minor", b"0"),
            ("GNU.sparse.name", b"big"),
            ("GNU.sparse.realsize", b"17179869184"),
        ])
        .raw(header(b'0', b"GNUSparseFile.0/big", HUGE))
        .bytes();
    let len = prefix.len() as u64;
    let (err, read) = refused(prefix);
    assert!(matches!(err, TarError::Sparse { .. }), "{err}");
    assert!(read <= len, "read {read}");
}

#[test]
fn entries_past_the_cap_are_refused_naming_the_entry() {
    let bytes = Gen::new()
        .file("1", b"")
        .file("2", b"")
        .file("3", b"")
        .end();
    let limits = TarLimits {
        max_entries: 2,
        ..TarLimits::default()
    };
    let err = read_with(&bytes, limits).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tar entry \"3\" reaches 3, over the tar entry count limit of 2"
    );
    let limits = TarLimits {
        max_entries: 3,
        ..TarLimits::default()
    };
    assert_eq!(read_with(&bytes, limits).unwrap().0.len(), 3);
}

#[test]
fn extension_bytes_past_the_cap_are_refused() {
    // Global headers yield no entry: only the stream-wide cap stops them.
    let mut gen = Gen::new();
    for i in 0..100 {
        gen = gen.global(&[("comment", format!("{i:0>400}").as_bytes())]);
    }
    let bytes = gen.file("f", b"").end();
    let limits = TarLimits {
        max_extension_bytes: 50 * 1024,
        ..TarLimits::default()
    };
    match read_with(&bytes, limits).unwrap_err() {
        TarError::Limit {
            limit,
            value,
            entry,
            ..
        } => {
            assert_eq!((limit, value), (limit::EXTENSION_BYTES, 50 * 1024));
            assert_eq!(entry, "#0");
        }
        e => panic!("{e}"),
    }
    assert_eq!(
        read_all(&bytes).unwrap().0.len(),
        1,
        "within the default cap"
    );
}

#[test]
fn a_limit_reads_as_limit_exceeded() {
    let err = TarError::Limit {
        limit: limit::EXTENSION_SIZE,
        value: 1 << 20,
        found: HUGE,
        entry: "#0".into(),
    };
    let rt = err.into_runtime("layer sha256:ab".into(), |m| {
        crate::RuntimeError::BadImage {
            reference: "r".into(),
            reason: m,
        }
    });
    assert_eq!(rt.kind(), crate::ErrorKind::LimitExceeded);
    assert!(rt.to_string().contains(limit::EXTENSION_SIZE), "{rt}");
    let cut = TarError::Cut {
        entry: "#0".into(),
        part: "its data",
    };
    let rt = cut.into_runtime("x".into(), |m| crate::RuntimeError::BadImage {
        reference: "r".into(),
        reason: m,
    });
    assert_eq!(rt.kind(), crate::ErrorKind::Integrity);
}
