//! Where a stream may end (as Go's archive/tar), where it may not, and broken headers.

use std::io::Read;

use super::*;

fn two_files() -> Gen {
    Gen::new().file("a", b"first").file("b", &[7u8; 700])
}

fn want() -> Vec<(String, Vec<u8>)> {
    vec![
        ("a".into(), b"first".to_vec()),
        ("b".into(), vec![7u8; 700]),
    ]
}

#[test]
fn a_stream_may_end_right_after_the_last_entrys_data() {
    let mut bytes = two_files().bytes();
    bytes.truncate(bytes.len() - (1024 - 700));
    let (entries, end) = read_all(&bytes).unwrap();
    assert_eq!((names(&entries), end), (want(), End::Eof));
}

#[test]
fn a_stream_may_end_in_or_after_the_padding() {
    let bytes = two_files().bytes();
    for cut in [0, 1, 100] {
        let (entries, end) = read_all(&bytes[..bytes.len() - cut]).unwrap();
        assert_eq!((names(&entries), end), (want(), End::Eof), "{cut}");
    }
}

#[test]
fn one_zero_block_or_the_full_marker_ends_it_and_the_rest_is_not_read() {
    let mut one = two_files().bytes();
    one.extend_from_slice(&[0u8; 512]);
    let (entries, end) = read_all(&one).unwrap();
    assert_eq!((names(&entries), end), (want(), End::OneZeroBlock));

    let mut full = two_files().end();
    let marker_end = full.len();
    full.extend_from_slice(b"anything after the marker");
    let mut input = full.as_slice();
    let mut stream = TarStream::new(&mut input);
    while stream.next().unwrap().is_some() {}
    assert_eq!(stream.end(), Some(End::Marker));
    assert_eq!(input.len(), full.len() - marker_end, "nothing read past it");
}

#[test]
fn a_stream_cut_inside_a_header_is_an_error() {
    let bytes = two_files().bytes();
    let err = read_all(&bytes[..1024 + 100]).unwrap_err();
    assert!(
        matches!(&err, TarError::Cut { entry, part: "its header" } if entry == "#1"),
        "{err}"
    );
}

#[test]
fn a_stream_cut_inside_data_is_an_error_whether_read_or_skipped() {
    let bytes = two_files().bytes();
    let cut = &bytes[..1024 + 512 + 300];
    let err = read_all(cut).unwrap_err().to_string();
    assert_eq!(
        err,
        "reading the tar stream: the tar stream is cut inside entry \"b\" (its data)"
    );
    // Skipped by next() rather than read.
    let mut stream = TarStream::new(cut);
    while let Some(e) = stream.next().transpose() {
        if let Err(e) = e {
            assert!(
                matches!(
                    e,
                    TarError::Cut {
                        part: "its data",
                        ..
                    }
                ),
                "{e}"
            );
            return;
        }
    }
    panic!("no error");
}

#[test]
fn a_stream_cut_inside_an_extension_is_an_error() {
    let long = "d/".repeat(300);
    let bytes = Gen::new()
        .pax(&[("path", long.as_bytes())])
        .file("x", b"1")
        .bytes();
    let err = read_all(&bytes[..512 + 200]).unwrap_err();
    assert!(
        matches!(
            err,
            TarError::Cut {
                part: "its extension header",
                ..
            }
        ),
        "{err}"
    );
    let bytes = Gen::new().long(b'L', &long).file("x", b"1").bytes();
    let err = read_all(&bytes[..512 + 10]).unwrap_err();
    assert!(matches!(err, TarError::Cut { .. }), "{err}");
}

#[test]
fn a_wrong_checksum_is_an_error() {
    let mut bytes = two_files().end();
    bytes[512 * 2 + 10] ^= 1; // the name of the second header
    let err = read_all(&bytes).unwrap_err();
    assert!(
        matches!(&err, TarError::Header { reason, .. } if reason.contains("checksum")),
        "{err}"
    );
    // Not a tar at all.
    let err = read_all(&[b'x'; 2048]).unwrap_err();
    assert!(matches!(err, TarError::Header { .. }), "{err}");
}

#[test]
fn a_zero_block_followed_by_a_header_is_an_error() {
    let mut bytes = Gen::new().file("a", b"1").bytes();
    bytes.extend_from_slice(&[0u8; 512]);
    bytes.extend_from_slice(&Gen::new().file("b", b"2").bytes());
    assert!(matches!(
        read_all(&bytes).unwrap_err(),
        TarError::Header { .. }
    ));
}

#[test]
fn unread_data_is_skipped_and_reads_stop_at_the_entrys_size() {
    let bytes = Gen::new()
        .file("big", &[1u8; 5000])
        .file("small", b"tail")
        .end();
    let mut stream = TarStream::new(bytes.as_slice());
    let mut first = stream.next().unwrap().unwrap();
    let mut some = [0u8; 10];
    first.read_exact(&mut some).unwrap();
    assert_eq!((first.info.size, some), (5000, [1u8; 10]));
    let mut second = stream.next().unwrap().unwrap();
    assert_eq!(second.info.path, b"small");
    let mut all = Vec::new();
    second.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"tail");
    assert!(stream.next().unwrap().is_none());
}

#[test]
fn links_directories_and_devices_have_no_data_whatever_their_size_says() {
    // As in Go's archive/tar: a symlink header declaring 600 bytes is followed directly
    // by the next header.
    let mut sym = header(b'2', b"ln", 600);
    sym[157..160].copy_from_slice(b"abc");
    let mut h = tar::Header::from_byte_slice(&sym).clone();
    h.set_cksum();
    let bytes = Gen::new().raw(*h.as_bytes()).file("after", b"x").end();
    let (entries, _) = read_all(&bytes).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].0.size, 0);
    assert_eq!(entries[0].0.link.as_deref(), Some(&b"abc"[..]));
    assert_eq!(names(&entries)[1], ("after".into(), b"x".to_vec()));
}
