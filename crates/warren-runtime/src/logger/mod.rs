//! Container output owned by containerd's shim: the logger the shim starts through a
//! `binary://` log URI, and the CRI log format it writes.
//!
//! With [`LogDriver::Shim`](crate::LogDriver::Shim) (the default where a logger binary is
//! found), a container's stdout and stderr are pipes from the container to a small logger
//! process that the shim starts with the task and keeps: it writes the container's
//! size-bounded, rotated log file. The process that created the container (warrend, or any
//! program using this crate) only reads log files, so a container never waits for it: while
//! it is down or restarting, output keeps flowing to the file at full speed.
//!
//! The logger is this module's [`main`] behind either the `warren-logger` binary of this
//! crate or `warrend logger`: the shim runs `BINARY logger SPEC`, where `SPEC` says where
//! the log goes and how it is bounded.

pub(crate) mod attach;
pub(crate) mod cri;
pub(crate) mod file;
pub(crate) mod frame;
mod process;
pub(crate) mod spawn;

use std::path::{Path, PathBuf};

pub(crate) use file::LOG_FILE;
pub(crate) use process::LOCK_FILE;

/// What a logger writes where: the log file and its bounds, passed on its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    /// The current log file (`<container dir>/container.log`).
    pub path: PathBuf,
    /// A file is rotated when it would grow past this.
    pub max_bytes: u64,
    /// Files kept, the current one included.
    pub max_files: usize,
    /// The container has a terminal: partial lines (prompts) are written at once.
    pub tty: bool,
    /// The container has a stdin FIFO (`init-stdin` beside the log) the logger holds open
    /// and feeds from attached clients.
    pub stdin: bool,
    /// The output comes through FIFOs beside the log (`init-stdout`, `init-stderr`), not
    /// from the shim: a logger the runtime starts itself, for a stdin without a terminal
    /// (containerd's shim connects no stdin when it hands the output to a `binary://`
    /// logger).
    pub fifos: bool,
}

impl Spec {
    /// `v1,<max bytes>,<max files>,<flags>,<path>` (flags: `t` terminal, `i` stdin, `-`
    /// none): one argument, so the order of the URI's query parameters (which the shim does
    /// not keep) does not matter.
    pub(crate) fn to_arg(&self) -> String {
        let mut flags = String::new();
        if self.tty {
            flags.push('t');
        }
        if self.stdin {
            flags.push('i');
        }
        if self.fifos {
            flags.push('f');
        }
        if flags.is_empty() {
            flags.push('-');
        }
        format!(
            "v1,{},{},{flags},{}",
            self.max_bytes,
            self.max_files,
            self.path.display()
        )
    }

    /// The inverse of [`to_arg`](Self::to_arg).
    pub(crate) fn from_arg(arg: &str) -> Option<Spec> {
        let mut parts = arg.splitn(5, ',');
        if parts.next()? != "v1" {
            return None;
        }
        let max_bytes = parts.next()?.parse().ok()?;
        let max_files = parts.next()?.parse().ok()?;
        let flags = parts.next()?;
        let path = PathBuf::from(parts.next()?);
        path.is_absolute().then_some(Spec {
            path,
            max_bytes,
            max_files,
            tty: flags.contains('t'),
            stdin: flags.contains('i'),
            fifos: flags.contains('f'),
        })
    }

    /// The `binary://` URI that has the shim run `binary logger <spec>`.
    pub(crate) fn uri(&self, binary: &Path) -> String {
        format!(
            "binary://{}?logger={}",
            escape(&binary.display().to_string(), true),
            escape(&self.to_arg(), false)
        )
    }
}

/// Percent-encode everything but unreserved characters (and `/` in a path): the shim
/// decodes the URI with Go's `net/url`, which also turns `+` into a space in queries.
fn escape(text: &str, path: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (path && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The logger's entry point: `args` are the process's arguments after the program name
/// (`logger <spec>`). Returns the exit code.
pub fn main(args: &[String]) -> i32 {
    let spec = match args {
        [cmd, spec] if cmd == "logger" => Spec::from_arg(spec),
        _ => None,
    };
    let Some(spec) = spec else {
        eprintln!(
            "usage: logger v1,<max bytes>,<max files>,<flags>,<absolute log path> (run by containerd's shim)"
        );
        return 2;
    };
    match process::run(&spec) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("warren logger {}: {e}", spec.path.display());
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_round_trips_and_the_uri_escapes() {
        let spec = Spec {
            path: "/var/lib/warren/runtime/ns/c 1,x/container.log".into(),
            max_bytes: 10 << 20,
            max_files: 3,
            tty: false,
            stdin: false,
            fifos: false,
        };
        assert_eq!(Spec::from_arg(&spec.to_arg()), Some(spec.clone()));
        assert_eq!(Spec::from_arg("v2,1,2,/x"), None);
        assert_eq!(Spec::from_arg("v1,1,2,relative"), None);
        let uri = spec.uri(Path::new("/usr/bin/warren-logger"));
        assert_eq!(
            uri,
            "binary:///usr/bin/warren-logger?logger=v1%2C10485760%2C3%2C-%2C%2Fvar%2Flib%2Fwarren%2Fruntime%2Fns%2Fc%201%2Cx%2Fcontainer.log"
        );
        let tty = Spec {
            tty: true,
            stdin: true,
            fifos: true,
            ..spec.clone()
        };
        assert_eq!(Spec::from_arg(&tty.to_arg()), Some(tty));
    }
}
