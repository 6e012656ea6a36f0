//! The applier over the bounded tar reader: streams that end early but cleanly, long names
//! from PAX and GNU headers, limits, and overlayfs attributes a layer must not set.

use super::*;

/// A stream ending right after its last entry's data: no padding, no end-of-archive blocks.
fn unterminated(layer: Vec<u8>, last_data_len: usize) -> Vec<u8> {
    let mut bytes = layer;
    while bytes.ends_with(&[0u8; 512]) {
        bytes.truncate(bytes.len() - 512);
    }
    bytes.truncate(bytes.len() - (512 - last_data_len % 512) % 512);
    bytes
}

#[test]
fn a_layer_ending_right_after_its_last_entrys_data_applies() {
    if !root() {
        return;
    }
    let layer = Layer::new()
        .dir("etc/", 0o755)
        .file("etc/last", 0o644, b"no padding after me")
        .bytes();
    let layer = unterminated(layer, b"no padding after me".len());
    assert_eq!(layer.len() % 512, b"no padding after me".len());
    let tmp = tempfile::tempdir().unwrap();
    let applied = apply_layer(tmp.path(), &[], layer.as_slice()).unwrap();
    assert_eq!(applied.entries, 2);
    assert_eq!(
        std::fs::read(tmp.path().join("etc/last")).unwrap(),
        b"no padding after me"
    );
}

#[test]
fn long_names_and_links_from_pax_and_gnu_headers_apply() {
    if !root() {
        return;
    }
    let deep = format!("{}/file", "d".repeat(150));
    let mut builder = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    builder
        .append_data(&mut h, format!("{}/", "d".repeat(150)), &b""[..])
        .unwrap();
    // A GNU long name (the tar crate writes `L` for names over 100 bytes).
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(4);
    builder.append_data(&mut h, &deep, &b"deep"[..]).unwrap();
    // A PAX path and linkpath.
    let target = format!("/{}", "t".repeat(200));
    builder
        .append_pax_extensions([
            ("path", b"pax-link".as_slice()),
            ("linkpath", target.as_bytes()),
        ])
        .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_path("short").unwrap();
    h.set_size(0);
    h.set_cksum();
    builder.append(&h, &b""[..]).unwrap();
    let layer = builder.into_inner().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    apply_layer(tmp.path(), &[], layer.as_slice()).unwrap();
    assert_eq!(std::fs::read(tmp.path().join(&deep)).unwrap(), b"deep");
    assert_eq!(
        std::fs::read_link(tmp.path().join("pax-link")).unwrap(),
        Path::new(&target)
    );
    assert!(!tmp.path().join("short").exists());
}

#[test]
fn overlay_attributes_of_a_layer_are_dropped() {
    if !root() {
        return;
    }
    let layer = Layer::new()
        .dir("d/", 0o755)
        .xattrs(&[
            ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
            ("SCHILY.xattr.user.overlay.redirect", b"/elsewhere"),
            ("SCHILY.xattr.trusted.overlay.origin", b"x"),
            ("SCHILY.xattr.user.kept", b"yes"),
        ])
        .dir("e/", 0o755)
        .bytes();
    let tmp = tempfile::tempdir().unwrap();
    apply_layer(tmp.path(), &[], layer.as_slice()).unwrap();
    let e = tmp.path().join("e");
    assert_eq!(xattr(&e, "user.kept").as_deref(), Some(&b"yes"[..]));
    for key in [
        "trusted.overlay.opaque",
        "user.overlay.redirect",
        "trusted.overlay.origin",
    ] {
        assert_eq!(xattr(&e, key), None, "{key}");
    }
    // The opaque marker of a whiteout entry is still set: it is Warren's, not the layer's.
    let layer = Layer::new()
        .dir("o/", 0o755)
        .file("o/.wh..wh..opq", 0o644, b"")
        .bytes();
    let tmp = tempfile::tempdir().unwrap();
    apply_layer(tmp.path(), &[], layer.as_slice()).unwrap();
    let opaque = xattr(&tmp.path().join("o"), "trusted.overlay.opaque");
    assert_eq!(opaque.as_deref(), Some(&b"y"[..]));
}

#[test]
fn a_huge_extension_header_is_a_limit_error() {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_path("PaxHeaders/x").unwrap();
    h.set_size(16 << 30);
    h.set_cksum();
    // The header, then what would be its body: not read.
    let mut layer = h.as_bytes().to_vec();
    layer.extend_from_slice(&[b'9'; 4096]);
    let tmp = tempfile::tempdir().unwrap();
    let err = apply_layer(tmp.path(), &[], layer.as_slice()).unwrap_err();
    match &err {
        ApplyError::Limit {
            limit,
            value,
            found,
            entry,
        } => {
            assert_eq!(*limit, crate::tar_stream::error::limit::EXTENSION_SIZE);
            assert_eq!((*value, *found, entry.as_str()), (1 << 20, 16 << 30, "#0"));
        }
        e => panic!("{e}"),
    }
    let bad = local::BadLayer::from(err).into_error("r".into(), "sha256:ab");
    assert_eq!(bad.kind(), crate::ErrorKind::LimitExceeded, "{bad}");
    assert!(
        bad.to_string().contains("tar extension header size limit"),
        "{bad}"
    );
}

#[test]
fn a_sparse_entry_is_refused() {
    let mut h = tar::Header::new_gnu();
    h.set_path("holes").unwrap();
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_size(1 << 40);
    h.set_cksum();
    let tmp = tempfile::tempdir().unwrap();
    let err = apply_layer(tmp.path(), &[], &h.as_bytes()[..]).unwrap_err();
    assert!(
        err.to_string().contains("sparse files are not supported"),
        "{err}"
    );
}
