//! Health checks on the runtime side: the request's overrides are checked before anything
//! is created, merged with the image's `Healthcheck` at create time, and the resolved check
//! is recorded on the container (label [`HEALTH_LABEL`]) so that whoever runs the checks
//! (warrend) finds it again after a restart. The runtime itself runs no checks.

use std::collections::HashMap;

use warren_spec::health::{self, HealthCheck};

use super::ContainerRequest;
use crate::images::Image;
use crate::RuntimeError;

/// The label holding a container's resolved health check (JSON of [`HealthCheck`]).
pub const HEALTH_LABEL: &str = "io.warren.health";

fn spec_error(req: &ContainerRequest, source: warren_spec::SpecError) -> RuntimeError {
    RuntimeError::Spec {
        id: req.id.clone(),
        source,
    }
}

/// The overrides on their own (flags that contradict each other, bad durations).
pub(crate) fn validate(req: &ContainerRequest) -> Result<(), RuntimeError> {
    req.health.validate().map_err(|e| spec_error(req, e))
}

/// Record the merged check of `req` over `image`'s, if there is one.
pub(crate) fn add_label(
    labels: &mut HashMap<String, String>,
    req: &ContainerRequest,
    image: &Image,
) -> Result<(), RuntimeError> {
    let check = health::merge(image.config.healthcheck.as_ref(), &req.health)
        .map_err(|e| spec_error(req, e))?;
    if let Some(check) = check {
        labels.insert(HEALTH_LABEL.into(), check.to_json());
    }
    Ok(())
}

/// The check recorded on a container (`None` without one, or with an unreadable record).
pub(crate) fn from_labels(labels: &HashMap<String, String>) -> Option<HealthCheck> {
    let json = labels.get(HEALTH_LABEL)?;
    match HealthCheck::from_json(json) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring an unreadable health check record");
            None
        }
    }
}
