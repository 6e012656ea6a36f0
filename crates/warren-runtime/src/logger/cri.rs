//! The CRI log format: one record per line, `<RFC 3339 time> <stream> <P|F> <text>`, where
//! `P` marks a part of a line longer than [`MAX_RECORD`] and `F` its last (or only) part.

/// The longest record's text; longer lines are split into partial (`P`) records.
pub(crate) const MAX_RECORD: usize = 16 * 1024;

/// The time field of records written now: RFC 3339 in UTC with nanoseconds.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Turns one stream's bytes, as they are read, into records.
#[derive(Debug)]
pub(crate) struct Encoder {
    stream: &'static str,
    pending: Vec<u8>,
}

impl Encoder {
    /// An encoder for `stream` (`stdout` or `stderr`).
    pub(crate) fn new(stream: &'static str) -> Encoder {
        Encoder {
            stream,
            pending: Vec::new(),
        }
    }

    fn record(&self, out: &mut Vec<u8>, time: &str, partial: bool, text: &[u8]) {
        out.extend_from_slice(time.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.stream.as_bytes());
        out.extend_from_slice(if partial { b" P " } else { b" F " });
        out.extend_from_slice(text);
        out.push(b'\n');
    }

    /// Add the records of the complete lines in `pending + data` to `out`; keep the rest
    /// (up to [`MAX_RECORD`] bytes) for the next call.
    pub(crate) fn feed(&mut self, data: &[u8], time: &str, out: &mut Vec<u8>) {
        let mut rest = data;
        while !rest.is_empty() {
            match rest.iter().position(|b| *b == b'\n') {
                Some(i) => {
                    let (line, after) = rest.split_at(i);
                    rest = &after[1..];
                    if self.pending.is_empty() {
                        self.emit_line(line, time, out);
                    } else {
                        let mut joined = std::mem::take(&mut self.pending);
                        joined.extend_from_slice(line);
                        self.emit_line(&joined, time, out);
                    }
                }
                None => {
                    self.pending.extend_from_slice(rest);
                    rest = &[];
                    // A line this long is written in parts as it comes.
                    while self.pending.len() >= MAX_RECORD {
                        let part: Vec<u8> = self.pending.drain(..MAX_RECORD).collect();
                        self.record(out, time, true, &part);
                    }
                }
            }
        }
    }

    /// One line: partial records of [`MAX_RECORD`] bytes, then the final one.
    fn emit_line(&self, line: &[u8], time: &str, out: &mut Vec<u8>) {
        let mut line = line;
        while line.len() > MAX_RECORD {
            let (part, after) = line.split_at(MAX_RECORD);
            self.record(out, time, true, part);
            line = after;
        }
        self.record(out, time, false, line);
    }

    /// Write what there is of an unterminated line now, as a partial record: for
    /// terminals, whose prompts end without a newline and must not wait for one.
    pub(crate) fn flush_partial(&mut self, time: &str, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            let part = std::mem::take(&mut self.pending);
            self.record(out, time, true, &part);
        }
    }

    /// At the end of the stream: what is left of an unterminated last line, as a final
    /// record.
    pub(crate) fn finish(&mut self, time: &str, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.record(out, time, false, &rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(out: &[u8]) -> Vec<(String, String)> {
        String::from_utf8_lossy(out)
            .lines()
            .map(|l| {
                let mut p = l.splitn(4, ' ');
                let _time = p.next();
                let _stream = p.next();
                (
                    p.next().unwrap().to_string(),
                    p.next().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn lines_split_across_reads_and_long_lines_in_parts() {
        let mut e = Encoder::new("stdout");
        let mut out = Vec::new();
        e.feed(b"one\n\ntw", "T", &mut out);
        e.feed(b"o\nthr", "T", &mut out);
        assert_eq!(
            records(&out),
            [
                ("F".into(), "one".into()),
                ("F".into(), "".into()),
                ("F".into(), "two".into())
            ]
        );
        out.clear();
        let long = vec![b'x'; MAX_RECORD + 10];
        e.feed(&long, "T", &mut out);
        e.feed(b"\nlast", "T", &mut out);
        e.finish("T", &mut out);
        let got: Vec<(String, usize)> = records(&out)
            .into_iter()
            .map(|(tag, text)| (tag, text.len()))
            .collect();
        assert_eq!(
            got,
            [
                ("P".to_string(), MAX_RECORD),
                ("F".to_string(), 3 + 10),
                ("F".to_string(), 4)
            ]
        );
        assert!(String::from_utf8_lossy(&out).starts_with("T stdout P thrxx"));
    }
}
