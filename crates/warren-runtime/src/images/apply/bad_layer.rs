//! A layer the applier refused, with enough of why to give the pull the right error kind.

use crate::RuntimeError;

/// Why the applier refused a layer: its message, and the tar limit it reached when that is
/// why (a [`super::ApplyError::Limit`]), so that the pull's error can say LimitExceeded.
#[derive(Debug)]
pub(crate) struct BadLayer {
    message: String,
    limit: Option<(&'static str, u64, u64, String)>,
}

impl std::fmt::Display for BadLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl BadLayer {
    pub(crate) fn other(message: impl std::fmt::Display) -> BadLayer {
        BadLayer {
            message: message.to_string(),
            limit: None,
        }
    }

    /// The pull's error for layer `digest` of `reference`: [`RuntimeError::LimitExceeded`]
    /// for a tar limit, [`RuntimeError::BadImage`] for anything else.
    pub(crate) fn into_error(self, reference: String, digest: &str) -> RuntimeError {
        match self.limit {
            Some((limit, value, found, entry)) => crate::tar_stream::limit_exceeded(
                format!("layer {digest} of {reference}"),
                limit,
                value,
                found,
                &entry,
            ),
            None => RuntimeError::BadImage {
                reference,
                reason: format!("layer {digest}: {}", self.message),
            },
        }
    }
}

impl From<super::ApplyError> for BadLayer {
    fn from(e: super::ApplyError) -> Self {
        let message = e.to_string();
        let limit = match e {
            super::ApplyError::Limit {
                limit,
                value,
                found,
                entry,
            } => Some((limit, value, found, entry)),
            _ => None,
        };
        BadLayer { message, limit }
    }
}
