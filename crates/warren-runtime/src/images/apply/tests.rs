//! The applier against real overlayfs: two layers applied to two upper directories, then
//! mounted together and read back. Root only (owners, device nodes, trusted xattrs).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::*;

const MTIME: u64 = 1_600_000_000;

/// A tar stream built entry by entry; names and link targets are written as given (no
/// checks), so hostile layers can be made too.
struct Layer(tar::Builder<Vec<u8>>);

impl Layer {
    fn new() -> Layer {
        Layer(tar::Builder::new(Vec::new()))
    }

    fn header(ty: tar::EntryType, name: &str, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(ty);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(MTIME);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    fn add(mut self, mut h: tar::Header, data: &[u8]) -> Layer {
        h.set_cksum();
        self.0.append(&h, data).unwrap();
        self
    }

    fn dir(self, name: &str, mode: u32) -> Layer {
        self.add(Self::header(tar::EntryType::Directory, name, mode, 0), b"")
    }

    fn file(self, name: &str, mode: u32, data: &[u8]) -> Layer {
        let h = Self::header(tar::EntryType::Regular, name, mode, data.len() as u64);
        self.add(h, data)
    }

    fn owned(self, name: &str, uid: u64, gid: u64) -> Layer {
        let mut h = Self::header(tar::EntryType::Regular, name, 0o640, 2);
        h.set_uid(uid);
        h.set_gid(gid);
        self.add(h, b"ok")
    }

    fn link(self, ty: tar::EntryType, name: &str, target: &str) -> Layer {
        // A hard link's header carries its file's mode, as tar writers do.
        let mode = if ty == tar::EntryType::Link {
            0o4755
        } else {
            0o777
        };
        let mut h = Self::header(ty, name, mode, 0);
        h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        self.add(h, b"")
    }

    fn node(self, ty: tar::EntryType, name: &str, major: u32, minor: u32) -> Layer {
        let mut h = Self::header(ty, name, 0o666, 0);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.add(h, b"")
    }

    fn xattrs(mut self, records: &[(&str, &[u8])]) -> Layer {
        self.0
            .append_pax_extensions(records.iter().copied())
            .unwrap();
        self
    }

    fn bytes(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

fn root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    println!("SKIPPED: needs root (owners, device nodes, trusted xattrs)");
    false
}

/// `security.capability` v2 granting CAP_NET_BIND_SERVICE, permitted and effective.
fn net_bind_capability() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0x0200_0001u32.to_le_bytes());
    v.extend_from_slice(&(1u32 << 10).to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v
}

fn lower_layer() -> Vec<u8> {
    use tar::EntryType as T;
    Layer::new()
        .dir("etc/", 0o750)
        .file("etc/passwd", 0o644, b"root:x:0:0::/root:/bin/sh\n")
        .dir("bin/", 0o755)
        .file("bin/tool", 0o4755, b"#!/bin/sh\n")
        .link(T::Link, "bin/tool2", "bin/tool")
        .link(T::Link, "bin/tool3", "/bin/tool")
        .dir("tmp/", 0o1777)
        .file("secret", 0o000, b"hidden")
        .owned("owned", 1000, 1001)
        .link(T::Symlink, "abs", "/etc/passwd")
        .link(T::Symlink, "rel", "etc/passwd")
        .link(T::Symlink, "dirlink", "etc")
        .link(T::Symlink, "dirlink2", "etc")
        .node(T::Fifo, "pipe", 0, 0)
        .node(T::Char, "null", 1, 3)
        .dir("dir_a/", 0o755)
        .file("dir_a/x", 0o644, b"x")
        .file("dir_a/y", 0o644, b"y")
        .xattrs(&[
            ("SCHILY.xattr.user.note", b"kept"),
            ("SCHILY.xattr.security.capability", &net_bind_capability()),
        ])
        .file("bin/ping", 0o755, b"ping")
        .bytes()
}

fn upper_layer() -> Vec<u8> {
    use tar::EntryType as T;
    Layer::new()
        .file(".wh.secret", 0o644, b"")
        .dir("dir_a/", 0o755)
        .file("dir_a/.wh..wh..opq", 0o644, b"")
        .file("dir_a/z", 0o644, b"z")
        .file("etc/hostname", 0o644, b"box\n")
        .file("etc/passwd", 0o644, b"new\n")
        .dir("dirlink/", 0o700)
        .file("dirlink/f", 0o644, b"f")
        .file("dirlink2", 0o600, b"now a file")
        .link(T::Symlink, "abs", "/bin/tool")
        .bytes()
}

struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn two_layers_read_back_through_overlayfs_as_the_layers_say() {
    if !root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (l1, l2, merged) = (
        tmp.path().join("l1"),
        tmp.path().join("l2"),
        tmp.path().join("m"),
    );
    for d in [&l1, &l2, &merged] {
        std::fs::create_dir(d).unwrap();
    }
    let a1 = apply_layer(&l1, &[], lower_layer().as_slice()).unwrap();
    assert_eq!(a1.entries, 19);
    let a2 = apply_layer(&l2, std::slice::from_ref(&l1), upper_layer().as_slice()).unwrap();
    assert_eq!(a2.entries, 10);

    // The upper directory as containerd's overlay applier leaves it.
    let wh = std::fs::symlink_metadata(l2.join("secret")).unwrap();
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "whiteout"
    );
    assert!(!l2.join(".wh.secret").exists());
    let opaque = xattr(&l2.join("dir_a"), "trusted.overlay.opaque");
    assert_eq!(opaque.as_deref(), Some(&b"y"[..]));
    // A missing parent copies the lower's directory (its mtime then changes with what is
    // created in it, as with containerd).
    let etc = std::fs::metadata(l2.join("etc")).unwrap();
    assert_eq!(etc.mode() & 0o7777, 0o750);

    let opts = format!("lowerdir={}:{}", l2.display(), l1.display());
    nix::mount::mount(
        Some("overlay"),
        &merged,
        Some("overlay"),
        nix::mount::MsFlags::MS_RDONLY,
        Some(opts.as_str()),
    )
    .unwrap();
    let _guard = Mounted(merged.clone());
    let m = |p: &str| merged.join(p);
    let meta = |p: &str| std::fs::symlink_metadata(m(p)).unwrap();

    assert!(!m("secret").exists(), "whited out");
    let hidden = std::fs::symlink_metadata(l1.join("secret")).unwrap();
    assert_eq!(hidden.mode() & 0o7777, 0, "mode 000 in the lower layer");
    let mut names: Vec<String> = std::fs::read_dir(m("dir_a"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["z"], "opaque directory");
    assert_eq!(std::fs::read_to_string(m("etc/passwd")).unwrap(), "new\n");
    assert_eq!(std::fs::read_to_string(m("etc/hostname")).unwrap(), "box\n");
    assert!(meta("dirlink").is_dir() && m("dirlink/f").is_file());
    assert_eq!(std::fs::read(m("dirlink2")).unwrap(), b"now a file");
    assert_eq!(
        std::fs::read_link(m("abs")).unwrap(),
        Path::new("/bin/tool")
    );
    assert_eq!(
        std::fs::read_link(m("rel")).unwrap(),
        Path::new("etc/passwd")
    );

    // Modes, owners, times, links, nodes, xattrs from the lower layer.
    assert_eq!(
        meta("bin/tool").mode() & 0o7777,
        0o4755,
        "setuid kept after chown"
    );
    assert_eq!(meta("tmp").mode() & 0o7777, 0o1777);
    let owned = meta("owned");
    assert_eq!(
        (owned.uid(), owned.gid(), owned.mode() & 0o777),
        (1000, 1001, 0o640)
    );
    let (t1, t2, t3) = (meta("bin/tool"), meta("bin/tool2"), meta("bin/tool3"));
    assert_eq!((t1.ino(), t1.nlink()), (t2.ino(), 3));
    assert_eq!(t1.ino(), t3.ino());
    assert_eq!(t1.mtime(), MTIME as i64);
    assert!(meta("pipe").file_type().is_fifo());
    let null = meta("null");
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), nix::sys::stat::makedev(1, 3));
    assert_eq!(
        xattr(&m("bin/ping"), "user.note").as_deref(),
        Some(&b"kept"[..])
    );
    assert_eq!(
        xattr(&m("bin/ping"), "security.capability"),
        Some(net_bind_capability())
    );
    assert_eq!(
        meta("dir_a").mtime(),
        MTIME as i64,
        "directory times set last"
    );
}

fn xattr(path: &Path, key: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let k = std::ffi::CString::new(key).unwrap();
    let mut buf = vec![0u8; 256];
    // SAFETY: NUL-terminated path and name, a buffer as long as said.
    let n = unsafe { libc::lgetxattr(p.as_ptr(), k.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (n >= 0).then(|| buf[..n as usize].to_vec())
}

#[test]
fn hostile_layers_are_refused_and_write_nothing_outside() {
    if !root() {
        return;
    }
    use tar::EntryType as T;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dot-dot name",
            Layer::new().file("../evil", 0o644, b"x").bytes(),
            "`..`",
        ),
        (
            "dot-dot inside",
            Layer::new()
                .dir("a/", 0o755)
                .file("a/../../evil", 0o644, b"x")
                .bytes(),
            "`..`",
        ),
        (
            "a file through a symlink",
            Layer::new()
                .link(T::Symlink, "ln", "/")
                .file("ln/evil", 0o644, b"x")
                .bytes(),
            "symlink",
        ),
        (
            "a file through a relative symlink",
            Layer::new()
                .link(T::Symlink, "up", "../..")
                .file("up/evil", 0o644, b"x")
                .bytes(),
            "symlink",
        ),
        (
            "a hard link to the host's /etc/shadow",
            Layer::new().link(T::Link, "shadow", "/etc/shadow").bytes(),
            "hard link",
        ),
        (
            "a hard link out with ..",
            Layer::new()
                .link(T::Link, "shadow", "../../../../etc/shadow")
                .bytes(),
            "`..`",
        ),
        (
            "a hard link through a symlink",
            Layer::new()
                .link(T::Symlink, "e", "/etc")
                .link(T::Link, "shadow", "e/shadow")
                .bytes(),
            "hard link",
        ),
        (
            "a whiteout of ..",
            Layer::new().file("a/.wh...", 0o644, b"").bytes(),
            "whiteout",
        ),
    ];
    for (what, layer, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let upper = tmp.path().join("upper");
        std::fs::create_dir(&upper).unwrap();
        let err = apply_layer(&upper, &[], layer.as_slice()).unwrap_err();
        assert!(err.to_string().contains(want), "{what}: {err}");
        assert!(!tmp.path().join("evil").exists(), "{what}: wrote outside");
        assert!(!Path::new("/evil").exists(), "{what}: wrote to the host");
    }
}

#[test]
fn a_truncated_stream_is_a_tar_error() {
    let mut layer = Layer::new().file("big", 0o644, &[7u8; 4096]).bytes();
    layer.truncate(1024);
    let tmp = tempfile::tempdir().unwrap();
    let err = apply_layer(tmp.path(), &[], layer.as_slice()).unwrap_err();
    assert!(
        matches!(err, ApplyError::Write { .. } | ApplyError::Tar(_)),
        "{err}"
    );
}

mod layer_streams;
