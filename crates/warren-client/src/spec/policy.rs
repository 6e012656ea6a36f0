//! Restart policies as warrend applies them (`no`, `on-failure[:max]`, `always`).

use std::str::FromStr;

/// What happens when a container's process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Nothing.
    #[default]
    No,
    /// Start it again after a non-zero exit, at most `max` times (no limit when `None`).
    OnFailure(Option<u32>),
    /// Start it again after any exit.
    Always,
}

impl FromStr for Policy {
    type Err = String;

    fn from_str(s: &str) -> Result<Policy, String> {
        const ALLOWED: &str = "no, on-failure, on-failure:MAX (MAX > 0) or always";
        match s {
            "" | "no" => Ok(Policy::No),
            "always" => Ok(Policy::Always),
            "on-failure" => Ok(Policy::OnFailure(None)),
            _ => match s.strip_prefix("on-failure:").map(str::parse::<u32>) {
                Some(Ok(n)) if n > 0 => Ok(Policy::OnFailure(Some(n))),
                _ => Err(ALLOWED.to_string()),
            },
        }
    }
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Policy::No => f.write_str("no"),
            Policy::Always => f.write_str("always"),
            Policy::OnFailure(None) => f.write_str("on-failure"),
            Policy::OnFailure(Some(n)) => write!(f, "on-failure:{n}"),
        }
    }
}

impl Policy {
    /// Whether an exit with `code` after `count` restarts is followed by another start.
    pub fn restarts(&self, code: u32, count: u32) -> bool {
        match self {
            Policy::No => false,
            Policy::Always => true,
            Policy::OnFailure(max) => code != 0 && max.is_none_or(|m| count < m),
        }
    }
}
