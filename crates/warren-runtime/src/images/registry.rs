//! Per-registry settings: protocol, credentials, and how long a registry may take.

use std::collections::BTreeMap;
use std::time::Duration;

use oci_client::Reference;

use super::limits::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT};
use crate::RuntimeError;

/// Per-registry settings.
#[derive(Debug, Clone, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct RegistryOptions {
    /// Registries (`host[:port]`) spoken to over plain HTTP. Loopback registries on a port
    /// other than 443 are always plain HTTP, as containerd does.
    pub plain_http: Vec<String>,
    /// Basic-auth credentials per registry host (`host[:port]` → (user, password)); they are
    /// also used to obtain bearer tokens from a registry's token service.
    pub credentials: BTreeMap<String, (String, String)>,
    /// How long a connection to a registry (TCP and TLS) may take (default 30 s). A
    /// registry that cannot be reached in that time fails the pull as unreachable.
    pub connect_timeout: Duration,
    /// How long a registry (or its token service) may stay silent, waiting for its answer
    /// or for the next bytes of a body (default 60 s). An idle timeout, not a total one:
    /// a slow but steady download never hits it; one that stalls fails with
    /// [`RuntimeError::RegistryTimeout`].
    pub read_timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            plain_http: Vec::new(),
            credentials: BTreeMap::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }
}

/// Where the registry timeouts are set, for error messages.
pub(crate) const CONNECT_TIMEOUT_SETTING: &str =
    "RegistryOptions::connect_timeout; warrend: registry.connect_timeout_s";
pub(crate) const READ_TIMEOUT_SETTING: &str =
    "RegistryOptions::read_timeout; warrend: registry.read_timeout_s";

impl RegistryOptions {
    /// Refuse timeouts of zero (they would fail every request).
    pub(crate) fn validate(&self) -> Result<(), RuntimeError> {
        for (field, value) in [
            ("registry connect_timeout", self.connect_timeout),
            ("registry read_timeout", self.read_timeout),
        ] {
            if value.is_zero() {
                return Err(RuntimeError::InvalidRequest {
                    field,
                    value: format!("{value:?}"),
                    allowed: "more than zero".into(),
                });
            }
        }
        Ok(())
    }

    /// The HTTP client every registry request of a runtime handle goes through: the
    /// connect timeout set, redirects followed (reqwest drops credentials on a redirect to
    /// another host). Read limits and the idle timeout are applied per request (`http.rs`).
    pub(crate) fn http_client(&self) -> Result<reqwest::Client, RuntimeError> {
        reqwest::Client::builder()
            .user_agent(concat!("warren-runtime/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(|e| RuntimeError::Registry {
                op: "setting up the registry client",
                reference: String::new(),
                message: e.to_string(),
                source: None,
            })
    }

    /// True if `reference`'s registry is spoken to over plain HTTP: configured so, or a
    /// loopback registry on a port other than 443.
    pub(crate) fn is_plain_http(&self, reference: &Reference) -> bool {
        let registry = reference.registry();
        if self.plain_http.iter().any(|h| h == registry) {
            return true;
        }
        let (host, port) = match registry.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, Some(p)),
            _ => (registry, None),
        };
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        loopback && port.is_some_and(|p| p != "443")
    }

    /// The basic-auth credentials configured for `reference`'s registry, if any.
    pub(crate) fn credentials_for(&self, reference: &Reference) -> Option<(String, String)> {
        self.credentials.get(reference.registry()).cloned()
    }
}
