//! The frames a container's logger and an attached client exchange over the logger's
//! attach socket: `[kind: u8][length: u32, big-endian][bytes]`.

/// Bytes the client sends to the container's stdin.
pub(crate) const STDIN: u8 = 0;
/// Bytes the container wrote to stdout (or to its terminal).
pub(crate) const STDOUT: u8 = 1;
/// Bytes the container wrote to stderr.
pub(crate) const STDERR: u8 = 2;
/// The client closes the container's stdin (after what it sent before).
pub(crate) const STDIN_CLOSE: u8 = 3;
/// The client saw the container's process exit (containerd's Wait returned). Its payload
/// is the pid of the logger the client means (4 bytes, big-endian), so that a claim about
/// an earlier task never reaches the logger of the next one. The logger reads what is left
/// in the pipes, answers [`ENDED`] to every client and closes their connections.
pub(crate) const EXITED: u8 = 4;
/// The logger's answer to [`EXITED`]: everything the container wrote has been logged and
/// sent; the connection closes after this frame.
pub(crate) const ENDED: u8 = 5;
/// The largest frame either side accepts.
pub(crate) const MAX_FRAME: usize = 256 * 1024;

/// Append one frame to `out`.
pub(crate) fn encode(kind: u8, data: &[u8], out: &mut Vec<u8>) {
    out.push(kind);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
}

/// Frames out of a byte stream that arrives in pieces.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    buf: Vec<u8>,
}

/// A frame longer than [`MAX_FRAME`]: the peer does not speak this protocol.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Oversized(pub usize);

impl Decoder {
    /// Take in bytes as they were read.
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if one has arrived.
    pub(crate) fn next_frame(&mut self) -> Result<Option<(u8, Vec<u8>)>, Oversized> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_FRAME {
            return Err(Oversized(len));
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let kind = self.buf[0];
        let data = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Ok(Some((kind, data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_survive_any_split() {
        let mut wire = Vec::new();
        encode(STDOUT, b"hello", &mut wire);
        encode(STDERR, b"", &mut wire);
        encode(STDIN, &[7u8; 1000], &mut wire);
        for split in [1, 3, 5, 7, 100] {
            let mut d = Decoder::default();
            let mut got = Vec::new();
            for piece in wire.chunks(split) {
                d.push(piece);
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f);
                }
            }
            assert_eq!(got.len(), 3);
            assert_eq!(got[0], (STDOUT, b"hello".to_vec()));
            assert_eq!(got[1], (STDERR, vec![]));
            assert_eq!(got[2].1.len(), 1000);
        }
        let mut d = Decoder::default();
        d.push(&[1, 0xff, 0xff, 0xff, 0xff]);
        assert!(d.next_frame().is_err());
    }
}
