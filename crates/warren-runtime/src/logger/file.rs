//! A container's log file: records appended, rotated past a size bound
//! (`container.log` → `.1` → `.2` …, the oldest dropped), readable by root alone.
//!
//! Writing never fails: a container must not lose its output pipe (and get `EPIPE` or
//! `SIGPIPE`) because the disk is full. Records that cannot be written are dropped and
//! counted; every later batch tries again (opening or rotating the file again if that is
//! what failed), and the first write that succeeds is preceded by a marker record on
//! stderr: `warren-logger: N lines dropped: <why>`.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The name of a container's current log file inside its directory.
pub(crate) const LOG_FILE: &str = "container.log";

/// The log file being written.
pub(crate) struct LogFile {
    path: PathBuf,
    /// `None` after opening (or rotating to) the file failed: opened again at the next write.
    file: Option<File>,
    size: u64,
    max_bytes: u64,
    max_files: usize,
    /// Records dropped since the last successful write, and why the last one failed.
    dropped: u64,
    reason: String,
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
    /// most `max_files` files are kept, the current one included. A file that cannot be
    /// opened now is opened at the first write.
    pub(crate) fn open(path: PathBuf, max_bytes: u64, max_files: usize) -> LogFile {
        let file = open_log(&path).ok();
        let size = file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        LogFile {
            path,
            file,
            size,
            max_bytes,
            max_files: max_files.max(1),
            dropped: 0,
            reason: String::new(),
        }
    }

    /// Records dropped since the last write that succeeded.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Append whole records (each ending in `\n`), rotating between records so that no file
    /// grows past the bound (a single record larger than the bound gets a file of its own).
    /// What cannot be written is dropped and counted (see the module's doc).
    pub(crate) fn write_records(&mut self, records: &[u8]) {
        if self.dropped > 0 {
            let text = format!(
                "warren-logger: {} lines dropped: {}",
                self.dropped, self.reason
            );
            let mut marker = Vec::new();
            super::cri::Encoder::new("stderr").feed(
                format!("{text}\n").as_bytes(),
                &super::cri::now(),
                &mut marker,
            );
            match self.try_write(&marker) {
                Ok(()) => self.dropped = 0,
                Err((_, e)) => {
                    self.drop_records(records, &e);
                    return;
                }
            }
        }
        if let Err((rest, e)) = self.try_write(records) {
            self.drop_records(rest, &e);
        }
    }

    fn drop_records(&mut self, records: &[u8], e: &io::Error) {
        let lines = records.iter().filter(|b| **b == b'\n').count() as u64;
        self.dropped += lines.max(1);
        self.reason = e.to_string();
    }

    /// Write `records`; on failure, the records not written and the error. A record that
    /// was only partly written is cut off again, so the file always ends with a whole one.
    fn try_write<'a>(&mut self, records: &'a [u8]) -> Result<(), (&'a [u8], io::Error)> {
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
                    self.rotate().map_err(|e| (rest, e))?;
                    continue;
                }
                // No newline at all: write what there is.
                take = rest.len();
            }
            let file = match self.file.as_mut() {
                Some(f) => f,
                None => {
                    let f = open_log(&self.path).map_err(|e| (rest, e))?;
                    self.size = f.metadata().map_or(0, |m| m.len());
                    self.file.insert(f)
                }
            };
            if let Err(e) = file.write_all(&rest[..take]) {
                // Back to the last whole record (a full disk still allows truncating).
                let _ = file.set_len(self.size);
                return Err((rest, e));
            }
            self.size += take as u64;
            rest = &rest[take..];
        }
        Ok(())
    }

    /// `container.log` → `.1` → `.2` …, dropping the oldest beyond `max_files`.
    fn rotate(&mut self) -> io::Result<()> {
        let numbered = |n: usize| PathBuf::from(format!("{}.{n}", self.path.display()));
        if self.max_files > 1 {
            // Only the files there are: `.1` … `.k`, the first gap ending them (a bound of
            // thousands of files must not cost thousands of calls per rotation).
            let mut last = 0;
            while last + 1 < self.max_files - 1 && numbered(last + 1).exists() {
                last += 1;
            }
            for n in (1..=last).rev() {
                match std::fs::rename(numbered(n), numbered(n + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::fs::rename(&self.path, numbered(1))?;
        } else {
            std::fs::remove_file(&self.path)?;
        }
        // From here on the old file is rotated away: a failed open is retried at the next
        // write rather than appending to the renamed file.
        self.file = None;
        self.size = 0;
        self.file = Some(open_log(&self.path)?);
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
        let mut log = LogFile::open(path.clone(), 200, 3);
        let mut enc = Encoder::new("stdout");
        for i in 0..40 {
            let mut out = Vec::new();
            enc.feed(
                format!("line {i}\n").as_bytes(),
                "2026-01-01T00:00:00Z",
                &mut out,
            );
            log.write_records(&out);
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
        log.write_records(&out);
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
