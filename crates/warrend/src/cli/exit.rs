//! The error that ends a client command with a given exit code.

use warren_client::ClientError;

/// An error that ends the process with a given code (125 when `run` failed before the
/// container ran, 126 when `exec` could not run the command, as Docker does).
#[derive(Debug)]
pub struct Exit {
    /// The process exit code.
    pub code: u8,
    /// What went wrong.
    pub message: String,
}

impl Exit {
    /// The daemon refused: its message (as warren-client words it), with `code`.
    pub fn refused(code: u8, e: ClientError) -> anyhow::Error {
        anyhow::Error::new(Exit {
            code,
            message: e.to_string(),
        })
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_command_errors_say_the_daemon_went_away() {
        let broken = ClientError::from(tonic::Status::unavailable("transport error"));
        let refused = Exit::refused(125, broken).to_string();
        assert_eq!(refused, "the daemon went away: transport error");
    }
}
