//! One pull's conversation with a registry: Warren's own HTTP client (not `oci-client`,
//! which reads token and error answers whole), authorized once for the repository, every
//! request and read bounded by the [`Clock`] (idle timeout, pull deadline) and every body
//! read whole capped.

use oci_client::Reference;
use tokio::sync::Mutex;

use super::http::{Clock, Response};
use super::token::{fetch_token, parse_challenge, Challenge};
use crate::{ContainerdRuntime, RuntimeError};

/// How requests are authorized.
#[derive(Debug, Clone)]
enum Authorization {
    None,
    Bearer(String),
    Basic(String, String),
}

/// An authorized session with one repository of one registry.
pub(crate) struct Session {
    http: reqwest::Client,
    scheme: &'static str,
    /// The host requests go to (`index.docker.io` for `docker.io`).
    host: String,
    /// The registry as the reference names it, for messages.
    pub registry: String,
    repository: String,
    credentials: Option<(String, String)>,
    authorization: Mutex<Authorization>,
    /// The time limits of every request.
    pub clock: Clock,
}

impl Session {
    /// Authorize against `r`'s repository for pulling, with `clock`'s limits.
    pub(crate) async fn open(
        rt: &ContainerdRuntime,
        r: &Reference,
        clock: Clock,
    ) -> Result<Session, RuntimeError> {
        let options = &rt.inner.registry;
        let session = Session {
            http: rt.registry_http()?,
            scheme: if options.is_plain_http(r) {
                "http"
            } else {
                "https"
            },
            host: r.resolve_registry().to_string(),
            registry: r.registry().to_string(),
            repository: r.repository().to_string(),
            credentials: options.credentials_for(r),
            authorization: Mutex::new(Authorization::None),
            clock,
        };
        let authorization = session.authorize().await?;
        *session.authorization.lock().await = authorization;
        Ok(session)
    }

    /// Ask the registry (`GET /v2/`) how to authorize, and do it.
    async fn authorize(&self) -> Result<Authorization, RuntimeError> {
        let op = "authorizing";
        let url = format!("{}://{}/v2/", self.scheme, self.host);
        let ping = self
            .clock
            .send(self.http.get(&url))
            .await
            .map_err(|f| f.into_error(op, &self.registry))?;
        let challenge = ping
            .headers
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|h| h.to_str().ok())
            .map(parse_challenge);
        let basic = || match &self.credentials {
            Some((u, p)) => Authorization::Basic(u.clone(), p.clone()),
            None => Authorization::None,
        };
        Ok(match challenge {
            Some(Challenge::Bearer { realm, service }) => {
                let token = fetch_token(
                    &self.http,
                    &self.clock,
                    (&realm, service.as_deref()),
                    &self.repository,
                    self.credentials.as_ref(),
                    &self.registry,
                )
                .await?;
                Authorization::Bearer(token)
            }
            _ => basic(),
        })
    }

    /// The URL of `tail` (`manifests/<ref>`, `blobs/<digest>`) in this repository.
    pub(crate) fn url(&self, tail: &str) -> String {
        format!(
            "{}://{}/v2/{}/{tail}",
            self.scheme, self.host, self.repository
        )
    }

    /// GET `tail` (`Accept: accept`, from byte `from` on when given). A 2xx answer is
    /// returned with its body unread; any other is an error quoting the start of its body
    /// (read capped). A 401 to a bearer token (it expired during a long pull) gets one new
    /// token and one more try.
    pub(crate) async fn get(
        &self,
        op: &'static str,
        tail: &str,
        accept: Option<&str>,
        from: Option<u64>,
    ) -> Result<Response, RuntimeError> {
        let url = self.url(tail);
        let mut renewed = false;
        loop {
            let authorization = self.authorization.lock().await.clone();
            let mut request = self.http.get(&url);
            if let Some(a) = accept {
                request = request.header(reqwest::header::ACCEPT, a);
            }
            if let Some(offset) = from {
                request = request.header(reqwest::header::RANGE, format!("bytes={offset}-"));
            }
            request = match &authorization {
                Authorization::None => request,
                Authorization::Bearer(token) => request.bearer_auth(token),
                Authorization::Basic(user, password) => request.basic_auth(user, Some(password)),
            };
            let response = self
                .clock
                .send(request)
                .await
                .map_err(|f| f.into_error(op, &self.registry))?;
            let status = response.status;
            if status.is_success() {
                return Ok(response);
            }
            if status.as_u16() == 401
                && !renewed
                && matches!(authorization, Authorization::Bearer(_))
            {
                renewed = true;
                drop(response);
                let fresh = self.authorize().await?;
                *self.authorization.lock().await = fresh;
                continue;
            }
            let message = response.error_text(&self.clock).await;
            return Err(match status.as_u16() {
                401 | 403 => RuntimeError::Unauthorized {
                    op,
                    registry: self.registry.clone(),
                    message,
                    source: None,
                },
                404 => RuntimeError::UnknownImage {
                    reference: format!("{}/{}", self.registry, self.repository),
                    message,
                    source: None,
                },
                _ => RuntimeError::Registry {
                    op,
                    reference: format!("{}/{}", self.registry, self.repository),
                    message,
                    source: None,
                },
            });
        }
    }
}
