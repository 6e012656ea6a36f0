//! How a daemon process ended.

use std::fmt;
use std::os::unix::process::ExitStatusExt;

/// How containerd ended: its exit code, or the signal that killed it. Both are `None` for an
/// adopted daemon, which is not our child, so the kernel gives its status to someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DaemonExit {
    /// The exit code, if it exited by itself.
    pub code: Option<i32>,
    /// The signal number, if a signal killed it.
    pub signal: Option<i32>,
}

impl DaemonExit {
    /// True if it exited by itself with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl From<std::process::ExitStatus> for DaemonExit {
    fn from(s: std::process::ExitStatus) -> Self {
        DaemonExit {
            code: s.code(),
            signal: s.signal(),
        }
    }
}

impl fmt::Display for DaemonExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "exit code {code}"),
            (None, Some(sig)) => match nix::sys::signal::Signal::try_from(sig) {
                Ok(name) => write!(f, "killed by signal {sig} ({name})"),
                Err(_) => write!(f, "killed by signal {sig}"),
            },
            (None, None) => f.write_str("exited (status unknown: not our child)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_codes_and_signals() {
        let code = DaemonExit {
            code: Some(1),
            signal: None,
        };
        assert_eq!(code.to_string(), "exit code 1");
        assert!(!code.success());
        let killed = DaemonExit {
            code: None,
            signal: Some(9),
        };
        assert_eq!(killed.to_string(), "killed by signal 9 (SIGKILL)");
        assert!(DaemonExit::default().to_string().contains("unknown"));
    }
}
