//! Talking to registries through `oci-client`: protocol, credentials, and turning its errors
//! into typed ones.

use std::collections::BTreeMap;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use crate::RuntimeError;

/// Per-registry settings.
#[derive(Debug, Clone, Default, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct RegistryOptions {
    /// Registries (`host[:port]`) spoken to over plain HTTP. Loopback registries on a port
    /// other than 443 are always plain HTTP, as containerd does.
    pub plain_http: Vec<String>,
    /// Basic-auth credentials per registry host (`host[:port]` → (user, password)); they are
    /// also used to obtain bearer tokens from a registry's token service.
    pub credentials: BTreeMap<String, (String, String)>,
}

impl RegistryOptions {
    /// A client for `reference`'s registry: plain HTTP where configured, and (as containerd
    /// does) for a loopback registry on a port other than 443.
    pub(crate) fn client(&self, reference: &Reference) -> Client {
        let mut http: Vec<String> = self.plain_http.clone();
        if self.is_plain_http(reference) {
            http.push(reference.registry().to_string());
        }
        Client::new(ClientConfig {
            protocol: ClientProtocol::HttpsExcept(http),
            ..Default::default()
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

    pub(crate) fn auth(&self, reference: &Reference) -> RegistryAuth {
        match self.credentials.get(reference.registry()) {
            Some((u, p)) => RegistryAuth::Basic(u.clone(), p.clone()),
            None => RegistryAuth::Anonymous,
        }
    }
}

/// The digest-verification failure inside an I/O error of a blob stream, if that is what it is.
pub(crate) fn digest_failure(e: &std::io::Error) -> Option<&DigestError> {
    e.get_ref()?.downcast_ref::<DigestError>()
}

/// Turn an `oci-client` error met while doing `op` for `r` into a typed error.
pub(crate) fn classify(op: &'static str, r: &Reference, e: OciDistributionError) -> RuntimeError {
    let registry = r.registry().to_string();
    let message = e.to_string();
    let unauthorized = || RuntimeError::Unauthorized {
        op,
        registry: registry.clone(),
        message: message.clone(),
    };
    let unknown = || RuntimeError::UnknownImage {
        reference: r.whole(),
        message: message.clone(),
    };
    match &e {
        OciDistributionError::AuthenticationFailure(_)
        | OciDistributionError::UnauthorizedError { .. } => unauthorized(),
        OciDistributionError::ImageManifestNotFoundError(_) => unknown(),
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                unauthorized()
            } else if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                unknown()
            } else {
                RuntimeError::Registry {
                    op,
                    reference: r.whole(),
                    message,
                }
            }
        }
        OciDistributionError::ServerError {
            code: 401 | 403, ..
        } => unauthorized(),
        OciDistributionError::ServerError { code: 404, .. } => unknown(),
        OciDistributionError::DigestError(d) => RuntimeError::DigestMismatch {
            reference: r.whole(),
            digest: String::new(),
            message: d.to_string(),
        },
        // No answer at all: refused, timed out, or the request could not be sent (a
        // connection the registry closed under us).
        OciDistributionError::RequestError(re)
            if re.status().is_none() && (re.is_connect() || re.is_timeout() || re.is_request()) =>
        {
            RuntimeError::RegistryUnreachable {
                op,
                registry,
                message: error_chain(re),
            }
        }
        _ => RuntimeError::Registry {
            op,
            reference: r.whole(),
            message,
        },
    }
}

/// An error and its sources on one line (reqwest's own message hides the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
