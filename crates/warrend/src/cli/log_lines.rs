//! A container's output as `run` and `logs` print it: each line to stdout or stderr (or as
//! JSON), buffered.

use warren_client::Word;
use warren_proto::warren::node::v1 as api;

use super::json;
use super::output::{json_line, rfc3339};

pub(super) fn print_line(l: &api::LogLine, timestamps: bool, json: bool) {
    let mut out = LinesOut::default();
    out.line(l, timestamps, json);
    out.flush();
}

/// Log lines to stdout and stderr, buffered: a burst of lines costs a few writes, not one
/// per line. The order across the two streams is kept (a switch flushes the other one).
#[derive(Default)]
pub(super) struct LinesOut {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl LinesOut {
    pub(super) fn line(&mut self, l: &api::LogLine, timestamps: bool, json: bool) {
        use std::io::Write as _;
        let stream = l.stream().word();
        let (buf, other_is) = if stream == "stderr" && !json {
            (&mut self.stderr, "stdout")
        } else {
            (&mut self.stdout, "stderr")
        };
        if json {
            let _ = writeln!(buf, "{}", json_line(&json::LogLine::from(l)));
        } else if timestamps {
            let _ = writeln!(buf, "{} {}", rfc3339(&l.time), l.text);
        } else {
            buf.extend_from_slice(l.text.as_bytes());
            buf.push(b'\n');
        }
        let switched = if other_is == "stdout" {
            !self.stdout.is_empty()
        } else {
            !self.stderr.is_empty()
        };
        if switched || self.stdout.len() + self.stderr.len() > 64 * 1024 {
            self.flush();
        }
    }

    pub(super) fn flush(&mut self) {
        use std::io::Write as _;
        // Whichever was written first goes first: at most one holds lines older than the
        // other's newest (a switch flushes).
        for (buf, err) in [(&mut self.stdout, false), (&mut self.stderr, true)] {
            if buf.is_empty() {
                continue;
            }
            let _ = if err {
                std::io::stderr().write_all(buf)
            } else {
                std::io::stdout().write_all(buf)
            };
            buf.clear();
        }
    }
}
