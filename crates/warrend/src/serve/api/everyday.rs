//! The everyday container calls: kill, restart, top, prune of containers and images, and
//! the time window of `logs --since/--until`.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use futures::StreamExt;
use tonic::Status;
use warren_proto::warren::node::v1 as api;
use warren_runtime::ContainerState;

use super::Stream;
use crate::serve::errors::ApiError;
use crate::serve::Daemon;

fn need_id(id: &str) -> Result<(), Status> {
    if id.is_empty() {
        return Err(Status::invalid_argument("a container id is required"));
    }
    Ok(())
}

fn system_time(t: &prost_types::Timestamp) -> SystemTime {
    SystemTime::try_from(*t).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The signal a `kill` asks for: empty means SIGKILL (the API's default); otherwise as
/// [`warren_spec::units::parse_signal`] reads it (names with or without `SIG`, `RTMIN+n`,
/// numbers), as `docker kill -s` takes it.
fn kill_signal(s: &str) -> Result<i32, Status> {
    if s.is_empty() {
        return Ok(libc::SIGKILL);
    }
    warren_spec::units::parse_signal(s).map_err(|e| Status::invalid_argument(format!("kill: {e}")))
}

/// Send a signal to a running container. SIGKILL or the container's own stop signal ends
/// it on the user's behalf, as `stop` does: its restart policy does not bring it back
/// (Docker does the same); any other signal is a message to the process, and if the
/// process dies of it, that exit is one like any other for the policy.
pub async fn kill(d: &Daemon, req: api::KillRequest) -> Result<api::KillResponse, ApiError> {
    need_id(&req.id)?;
    let signal = kill_signal(&req.signal)?;
    let _turn = d.restart.hold(&req.id).await;
    let c =
        d.rt.container_info(&req.id)
            .await
            .map_err(ApiError::runtime("kill"))?;
    if !matches!(
        c.status.state,
        ContainerState::Running | ContainerState::Paused
    ) {
        return Err(Status::failed_precondition(format!(
            "container {} is {}: kill needs it running (start it first)",
            req.id, c.status.state
        ))
        .into());
    }
    let stop_signal = c
        .labels
        .get(warren_runtime::STOP_SIGNAL_LABEL)
        .and_then(|s| warren_spec::units::parse_signal(s).ok())
        .unwrap_or(libc::SIGTERM);
    if signal == libc::SIGKILL || signal == stop_signal {
        // Before the signal, so the exit it causes is never taken for a crash.
        d.restart.stopped_by_user(&req.id).await;
    }
    d.rt.kill_container(&req.id, signal)
        .await
        .map_err(ApiError::runtime("kill"))?;
    Ok(api::KillResponse {})
}

/// Stop a container (if it runs) and start it again. The stop is the user's, so the
/// restart policy does not start it a second time.
pub async fn restart(d: &Daemon, req: api::RestartRequest) -> Result<api::StartResponse, ApiError> {
    need_id(&req.id)?;
    let timeout = super::containers::stop_timeout(req.timeout.as_ref())?;
    // One turn for both halves: no policy starts it in between.
    let _turn = d.restart.hold(&req.id).await;
    super::containers::stop_held(d, &req.id, timeout).await?;
    let exited_at =
        d.rt.container_status(&req.id)
            .await
            .map_err(ApiError::runtime("restart"))?
            .exit
            .and_then(|e| e.exited_at);
    d.restart.exit_was_users(&req.id, exited_at);
    let pid = super::containers::start_timed(d, &req.id).await?;
    Ok(api::StartResponse { pid })
}

/// One `/proc/<pid>` as a process row; `None` if it is gone.
async fn process(pid: u32, users: &HashMap<u32, String>) -> Option<api::Process> {
    let status = tokio::fs::read_to_string(format!("/proc/{pid}/status"))
        .await
        .ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let ppid = field("PPid:")?.parse().unwrap_or(0);
    // Real, effective, saved, filesystem: the real one, as `ps -o uid` shows.
    let uid: u32 = field("Uid:")?
        .split_whitespace()
        .next()?
        .parse()
        .unwrap_or(0);
    let cmdline = tokio::fs::read(format!("/proc/{pid}/cmdline"))
        .await
        .unwrap_or_default();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let command = if args.is_empty() {
        format!("[{}]", field("Name:").unwrap_or_default())
    } else {
        args.join(" ")
    };
    Some(api::Process {
        pid,
        ppid,
        uid,
        user: users.get(&uid).cloned().unwrap_or_default(),
        command,
    })
}

/// uid → name from the node's /etc/passwd (empty if unreadable).
async fn host_users() -> HashMap<u32, String> {
    let text = tokio::fs::read_to_string("/etc/passwd")
        .await
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            Some((uid, name.to_string()))
        })
        .collect()
}

/// The processes of a running container: host pids from containerd, the rest from the
/// node's /proc (a process that ended meanwhile is left out).
pub async fn top(d: &Daemon, req: api::ContainerRef) -> Result<api::TopResponse, ApiError> {
    need_id(&req.id)?;
    let pids =
        d.rt.container_pids(&req.id)
            .await
            .map_err(ApiError::runtime("top"))?;
    let users = host_users().await;
    let mut processes = Vec::with_capacity(pids.len());
    for pid in pids {
        if let Some(p) = process(pid, &users).await {
            processes.push(p);
        }
    }
    Ok(api::TopResponse { processes })
}

fn before(created: Option<SystemTime>, until: Option<SystemTime>) -> bool {
    match (created, until) {
        (_, None) => true,
        (Some(c), Some(u)) => c < u,
        (None, Some(_)) => false,
    }
}

/// Delete every container that is neither running nor paused (created before `until`).
/// Goes on past a failure; then fails, naming what was removed and what was not.
pub async fn prune_containers(
    d: &Daemon,
    req: api::PruneRequest,
) -> Result<api::PruneResponse, ApiError> {
    let until = req.until.as_ref().map(system_time);
    let list =
        d.rt.list_containers()
            .await
            .map_err(ApiError::runtime("prune containers"))?;
    let mut removed = Vec::new();
    let mut failed = Vec::new();
    for c in list {
        let idle = matches!(
            c.status.state,
            ContainerState::Created | ContainerState::Stopped
        );
        if !idle || !before(c.created_at, until) {
            continue;
        }
        let req = api::DeleteRequest {
            id: c.id.clone(),
            force: false,
        };
        match super::containers::delete(d, req).await {
            Ok(_) => removed.push(c.id),
            // Started meanwhile: not ours to remove.
            Err(e) if e.code() == tonic::Code::FailedPrecondition => {}
            Err(e) => failed.push(format!("{}: {e}", c.id)),
        }
    }
    done(removed, failed, 0)
}

fn done(
    removed: Vec<String>,
    failed: Vec<String>,
    bytes_reclaimed: u64,
) -> Result<api::PruneResponse, ApiError> {
    if failed.is_empty() {
        return Ok(api::PruneResponse {
            removed,
            bytes_reclaimed,
        });
    }
    Err(Status::internal(format!(
        "removed [{}]; could not remove: {} (prune again to retry)",
        removed.join(", "),
        failed.join("; ")
    ))
    .into())
}

/// Bytes of every blob in the namespace's content store.
async fn content_bytes(d: &Daemon) -> Result<u64, ApiError> {
    d.rt.content_bytes()
        .await
        .map_err(ApiError::runtime("prune images"))
}

/// Remove every image no container (in any state) was created from, if created before
/// `until`. The bytes reclaimed are what the content store shrank by: blobs another image
/// still uses stay.
pub async fn prune_images(
    d: &Daemon,
    req: api::PruneRequest,
) -> Result<api::PruneResponse, ApiError> {
    let until = req.until.as_ref().map(system_time);
    let images =
        d.rt.list_image_records()
            .await
            .map_err(ApiError::runtime("prune images"))?;
    let used: HashSet<String> =
        d.rt.list_containers()
            .await
            .map_err(ApiError::runtime("prune images"))?
            .into_iter()
            .map(|c| c.image)
            .collect();
    let before_bytes = content_bytes(d).await?;
    let mut removed = Vec::new();
    let mut failed = Vec::new();
    for image in images {
        if used.contains(&image.name) || !before(image.created, until) {
            continue;
        }
        match d.rt.remove_image(&image.name).await {
            Ok(()) => removed.push(image.name),
            Err(e) => failed.push(format!("{}: {e}", image.name)),
        }
    }
    let after_bytes = if removed.is_empty() {
        before_bytes
    } else {
        content_bytes(d).await?
    };
    done(removed, failed, before_bytes.saturating_sub(after_bytes))
}

/// `logs --since/--until`: only lines written in `[since, until)`. A follow whose `until`
/// has passed reads what is there and ends; one whose `until` is ahead ends when it comes.
/// Lines without a time are kept.
pub fn log_window(
    lines: Stream<api::LogLine>,
    since: Option<SystemTime>,
    until: Option<SystemTime>,
    follow: bool,
) -> Stream<api::LogLine> {
    if since.is_none() && until.is_none() {
        return lines;
    }
    let time = |l: &Result<api::LogLine, Status>| {
        l.as_ref()
            .ok()
            .and_then(|l| l.time.as_ref())
            .map(system_time)
    };
    let kept = lines.filter(move |l| {
        let keep = match time(l) {
            Some(t) => since.is_none_or(|s| t >= s),
            None => true,
        };
        futures::future::ready(keep)
    });
    let Some(until) = until else {
        return Box::pin(kept);
    };
    let ended = kept.take_while(move |l| futures::future::ready(time(l).is_none_or(|t| t < until)));
    match until.duration_since(SystemTime::now()) {
        Ok(wait) if follow => Box::pin(ended.take_until(tokio::time::sleep(wait))),
        _ => Box::pin(ended),
    }
}

/// Whether a logs request's follow still makes sense: not once its `until` has passed.
pub fn follow_until(follow: bool, until: Option<SystemTime>) -> bool {
    follow && until.is_none_or(|u| u > SystemTime::now())
}

/// The request's `since` and `until`.
pub fn log_bounds(req: &api::LogsRequest) -> (Option<SystemTime>, Option<SystemTime>) {
    (
        req.since.as_ref().map(system_time),
        req.until.as_ref().map(system_time),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_number_or_default() {
        assert_eq!(kill_signal("").unwrap(), libc::SIGKILL);
        assert_eq!(kill_signal("HUP").unwrap(), libc::SIGHUP);
        assert_eq!(kill_signal("sigterm").unwrap(), libc::SIGTERM);
        assert_eq!(kill_signal("10").unwrap(), 10);
        assert_eq!(kill_signal("RTMIN+3").unwrap(), 37);
        for bad in ["NOPE", "0", "999", "-9", "RTMAX-40"] {
            let e = kill_signal(bad).unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument);
            assert!(
                e.message()
                    .starts_with(&format!("kill: {bad:?} is not a signal: ")),
                "{}",
                e.message()
            );
            assert!(e.message().contains("1-64"), "{}", e.message());
        }
    }

    #[tokio::test]
    async fn the_window_keeps_lines_between_since_and_until() {
        let at = |s: u64| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s);
        let lines: Vec<Result<api::LogLine, Status>> = (1..=5)
            .map(|s| {
                Ok(api::LogLine {
                    time: Some(prost_types::Timestamp::from(at(s))),
                    stream: api::LogStream::Stdout.into(),
                    text: s.to_string(),
                })
            })
            .collect();
        let s: Stream<api::LogLine> = Box::pin(futures::stream::iter(lines));
        let kept: Vec<String> = log_window(s, Some(at(2)), Some(at(4)), false)
            .map(|l| l.unwrap().text)
            .collect()
            .await;
        assert_eq!(kept, ["2", "3"]);
    }
}
