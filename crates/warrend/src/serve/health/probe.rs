//! One run of a health check: an exec in the container through warren-runtime (which
//! removes the process and its FIFOs whatever happens), killed at the check's timeout.

use std::time::SystemTime;

use warren_runtime::{ContainerdRuntime, ExecRequest, RuntimeError};
use warren_spec::health::HealthCheck;

use super::state::{cut_output, CheckResult};

/// What a probe found.
pub enum Probe {
    /// The check ran (or could not start: a failed result).
    Ran(CheckResult),
    /// The container is not running (any more): checking ends.
    NotRunning,
}

/// Run `check` once in container `id`.
pub async fn run(rt: &ContainerdRuntime, id: &str, check: &HealthCheck) -> Probe {
    let start = SystemTime::now();
    let req = ExecRequest::new(check.args.clone()).timeout(check.timeout());
    let (exit_code, output) = match rt.exec(id, &req).await {
        Ok(out) if out.timed_out => (
            -1,
            format!("Health check exceeded timeout ({:?})", check.timeout()),
        ),
        Ok(out) => {
            let mut bytes = out.stdout;
            bytes.extend_from_slice(&out.stderr);
            (out.exit_code as i32, cut_output(&bytes))
        }
        Err(RuntimeError::WrongState { .. } | RuntimeError::NotFound { .. }) => {
            return Probe::NotRunning
        }
        Err(e) => (-1, cut_output(e.to_string().as_bytes())),
    };
    Probe::Ran(CheckResult {
        start,
        end: SystemTime::now(),
        exit_code,
        output,
    })
}
