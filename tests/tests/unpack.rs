//! Warren's own layer applier (`LayerUnpack::Auto`, client-side pulls) against ctr's unpack
//! of the same images from the same registry: the unpacked trees must be identical, entry by entry.
//! Hostile layers are refused and leave nothing behind.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use sha2::{Digest, Sha256};
use warren_runtime::{ErrorKind, PullMode, PullOptions};
use warren_tests::image_ns::Ns;
use warren_tests::images::{build, push_plain, Compression, Flavor, Layer};
use warren_tests::registry::Registry;
use warren_tests::{require_root, snapshot_view};

const MTIME: u64 = 1_600_000_000;

/// A client-side pull: the one whose layers Warren applies (a server-side pull on 2.x is
/// unpacked by the daemon).
fn client_side() -> PullOptions {
    PullOptions::default().mode(PullMode::Client)
}

/// A tar stream built entry by entry, names and link targets written as given.
struct Tar(tar::Builder<Vec<u8>>);

impl Tar {
    fn new() -> Tar {
        Tar(tar::Builder::new(Vec::new()))
    }

    fn entry(
        mut self,
        ty: tar::EntryType,
        name: &str,
        mode: u32,
        data: &[u8],
        f: impl FnOnce(&mut tar::Header),
    ) -> Tar {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(ty);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(MTIME);
        h.set_uid(0);
        h.set_gid(0);
        f(&mut h);
        h.set_cksum();
        self.0.append(&h, data).unwrap();
        self
    }

    fn dir(self, name: &str, mode: u32) -> Tar {
        self.entry(tar::EntryType::Directory, name, mode, b"", |_| {})
    }

    fn file(self, name: &str, mode: u32, data: &[u8]) -> Tar {
        self.entry(tar::EntryType::Regular, name, mode, data, |_| {})
    }

    fn owned(self, name: &str, uid: u64, gid: u64) -> Tar {
        self.entry(tar::EntryType::Regular, name, 0o640, b"mine", |h| {
            h.set_uid(uid);
            h.set_gid(gid);
        })
    }

    fn link(self, ty: tar::EntryType, name: &str, target: &str, mode: u32) -> Tar {
        self.entry(ty, name, mode, b"", |h| {
            h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        })
    }

    fn node(self, ty: tar::EntryType, name: &str, major: u32, minor: u32) -> Tar {
        self.entry(ty, name, 0o660, b"", |h| {
            h.set_device_major(major).unwrap();
            h.set_device_minor(minor).unwrap();
        })
    }

    fn xattrs(mut self, records: &[(&str, &[u8])]) -> Tar {
        self.0
            .append_pax_extensions(records.iter().copied())
            .unwrap();
        self
    }

    fn layer(self) -> Layer {
        let tar = self.0.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        Layer {
            gz: gz.finish().unwrap(),
            diff_id: format!("sha256:{}", hex::encode(Sha256::digest(&tar))),
            tar,
        }
    }
}

fn capability() -> Vec<u8> {
    // security.capability v2: CAP_NET_BIND_SERVICE permitted, effective.
    [0x0200_0001u32, 1 << 10, 0, 0, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
}

/// Three layers with every case of the issue: whiteouts of files and directories, an
/// opaque directory, replaced files, hard links, absolute and relative symlinks, a symlink
/// to a directory that a later layer replaces with a directory, setuid/setgid/sticky/000
/// modes, owners, xattrs, a FIFO, device nodes and 3,000 small files.
fn layers() -> Vec<Layer> {
    use tar::EntryType as T;
    let mut base = Tar::new()
        .dir("etc/", 0o750)
        .file("etc/passwd", 0o644, b"root:x:0:0::/root:/bin/sh\n")
        .dir("bin/", 0o755)
        .file("bin/tool", 0o4755, b"#!/bin/sh\n")
        .link(T::Link, "bin/tool2", "bin/tool", 0o4755)
        .file("bin/group-tool", 0o2755, b"g")
        .dir("tmp/", 0o1777)
        .file("secret", 0o000, b"hidden")
        .owned("owned", 1000, 1001)
        .link(T::Symlink, "abs", "/etc/passwd", 0o777)
        .link(T::Symlink, "rel", "etc/passwd", 0o777)
        .dir("data/", 0o755)
        .file("data/a.txt", 0o644, b"a1")
        .file("data/b.txt", 0o644, b"b1")
        .dir("gone/", 0o755)
        .file("gone/inside", 0o644, b"i")
        .link(T::Symlink, "dirlink", "data", 0o777)
        .dir("opq/", 0o755)
        .file("opq/x", 0o644, b"x")
        .node(T::Fifo, "pipe", 0, 0)
        .node(T::Char, "null", 1, 3)
        .node(T::Block, "loop9", 7, 9)
        .xattrs(&[
            ("SCHILY.xattr.user.note", b"kept"),
            ("SCHILY.xattr.security.capability", &capability()),
        ])
        .file("bin/ping", 0o755, b"ping")
        .dir("many/", 0o755);
    for i in 0..3000 {
        base = base.file(&format!("many/f{i:04}"), 0o644, format!("{i}\n").as_bytes());
    }
    let second = Tar::new()
        .file(".wh.secret", 0o644, b"")
        .file(".wh.gone", 0o644, b"")
        .dir("data/", 0o755)
        .file("data/.wh.a.txt", 0o644, b"")
        .file("data/b.txt", 0o600, b"b2")
        .dir("opq/", 0o700)
        .file("opq/.wh..wh..opq", 0o644, b"")
        .file("opq/y", 0o644, b"y")
        .file("etc/hostname", 0o644, b"box\n")
        .dir("dirlink/", 0o755)
        .file("dirlink/file", 0o644, b"under a former symlink");
    let third = Tar::new()
        .file("rel", 0o644, b"a file where a symlink was")
        .link(tar::EntryType::Symlink, "abs", "/bin/tool", 0o777)
        .file("bin/tool", 0o4755, b"#!/bin/sh\necho v2\n");
    vec![base.layer(), second.layer(), third.layer()]
}

/// Every entry of the tree under `root`: type, mode, owner, size, content hash, link
/// target, device numbers, xattrs, and which earlier entry it is a hard link of. Directory
/// and symlink times are left out: a parent created for an entry gets the time of the
/// unpack.
fn entries(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<u64, String> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    let mut all = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p.clone());
            }
            all.push(p);
        }
    }
    all.sort();
    for p in all {
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        let m = std::fs::symlink_metadata(&p).unwrap();
        let ft = m.file_type();
        let mut d = format!("{:o} {}:{}", m.mode() & 0o7777, m.uid(), m.gid());
        if ft.is_dir() {
            d = format!("dir {d}");
        } else if ft.is_symlink() {
            d = format!("symlink -> {}", std::fs::read_link(&p).unwrap().display());
        } else if ft.is_file() {
            let hash = hex::encode(Sha256::digest(std::fs::read(&p).unwrap()));
            d = format!("file {d} {} {hash} mtime {}", m.len(), m.mtime());
            if m.nlink() > 1 {
                if let Some(first) = inodes.get(&m.ino()) {
                    d = format!("{d} hard link of {first}");
                } else {
                    inodes.insert(m.ino(), rel.clone());
                }
            }
        } else if ft.is_fifo() {
            d = format!("fifo {d}");
        } else if ft.is_char_device() || ft.is_block_device() {
            let kind = if ft.is_char_device() { "char" } else { "block" };
            let (major, minor) = (
                nix::sys::stat::major(m.rdev()),
                nix::sys::stat::minor(m.rdev()),
            );
            d = format!("{kind} {major}:{minor} {d}");
        }
        if !ft.is_symlink() {
            let mut names: Vec<String> = xattr_names(&p);
            names.sort();
            for n in names {
                let v = xattr_value(&p, &n);
                d.push_str(&format!(" {n}={}", hex::encode(v)));
            }
        }
        out.insert(rel, d);
    }
    out
}

fn xattr_names(p: &Path) -> Vec<String> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let mut buf = vec![0u8; 4096];
    // SAFETY: a NUL-terminated path and a buffer as long as said.
    let n = unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return Vec::new();
    }
    buf[..n as usize]
        .split(|b| *b == 0)
        .filter(|k| !k.is_empty())
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect()
}

fn xattr_value(p: &Path, name: &str) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let k = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 4096];
    // SAFETY: NUL-terminated path and name, a buffer as long as said.
    let n = unsafe { libc::lgetxattr(c.as_ptr(), k.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    buf.truncate(n.max(0) as usize);
    buf
}

#[tokio::test]
async fn our_unpack_is_ctrs_entry_by_entry() {
    require_root!();
    let registry = Registry::start();
    let layers = layers();
    let kinds = [
        (Flavor::Oci, Compression::Gzip, "oci-gzip"),
        (Flavor::Oci, Compression::None, "oci-plain"),
        (Flavor::Oci, Compression::Zstd, "oci-zstd"),
        (Flavor::Docker, Compression::Gzip, "docker-gzip"),
    ];
    for (flavor, compression, tag) in kinds {
        let reference = format!("{}/warren/unpack:{tag}", registry.addr());
        let built = build(&layers, &["sh"], "amd64", flavor, compression);
        push_plain(&reference, &built).await;

        let theirs = Ns::new("unpack-ctr").await;
        let out = theirs.ctr(&["images", "pull", "--plain-http", &reference]);
        assert!(
            out.status.success(),
            "ctr pull {tag}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = Ns::new("unpack-ours").await;
        let image = ours
            .rt
            .pull_image(&reference, &client_side())
            .await
            .unwrap_or_else(|e| panic!("our pull {tag}: {e}"));

        let want = snapshot_view::with_view(&theirs.clients, &image.top_chain_id, entries).await;
        let got = snapshot_view::with_view(&ours.clients, &image.top_chain_id, entries).await;
        assert!(
            want.len() > 3000,
            "{tag}: ctr's tree has {} entries",
            want.len()
        );
        for (path, d) in &want {
            assert_eq!(got.get(path), Some(d), "{tag}: {path}");
        }
        let extra: Vec<&String> = got.keys().filter(|p| !want.contains_key(*p)).collect();
        assert!(extra.is_empty(), "{tag}: only in ours: {extra:?}");
        theirs.cleanup().await;
        ours.cleanup().await;
    }
}

#[tokio::test]
async fn hostile_layers_are_refused_and_leave_nothing_behind() {
    require_root!();
    use tar::EntryType as T;
    let registry = Registry::start();
    let base = Tar::new()
        .dir("etc/", 0o755)
        .file("etc/passwd", 0o644, b"x")
        .layer();
    let cases: Vec<(&str, Layer)> = vec![
        ("dotdot", Tar::new().file("../evil", 0o644, b"x").layer()),
        (
            "through-symlink",
            Tar::new()
                .link(T::Symlink, "ln", "/", 0o777)
                .file("ln/evil", 0o644, b"x")
                .layer(),
        ),
        (
            "shadow",
            Tar::new()
                .link(T::Link, "shadow", "/etc/shadow", 0o644)
                .layer(),
        ),
    ];
    for (tag, bad) in cases {
        let reference = format!("{}/warren/hostile:{tag}", registry.addr());
        let built = build(
            &[base.clone(), bad],
            &["sh"],
            "amd64",
            Flavor::Oci,
            Compression::Gzip,
        );
        push_plain(&reference, &built).await;
        let ns = Ns::new("hostile").await;
        let err = ns
            .rt
            .pull_image(&reference, &client_side())
            .await
            .expect_err(tag);
        assert_eq!(err.kind(), ErrorKind::Integrity, "{tag}: {err}");
        assert!(!Path::new("/evil").exists(), "{tag}: wrote to the host");
        // The base layer's snapshot may stay (it is good and shared); the hostile one is
        // gone, and no extract snapshot is left.
        assert!(ns.snapshots().await <= 1, "{tag}: snapshots left");
        ns.cleanup().await;
    }
    // A wrong diff ID in the config is refused too.
    let mut wrong = base.clone();
    wrong.diff_id = format!("sha256:{}", "0".repeat(64));
    let reference = format!("{}/warren/hostile:diffid", registry.addr());
    push_plain(
        &reference,
        &build(&[wrong], &["sh"], "amd64", Flavor::Oci, Compression::Gzip),
    )
    .await;
    let ns = Ns::new("hostile").await;
    let err = ns
        .rt
        .pull_image(&reference, &client_side())
        .await
        .expect_err("wrong diff id");
    assert_eq!(err.kind(), ErrorKind::Integrity, "{err}");
    assert_eq!(ns.snapshots().await, 0, "nothing left");
    ns.cleanup().await;
}
