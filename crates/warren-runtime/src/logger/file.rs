//! A container's log file: records appended, rotated past a size bound
//! (`container.log` → `.1` → `.2` …, the oldest dropped), readable by root alone.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The name of a container's current log file inside its directory.
pub const LOG_FILE: &str = "container.log";

/// The log file being written.
pub struct LogFile {
    path: PathBuf,
    file: File,
    size: u64,
    max_bytes: u64,
    max_files: usize,
}

/// Open a log file for appending, creating it readable by root alone (0600).
fn open_log(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::PermissionsExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    // A file left by an older version keeps its mode otherwise.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

impl LogFile {
    /// Open (or create) `path`; it is rotated once it would grow past `max_bytes`, and at
    /// most `max_files` files are kept, the current one included.
    pub fn open(path: PathBuf, max_bytes: u64, max_files: usize) -> io::Result<LogFile> {
        let file = open_log(&path)?;
        let size = file.metadata()?.len();
        Ok(LogFile {
            path,
            file,
            size,
            max_bytes,
            max_files: max_files.max(1),
        })
    }

    /// Append whole records (each ending in `\n`), rotating between records so that no file
    /// grows past the bound (a single record larger than the bound gets a file of its own).
    pub fn write_records(&mut self, records: &[u8]) -> io::Result<()> {
        let mut rest = records;
        while !rest.is_empty() {
            // As many records as fit, at least one.
            let room = self.max_bytes.saturating_sub(self.size) as usize;
            let mut take = 0;
            for (i, b) in rest.iter().enumerate() {
                if *b == b'\n' {
                    if i + 1 > room && (take > 0 || self.size > 0) {
                        break;
                    }
                    take = i + 1;
                    if take >= room {
                        break;
                    }
                }
            }
            if take == 0 {
                if self.size > 0 {
                    self.rotate()?;
                    continue;
                }
                // No newline at all: write what there is.
                take = rest.len();
            }
            self.file.write_all(&rest[..take])?;
            self.size += take as u64;
            rest = &rest[take..];
        }
        Ok(())
    }

    /// `container.log` → `.1` → `.2` …, dropping the oldest beyond `max_files`.
    fn rotate(&mut self) -> io::Result<()> {
        let numbered = |n: usize| PathBuf::from(format!("{}.{n}", self.path.display()));
        if self.max_files > 1 {
            for n in (1..self.max_files - 1).rev() {
                match std::fs::rename(numbered(n), numbered(n + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::fs::rename(&self.path, numbered(1))?;
        } else {
            std::fs::remove_file(&self.path)?;
        }
        self.file = open_log(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logger::cri::Encoder;

    #[test]
    fn rotates_between_records_and_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_FILE);
        let mut log = LogFile::open(path.clone(), 200, 3).unwrap();
        let mut enc = Encoder::new("stdout");
        for i in 0..40 {
            let mut out = Vec::new();
            enc.feed(
                format!("line {i}\n").as_bytes(),
                "2026-01-01T00:00:00Z",
                &mut out,
            );
            log.write_records(&out).unwrap();
        }
        // Many records in one batch rotate between records too.
        let mut out = Vec::new();
        for i in 40..60 {
            enc.feed(
                format!("line {i}\n").as_bytes(),
                "2026-01-01T00:00:00Z",
                &mut out,
            );
        }
        log.write_records(&out).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["container.log", "container.log.1", "container.log.2"]
        );
        for n in &names {
            let p = dir.path().join(n);
            assert!(std::fs::metadata(&p).unwrap().len() <= 200);
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(text.ends_with('\n') && text.lines().all(|l| l.contains(" stdout F line ")));
        }
        let last = std::fs::read_to_string(&path).unwrap();
        assert!(last.trim_end().ends_with("stdout F line 59"), "{last}");
    }
}
