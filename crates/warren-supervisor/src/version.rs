//! Which containerd line a binary is, from `containerd --version`.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::Error;

/// A containerd release line, from `containerd --version`: it decides the config format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReleaseLine {
    /// 1 or 2.
    pub major: u32,
    /// 6, 7, 1, ...
    pub minor: u32,
}

impl std::fmt::Display for ReleaseLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl ReleaseLine {
    /// The config file format this line reads: 2 for 1.x, 3 for 2.x.
    pub fn config_version(self) -> u32 {
        if self.major >= 2 {
            3
        } else {
            2
        }
    }
}

/// Parse `containerd github.com/containerd/containerd 1.6.20~ds1 <rev>` (or `v1.7.24`).
pub(crate) fn parse(output: &str) -> Option<ReleaseLine> {
    let mut words = output.split_whitespace();
    if !words.nth(1)?.contains("containerd") {
        return None;
    }
    let word = words.next()?;
    let mut parts = word.trim_start_matches('v').split(['.', '~', '+', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some(ReleaseLine { major, minor })
}

/// Run `binary --version` (killed after `timeout`) and parse it.
pub(crate) async fn detect(binary: &Path, timeout: Duration) -> Result<ReleaseLine, Error> {
    let run = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(timeout, run).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return Err(Error::Binary {
                binary: binary.to_path_buf(),
                reason: format!("cannot run it: {e}"),
            })
        }
        Err(_) => {
            return Err(Error::Binary {
                binary: binary.to_path_buf(),
                reason: format!("`--version` did not finish within {timeout:?}"),
            })
        }
    };
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    parse(&text).ok_or_else(|| Error::UnknownVersion {
        binary: binary.to_path_buf(),
        output: text.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let v = |s| parse(s).unwrap();
        assert_eq!(
            v("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1"),
            ReleaseLine { major: 1, minor: 6 }
        );
        assert_eq!(
            v("containerd github.com/containerd/containerd/v2 2.1.9+unknown ").config_version(),
            3
        );
        assert_eq!(
            v("containerd github.com/containerd/containerd v1.7.24 abc").minor,
            7
        );
        assert!(parse("nonsense").is_none());
        assert!(parse("sleep (GNU coreutils) 9.1").is_none());
    }
}
