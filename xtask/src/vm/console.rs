//! The guest's serial console as it arrives: echoed with the host's time since qemu started,
//! kept in `console.log`, and read for the milestones (guest ready, first test) and the wall
//! time of every test (libtest with one thread prints `test NAME ... ` when a test starts and
//! its result when it ends).

use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// One finished test.
#[derive(Debug, Clone, PartialEq)]
pub struct TestTime {
    /// `binary::test name`.
    pub name: String,
    pub result: String,
    pub seconds: f64,
}

/// What the console said.
#[derive(Debug, Default)]
pub struct Summary {
    pub ready: Option<Duration>,
    pub first_test: Option<Duration>,
    pub tests: Vec<TestTime>,
    /// From the guest's `warren-vm: exit code N` line.
    pub exit_code: Option<i32>,
}

/// Remove ANSI escape sequences (libtest colours its results on a terminal).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `test NAME ... ` (started, nothing after) -> NAME.
fn started(line: &str) -> Option<&str> {
    line.strip_prefix("test ")?.strip_suffix(" ... ")
}

/// libtest's verdicts: `ok`, `FAILED`, `ignored`, `ignored, REASON`.
fn is_result(s: &str) -> bool {
    let word = s.split([' ', ',']).next().unwrap_or("");
    matches!(word, "ok" | "FAILED" | "ignored")
}

/// `test NAME ... RESULT` -> (NAME, Some(RESULT)); `test NAME ... OTHER` -> (NAME, None):
/// the test's own children (not captured by libtest) wrote on the console before the
/// verdict, which then comes on a line of its own.
fn finished(line: &str) -> Option<(&str, Option<&str>)> {
    let (name, rest) = line.strip_prefix("test ")?.split_once(" ... ")?;
    let rest = rest.trim();
    Some((name, is_result(rest).then_some(rest)))
}

/// Follows the stream; `feed` it bytes as they come.
pub struct Console<W: Write, L: Write> {
    t0: Instant,
    out: W,
    log: L,
    line: Vec<u8>,
    /// Bytes of `line` already echoed (a test's `test NAME ... ` before its result).
    echoed: usize,
    binary: String,
    running: Option<(String, Instant)>,
    /// The test whose captured output libtest is printing (`---- NAME stdout ----`).
    output_of: Option<String>,
    pub summary: Summary,
}

impl<W: Write, L: Write> Console<W, L> {
    pub fn new(t0: Instant, out: W, log: L) -> Self {
        Console {
            t0,
            out,
            log,
            line: Vec::new(),
            echoed: 0,
            binary: String::new(),
            running: None,
            output_of: None,
            summary: Summary::default(),
        }
    }

    fn stamp(&self, now: Instant) -> String {
        format!("[{:7.2}] ", (now - self.t0).as_secs_f64())
    }

    /// Handle one chunk of console output received at `now`.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) {
        for &b in bytes {
            match b {
                b'\r' => {}
                b'\n' => self.end_line(now),
                _ => self.line.push(b),
            }
        }
        // A test that has started: show it now, its result follows on the same line.
        let partial = strip_ansi(&String::from_utf8_lossy(&self.line));
        if self.echoed == 0 {
            if let Some(name) = started(&partial) {
                let name = format!("{}::{name}", self.binary);
                if self.summary.first_test.is_none() {
                    self.summary.first_test = Some(now - self.t0);
                }
                self.running = Some((name, now));
                let text = format!("{}{}", self.stamp(now), String::from_utf8_lossy(&self.line));
                let _ = self.out.write_all(text.as_bytes());
                let _ = self.out.flush();
                let _ = self.log.write_all(text.as_bytes());
                self.echoed = self.line.len();
            }
        }
    }

    fn end_line(&mut self, now: Instant) {
        let raw = String::from_utf8_lossy(&self.line).to_string();
        let text = if self.echoed > 0 {
            format!(
                "{}\n",
                String::from_utf8_lossy(&self.line[self.echoed.min(self.line.len())..])
            )
        } else {
            format!("{}{raw}\n", self.stamp(now))
        };
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
        let _ = self.log.write_all(text.as_bytes());
        self.note(&strip_ansi(&raw), now);
        self.line.clear();
        self.echoed = 0;
    }

    fn note(&mut self, line: &str, now: Instant) {
        if line.starts_with("warren-vm: ready") && self.summary.ready.is_none() {
            self.summary.ready = Some(now - self.t0);
        } else if let Some(rest) = line.strip_prefix("warren-vm: running ") {
            let name = rest.split(" on containerd ").next().unwrap_or(rest);
            self.binary = name.to_string();
        } else if let Some(rest) = line.strip_prefix("warren-vm: exit code ") {
            self.summary.exit_code = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        } else if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            self.output_of = Some(format!("{}::{name}", self.binary));
        } else if line == "successes:" || line == "failures:" || line.starts_with("test result:") {
            self.output_of = None;
        } else if line.contains("SKIPPED") {
            // A test that passed without checking anything (it said why): worth knowing.
            if let Some(name) = &self.output_of {
                for t in self.summary.tests.iter_mut().filter(|t| &t.name == name) {
                    if !t.result.contains("SKIPPED") {
                        t.result.push_str(" (SKIPPED)");
                    }
                }
            }
        } else if let Some((name, result)) = finished(line) {
            let name = format!("{}::{name}", self.binary);
            match result {
                Some(result) => self.done(name, result, now),
                // Still running; remember it if it started on this very line.
                None if self.running.is_none() => self.running = Some((name, now)),
                None => {}
            }
        } else if self.running.is_some() && is_result(line.trim()) {
            if let Some((name, _)) = &self.running {
                let name = name.clone();
                self.done(name, line.trim(), now);
            }
        }
    }

    fn done(&mut self, name: String, result: &str, now: Instant) {
        let start = match self.running.take() {
            Some((n, t)) if n == name => t,
            _ => now,
        };
        self.summary.tests.push(TestTime {
            name,
            result: result.to_string(),
            seconds: (now - start).as_secs_f64(),
        });
    }

    /// Read `from` to its end.
    pub fn follow(&mut self, mut from: impl Read) {
        let mut buf = [0u8; 4096];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => self.feed(&buf[..n], Instant::now()),
            }
        }
        let now = Instant::now();
        if !self.line.is_empty() {
            self.end_line(now);
        }
        // The test that was running when the console ended (a hang cut short by the host).
        if let Some((name, _)) = &self.running {
            let name = name.clone();
            self.done(name, "UNFINISHED", now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_a_test_from_its_start_to_its_result() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut log = Vec::new();
        let mut c = Console::new(t0, &mut out, &mut log);
        c.feed(
            b"warren-vm: ready after 9.1 s\r\n",
            t0 + Duration::from_secs(9),
        );
        c.feed(
            b"warren-vm: running containers on containerd 2.1\r\nrunning 1 test\r\ntest a_hog ",
            t0 + Duration::from_secs(10),
        );
        c.feed(b"... ", t0 + Duration::from_secs(11));
        c.feed(b"\x1b[32mok\x1b[0m\r\n", t0 + Duration::from_secs(41));
        c.feed(
            b"warren-vm: exit code 0 after 50 s\r\n",
            t0 + Duration::from_secs(50),
        );
        let s = &c.summary;
        assert_eq!(s.ready, Some(Duration::from_secs(9)));
        assert_eq!(s.first_test, Some(Duration::from_secs(11)));
        assert_eq!(s.exit_code, Some(0));
        assert_eq!(
            s.tests,
            [TestTime {
                name: "containers::a_hog".into(),
                result: "ok".into(),
                seconds: 30.0
            }]
        );
        c.feed(
            b"successes:\n\n---- a_hog stdout ----\nSKIPPED: not on v2\n\nsuccesses:\n",
            t0 + Duration::from_secs(42),
        );
        assert_eq!(c.summary.tests[0].result, "ok (SKIPPED)");
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("test a_hog ... \x1b[32mok\x1b[0m\n"),
            "{text}"
        );
        assert_eq!(text.matches("test a_hog").count(), 1);
    }

    #[test]
    fn a_verdict_after_other_output_on_the_line() {
        let t0 = Instant::now();
        let mut c = Console::new(t0, Vec::new(), Vec::new());
        c.feed(
            b"warren-vm: running warrend on containerd 2.1\ntest cli ... ",
            t0 + Duration::from_secs(1),
        );
        c.feed(b"warrend: no socket yet\n", t0 + Duration::from_secs(2));
        c.feed(b"ok\n", t0 + Duration::from_secs(9));
        assert_eq!(
            c.summary.tests,
            [TestTime {
                name: "warrend::cli".into(),
                result: "ok".into(),
                seconds: 8.0
            }]
        );
    }

    #[test]
    fn a_test_running_when_the_console_ends_is_unfinished() {
        let mut c = Console::new(Instant::now(), Vec::new(), Vec::new());
        c.follow(&b"warren-vm: running warrend on containerd 2.1\ntest cli ... "[..]);
        assert_eq!(c.summary.tests.len(), 1);
        assert_eq!(c.summary.tests[0].name, "warrend::cli");
        assert_eq!(c.summary.tests[0].result, "UNFINISHED");
    }

    #[test]
    fn ansi() {
        assert_eq!(strip_ansi("\x1b[31mFAILED\x1b[0m"), "FAILED");
    }
}
