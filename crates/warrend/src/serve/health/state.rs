//! A container's health as Docker defines it, as pure bookkeeping: `starting` until the
//! first success (failures in the start period do not count), `healthy` after a success,
//! `unhealthy` after `retries` consecutive failures; the last [`KEPT_RESULTS`] results.

use std::collections::VecDeque;
use std::time::SystemTime;

/// Results kept per container (Docker keeps 5).
pub const KEPT_RESULTS: usize = 5;
/// Bytes of a check's output kept (Docker keeps 4 KiB).
pub const MAX_OUTPUT: usize = 4096;

/// A health status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In the start period, or no result yet.
    Starting,
    /// The last check passed.
    Healthy,
    /// `retries` checks in a row failed.
    Unhealthy,
}

impl Status {
    /// Every status, for the metrics.
    pub const ALL: [Status; 3] = [Status::Starting, Status::Healthy, Status::Unhealthy];

    /// The node API's value.
    pub fn api(self) -> warren_proto::warren::node::v1::HealthStatus {
        use warren_proto::warren::node::v1::HealthStatus as H;
        match self {
            Status::Starting => H::Starting,
            Status::Healthy => H::Healthy,
            Status::Unhealthy => H::Unhealthy,
        }
    }

    /// Docker's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Healthy => "healthy",
            Status::Unhealthy => "unhealthy",
        }
    }
}

/// One run of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub start: SystemTime,
    pub end: SystemTime,
    /// 0 passed; anything else failed (-1: killed at its timeout or could not run).
    pub exit_code: i32,
    /// stdout and stderr, cut to [`MAX_OUTPUT`] bytes.
    pub output: String,
}

/// A container's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthState {
    pub status: Status,
    pub failing_streak: u32,
    pub log: VecDeque<CheckResult>,
}

impl Default for HealthState {
    fn default() -> Self {
        HealthState {
            status: Status::Starting,
            failing_streak: 0,
            log: VecDeque::new(),
        }
    }
}

impl HealthState {
    /// Take a result; `in_start_period`: the container started less than its start period
    /// ago. Returns the new status if it changed.
    pub fn record(
        &mut self,
        result: CheckResult,
        retries: u32,
        in_start_period: bool,
    ) -> Option<Status> {
        let before = self.status;
        if result.exit_code == 0 {
            self.failing_streak = 0;
            self.status = Status::Healthy;
        } else if !(in_start_period && self.status == Status::Starting) {
            // Failures in the start period count only once the container was healthy.
            self.failing_streak += 1;
            if self.failing_streak >= retries.max(1) {
                self.status = Status::Unhealthy;
            }
        }
        if self.log.len() == KEPT_RESULTS {
            self.log.pop_front();
        }
        self.log.push_back(result);
        (self.status != before).then_some(self.status)
    }
}

/// `bytes` as text, cut to [`MAX_OUTPUT`] bytes (at a character boundary).
pub fn cut_output(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_OUTPUT)]).into_owned();
    let mut end = text.len().min(MAX_OUTPUT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(code: i32) -> CheckResult {
        CheckResult {
            start: SystemTime::now(),
            end: SystemTime::now(),
            exit_code: code,
            output: String::new(),
        }
    }

    #[test]
    fn retries_failures_in_a_row_make_it_unhealthy() {
        let mut s = HealthState::default();
        assert_eq!(s.record(result(0), 3, false), Some(Status::Healthy));
        assert_eq!(s.record(result(1), 3, false), None);
        assert_eq!(s.record(result(1), 3, false), None);
        assert_eq!(s.record(result(1), 3, false), Some(Status::Unhealthy));
        assert_eq!(s.failing_streak, 3);
        assert_eq!(s.record(result(0), 3, false), Some(Status::Healthy));
        assert_eq!(s.failing_streak, 0);
    }

    #[test]
    fn start_period_failures_do_not_count_until_healthy() {
        let mut s = HealthState::default();
        for _ in 0..10 {
            assert_eq!(s.record(result(1), 1, true), None);
        }
        assert_eq!(s.status, Status::Starting);
        assert_eq!(s.failing_streak, 0);
        assert_eq!(s.log.len(), KEPT_RESULTS);
        assert_eq!(s.record(result(1), 1, false), Some(Status::Unhealthy));
    }

    #[test]
    fn output_is_cut() {
        assert_eq!(cut_output(&vec![b'a'; 10_000]).len(), MAX_OUTPUT);
        let mut v = vec![b'a'; MAX_OUTPUT - 1];
        v.extend("é".as_bytes());
        assert_eq!(cut_output(&v).len(), MAX_OUTPUT - 1);
    }
}
