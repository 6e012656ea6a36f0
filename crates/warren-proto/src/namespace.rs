//! containerd namespaces and leases as request metadata.
//!
//! Every namespaced containerd call must carry the `containerd-namespace` header (without it
//! the daemon answers FAILED_PRECONDITION "namespace is required"); calls made under a lease
//! also carry `containerd-lease`, so what they create is protected from garbage collection
//! until the lease is deleted.

use std::fmt;

use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::Error;

/// The metadata key that names the containerd namespace of a call.
pub const NAMESPACE_HEADER: &str = "containerd-namespace";
/// The metadata key that names the lease a call works under.
pub const LEASE_HEADER: &str = "containerd-lease";
/// The longest identifier containerd accepts.
pub const MAX_IDENTIFIER_LEN: usize = 76;

/// Check an identifier (namespace, container, exec, lease id) against containerd's rule:
/// alphanumeric runs joined by single `.`, `_` or `-`, at most 76 characters.
pub fn validate_identifier(what: &'static str, value: &str) -> Result<(), Error> {
    let fail = |reason| {
        Err(Error::InvalidIdentifier {
            what,
            value: value.to_string(),
            reason,
        })
    };
    if value.is_empty() {
        return fail("empty");
    }
    if value.len() > MAX_IDENTIFIER_LEN {
        return fail("too long");
    }
    let mut prev_sep = true;
    for c in value.chars() {
        if c.is_ascii_alphanumeric() {
            prev_sep = false;
        } else if matches!(c, '.' | '_' | '-') {
            if prev_sep {
                return fail("a separator at the start or next to another separator");
            }
            prev_sep = true;
        } else {
            return fail("a character other than a letter, digit, '.', '_' or '-'");
        }
    }
    if prev_sep {
        return fail("a separator at the end");
    }
    Ok(())
}

/// A namespace name that containerd will accept.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Namespace(String);

impl Namespace {
    /// Validate `name` (see [`validate_identifier`]).
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        validate_identifier("namespace", &name)?;
        Ok(Namespace(name))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Namespace({:?})", self.0)
    }
}

impl AsRef<str> for Namespace {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Namespace {
    type Error = Error;
    fn try_from(name: String) -> Result<Self, Error> {
        Namespace::new(name)
    }
}

impl TryFrom<&str> for Namespace {
    type Error = Error;
    fn try_from(name: &str) -> Result<Self, Error> {
        Namespace::new(name)
    }
}

impl std::str::FromStr for Namespace {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Namespace::new(s)
    }
}

/// Sets the namespace header (and, if given, the lease header) on every request of a client.
#[derive(Clone, Debug)]
pub struct NamespaceInterceptor {
    namespace: MetadataValue<tonic::metadata::Ascii>,
    lease: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl NamespaceInterceptor {
    /// Calls made through this interceptor work in `namespace`.
    pub fn new(namespace: &Namespace) -> Self {
        NamespaceInterceptor {
            namespace: ascii(namespace.as_str()),
            lease: None,
        }
    }

    /// The same namespace, with every call also made under `lease` (a validated lease id).
    pub fn with_lease(&self, lease: &str) -> Result<Self, Error> {
        validate_identifier("lease id", lease)?;
        Ok(NamespaceInterceptor {
            namespace: self.namespace.clone(),
            lease: Some(ascii(lease)),
        })
    }
}

fn ascii(s: &str) -> MetadataValue<tonic::metadata::Ascii> {
    // Validated identifiers are plain ASCII, so this cannot fail.
    MetadataValue::try_from(s).unwrap_or_else(|_| MetadataValue::from_static(""))
}

impl Interceptor for NamespaceInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let md = request.metadata_mut();
        md.insert(NAMESPACE_HEADER, self.namespace.clone());
        if let Some(lease) = &self.lease {
            md.insert(LEASE_HEADER, lease.clone());
        }
        Ok(request)
    }
}

/// Put one request in `namespace` (for calls made without an intercepted client).
pub fn with_namespace<T>(namespace: &Namespace, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert(NAMESPACE_HEADER, ascii(namespace.as_str()));
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["warren", "a", "a.b-c_d", "A1", &"x".repeat(76)] {
            assert!(validate_identifier("namespace", ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a..b", "a/b", "ä", "a b", &"x".repeat(77)] {
            assert!(validate_identifier("namespace", bad).is_err(), "{bad}");
        }
        let err = Namespace::new("bad/ns").unwrap_err().to_string();
        assert!(err.contains("bad/ns") && err.contains("allowed"), "{err}");
    }

    #[test]
    fn interceptor_sets_both_headers() {
        let ns = Namespace::new("warren").unwrap();
        let mut i = NamespaceInterceptor::new(&ns).with_lease("pull-1").unwrap();
        let req = i.call(Request::new(())).unwrap();
        assert_eq!(req.metadata().get(NAMESPACE_HEADER).unwrap(), "warren");
        assert_eq!(req.metadata().get(LEASE_HEADER).unwrap(), "pull-1");
        assert!(NamespaceInterceptor::new(&ns).with_lease("no way").is_err());
        let one = with_namespace(&ns, 5u8);
        assert_eq!(one.metadata().get(NAMESPACE_HEADER).unwrap(), "warren");
    }
}
