use std::path::Path;
use std::time::{Duration, Instant};

use super::super::{load_profile, MAX_PROFILE_BYTES};
use super::allowed_always;
use crate::SpecError;

fn refused(path: &Path) -> String {
    match load_profile(path, crate::CAPABILITIES) {
        Err(err @ SpecError::SeccompProfile { .. }) => {
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            text
        }
        other => panic!("expected a SeccompProfile error, got {other:?}"),
    }
}

#[test]
fn loads_a_regular_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("profile.json");
    std::fs::write(
        &path,
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
    )
    .expect("write");
    let profile = load_profile(&path, crate::CAPABILITIES).expect("loads");
    assert!(allowed_always(&profile, "read"));
}

#[test]
fn refuses_a_fifo_without_blocking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fifo.json");
    nix::unistd::mkfifo(
        &path,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .expect("mkfifo");
    let start = Instant::now();
    let text = refused(&path);
    assert!(start.elapsed() < Duration::from_secs(2), "blocked");
    assert!(text.contains("FIFO"), "{text}");
    assert!(text.contains("must be a regular file"), "{text}");
}

#[test]
fn refuses_a_directory_and_a_device() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = refused(dir.path());
    assert!(text.contains("a directory"), "{text}");
    let text = refused(Path::new("/dev/null"));
    assert!(text.contains("a character device"), "{text}");
}

#[test]
fn refuses_a_missing_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = refused(&dir.path().join("missing.json"));
    assert!(text.contains("cannot open it"), "{text}");
}

#[test]
fn refuses_a_file_over_the_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.json");
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(MAX_PROFILE_BYTES + 1).expect("set_len");
    let text = refused(&path);
    assert!(text.contains("at most 1048576 bytes"), "{text}");

    // Exactly at the cap is read (and then refused for its contents, not its size).
    file.set_len(MAX_PROFILE_BYTES).expect("set_len");
    let text = refused(&path);
    assert!(!text.contains("at most 1048576 bytes"), "{text}");
}

#[test]
fn refuses_an_empty_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.json");
    std::fs::write(&path, "").expect("write");
    let text = refused(&path);
    assert!(text.contains("the file is empty"), "{text}");
}
