//! Registry authorization: reading a `WWW-Authenticate` challenge and fetching a bearer
//! token from the token service it names, with the answer capped at
//! [`MAX_TOKEN_BYTES`] and the registry clock's time limits.

use super::http::{Clock, ReadError};
use super::limits::MAX_TOKEN_BYTES;
use crate::RuntimeError;

/// What a registry's `WWW-Authenticate` header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// A bearer token from the token service at `realm`.
    Bearer {
        /// The token service's URL.
        realm: String,
        /// The `service` parameter to pass on, if the challenge gave one.
        service: Option<String>,
    },
    /// Basic authentication.
    Basic,
    /// Nothing we understand.
    Other,
}

/// Parse a `WWW-Authenticate` value: `Bearer realm="…",service="…",scope="…"` or `Basic …`.
pub(crate) fn parse_challenge(header: &str) -> Challenge {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Challenge::Basic;
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Challenge::Other;
    }
    let params = parameters(rest);
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    match get("realm") {
        Some(realm) if !realm.is_empty() => Challenge::Bearer {
            realm,
            service: get("service"),
        },
        _ => Challenge::Other,
    }
}

/// `key=value` pairs separated by commas; values may be quoted (and then hold commas).
fn parameters(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ','))
            .collect::<String>()
            .trim()
            .to_string();
        if key.is_empty() || chars.next() != Some('=') {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| chars.next_if(|c| *c != ',')));
            value = value.trim().to_string();
        }
        out.push((key, value));
    }
}

/// A pull token for `repository` from the token service of `challenge` (basic
/// `credentials` sent along when we have some).
pub(crate) async fn fetch_token(
    http: &reqwest::Client,
    clock: &Clock,
    (realm, service): (&str, Option<&str>),
    repository: &str,
    credentials: Option<&(String, String)>,
    registry: &str,
) -> Result<String, RuntimeError> {
    let op = "authorizing";
    let scope = format!("repository:{repository}:pull");
    let mut query = vec![("scope", scope.as_str())];
    if let Some(s) = service {
        query.push(("service", s));
    }
    let mut request = http.get(realm).query(&query);
    if let Some((user, password)) = credentials {
        request = request.basic_auth(user, Some(password));
    }
    let response = clock
        .send(request)
        .await
        .map_err(|f| f.into_error(op, registry))?;
    let status = response.status;
    if !status.is_success() {
        let message = response.error_text(clock).await;
        return Err(match status.as_u16() {
            401 | 403 => RuntimeError::Unauthorized {
                op,
                registry: registry.to_string(),
                message,
                source: None,
            },
            _ => RuntimeError::Registry {
                op,
                reference: registry.to_string(),
                message,
                source: None,
            },
        });
    }
    let bytes = response
        .read_capped(clock, MAX_TOKEN_BYTES)
        .await
        .map_err(|e| match e {
            ReadError::Over => RuntimeError::TooLarge {
                what: "token service answer",
                subject: realm.to_string(),
                limit: MAX_TOKEN_BYTES,
                detail: " (a fixed limit: limits::MAX_TOKEN_BYTES)".into(),
            },
            ReadError::Failed(f) => f.into_error(op, registry),
        })?;
    let json: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| RuntimeError::Registry {
            op,
            reference: registry.to_string(),
            message: format!("the token service {realm} answered with no JSON: {e}"),
            source: Some(Box::new(e)),
        })?;
    ["token", "access_token"]
        .iter()
        .find_map(|k| {
            json.get(k)
                .and_then(|t| t.as_str())
                .filter(|t| !t.is_empty())
        })
        .map(str::to_string)
        .ok_or_else(|| RuntimeError::Registry {
            op,
            reference: registry.to_string(),
            message: format!("the token service {realm} answered without a token"),
            source: None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_are_read_with_quoted_commas() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
            }
        );
        assert_eq!(parse_challenge("basic realm=\"x\""), Challenge::Basic);
        assert_eq!(parse_challenge("Bearer service=x"), Challenge::Other);
        assert_eq!(parse_challenge("Negotiate"), Challenge::Other);
        assert_eq!(
            parse_challenge("Bearer realm=http://t/token"),
            Challenge::Bearer {
                realm: "http://t/token".into(),
                service: None
            }
        );
    }
}
