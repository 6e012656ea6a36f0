//! Restart policies (`no`, `on-failure[:max]`, `always`) with exponential back-off, driven by
//! containerd's event stream, and auto-removal of `run --rm` containers.
//!
//! A container's policy lives on its record (label `warrend.restart`), so a restarted warrend
//! finds it again; restart counts and the set of containers a user stopped on purpose (which
//! are never restarted) are kept in `<root>/restarts.json`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use warren_runtime::{ContainerEventKind, ContainerInfo, ContainerState, RuntimeError};

use super::labels;
use super::{Daemon, NodeEvent};
use crate::config::{Config, RestartConfig};

pub use crate::spec::Policy;

/// The back-off before restart number `streak` (0-based) of a quick-failing container.
pub fn backoff(cfg: &RestartConfig, streak: u32) -> Duration {
    let ms = cfg
        .backoff_initial_ms
        .saturating_mul(1u64 << streak.min(32))
        .min(cfg.backoff_max_ms);
    Duration::from_millis(ms)
}

/// What is saved across warrend restarts.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    /// Restarts made since the container was last started by hand.
    counts: HashMap<String, u32>,
    /// Containers stopped by a user: never restarted until started by hand.
    stopped: HashSet<String>,
}

#[derive(Default)]
struct Tracker {
    saved: Saved,
    /// Quick failures in a row (for the back-off).
    streak: HashMap<String, u32>,
    /// When warrend last started each container.
    started: HashMap<String, Instant>,
    /// Exits already acted on (by exit time), so a re-subscription does not act twice.
    handled: HashMap<String, SystemTime>,
    /// A restart is scheduled.
    pending: HashSet<String>,
}

/// What a restart policy does about one exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Nothing: no policy, a user's stop, an exit already acted on or a restart pending.
    Ignore,
    /// The policy gave up on a failure after `count` restarts (an event says so).
    GiveUp { count: u32 },
    /// Start it again after `delay`; it has been restarted `count` times so far.
    Restart { count: u32, delay: Duration },
}

impl Tracker {
    /// Container `id` under `policy` exited with `code` at `exited_at`, seen at `now`.
    /// A restart is marked pending until [`backoff_over`](Tracker::backoff_over).
    fn on_exit(
        &mut self,
        id: &str,
        policy: Policy,
        code: u32,
        exited_at: SystemTime,
        now: Instant,
        cfg: &RestartConfig,
    ) -> Verdict {
        if self.saved.stopped.contains(id)
            || self.pending.contains(id)
            || self.handled.get(id) == Some(&exited_at)
        {
            return Verdict::Ignore;
        }
        self.handled.insert(id.to_string(), exited_at);
        let count = self.saved.counts.get(id).copied().unwrap_or(0);
        if !policy.restarts(code, count) {
            return if policy != Policy::No && code != 0 {
                Verdict::GiveUp { count }
            } else {
                Verdict::Ignore
            };
        }
        // A run shorter than `reset_after_s` is a quick failure: the back-off grows.
        let quick = self
            .started
            .get(id)
            .is_some_and(|s| now.duration_since(*s) < Duration::from_secs(cfg.reset_after_s));
        let streak = if quick {
            self.streak.get(id).copied().unwrap_or(0)
        } else {
            0
        };
        self.streak.insert(id.to_string(), streak + 1);
        self.pending.insert(id.to_string());
        Verdict::Restart {
            count,
            delay: backoff(cfg, streak),
        }
    }

    /// The back-off of a restart scheduled at `scheduled` is over: whether to go on (not
    /// if a user stopped the container, or started it, meanwhile).
    fn backoff_over(&mut self, id: &str, scheduled: Instant) -> bool {
        self.pending.remove(id);
        self.still_wanted(id, scheduled)
    }

    /// Whether a restart scheduled at `scheduled` is still wanted: no user's stop, and no
    /// user's start since.
    fn still_wanted(&self, id: &str, scheduled: Instant) -> bool {
        !self.saved.stopped.contains(id) && self.started.get(id).is_none_or(|s| *s < scheduled)
    }

    /// The policy started container `id` again at `now`.
    fn restarted(&mut self, id: &str, now: Instant) {
        *self.saved.counts.entry(id.to_string()).or_default() += 1;
        self.started.insert(id.to_string(), now);
        // A new run: its end, even one whose time is unknown, is a new exit.
        self.handled.remove(id);
    }
}

/// Restart bookkeeping shared by the API and the event watcher.
#[derive(Clone)]
pub struct Restarts {
    file: PathBuf,
    backoff: RestartConfig,
    state: Arc<Mutex<Tracker>>,
    /// One change at a time per container (see [`Restarts::hold`]).
    turns: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// A container's turn: while it is held, no user command and no restart policy changes the
/// container but its holder.
pub type Turn = tokio::sync::OwnedMutexGuard<()>;

impl Restarts {
    /// Bookkeeping saved under the config's root dir.
    pub fn new(config: &Config) -> Restarts {
        Restarts {
            file: config.paths.root.join("restarts.json"),
            backoff: config.restart.clone(),
            state: Arc::new(Mutex::new(Tracker::default())),
            turns: Arc::default(),
        }
    }

    /// Wait for container `id`'s turn. The API's start, stop, kill, restart and delete and
    /// a policy's start each hold it for their whole change, in the order they asked, so a
    /// user's stop and a policy's start never interleave: the stop waits for the start and
    /// then stops what it started, or comes first and the policy finds it stopped.
    pub async fn hold(&self, id: &str) -> Turn {
        let turn = {
            let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
            // Turns nobody holds or waits for are dropped as others are taken.
            turns.retain(|_, t| Arc::strong_count(t) > 1);
            turns.entry(id.to_string()).or_default().clone()
        };
        turn.lock_owned().await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tracker> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Restarts made since the container was last started by hand.
    pub fn count(&self, id: &str) -> u32 {
        self.lock().saved.counts.get(id).copied().unwrap_or(0)
    }

    /// A user stops (or deletes) the container: do not bring it back.
    pub async fn stopped_by_user(&self, id: &str) {
        self.lock().saved.stopped.insert(id.to_string());
        self.save().await;
    }

    /// A user starts the container: its policy applies again, counting from zero.
    pub async fn started_by_user(&self, id: &str) {
        {
            let mut t = self.lock();
            t.saved.stopped.remove(id);
            t.saved.counts.remove(id);
            t.streak.remove(id);
            t.started.insert(id.to_string(), Instant::now());
        }
        self.save().await;
    }

    /// A user's `restart` stopped the container, whose run ended at `exited_at` (`None`:
    /// unknown): that exit is the user's, so the policy must not start it again as well.
    pub fn exit_was_users(&self, id: &str, exited_at: Option<SystemTime>) {
        self.lock()
            .handled
            .insert(id.to_string(), exited_at.unwrap_or(SystemTime::UNIX_EPOCH));
    }

    /// The container is gone.
    pub async fn forget(&self, id: &str) {
        {
            let mut t = self.lock();
            t.saved.stopped.remove(id);
            t.saved.counts.remove(id);
            t.streak.remove(id);
            t.started.remove(id);
            t.handled.remove(id);
        }
        self.save().await;
    }

    async fn save(&self) {
        let json = serde_json::to_vec_pretty(&self.lock().saved).unwrap_or_default();
        let tmp = self.file.with_extension("json.tmp");
        let write = async {
            let mut f = tokio::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .await?;
            tokio::io::AsyncWriteExt::write_all(&mut f, &json).await?;
            // On disk before it replaces the old file: a full disk or a crash leaves the
            // old state whole, never a truncated one.
            f.sync_all().await?;
            tokio::fs::rename(&tmp, &self.file).await
        };
        if let Err(e) = write.await {
            tracing::warn!(file = %self.file.display(), error = %e, "could not save restart state");
        }
    }

    /// Read the saved state, then act on what happened while no warrend watched: exits of
    /// containers with a policy, and `--rm` containers to remove.
    pub async fn load(&self, d: &Daemon) -> anyhow::Result<()> {
        match tokio::fs::read(&self.file).await {
            Ok(bytes) => match serde_json::from_slice::<Saved>(&bytes) {
                Ok(saved) => self.lock().saved = saved,
                Err(e) => tracing::warn!(file = %self.file.display(), error = %e,
                    "ignoring an unreadable restart state file"),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let list = d.rt.list_containers().await?;
        let ids: HashSet<&str> = list.iter().map(|c| c.id.as_str()).collect();
        {
            let mut t = self.lock();
            t.saved.counts.retain(|id, _| ids.contains(id.as_str()));
            t.saved.stopped.retain(|id| ids.contains(id.as_str()));
        }
        for c in &list {
            if is_auto_remove(c) && c.status.state == ContainerState::Running {
                d.spawn(remove_after_exit(d.clone(), c.id.clone()));
            }
        }
        Ok(())
    }
}

fn policy_of(c: &ContainerInfo) -> Policy {
    c.labels
        .get(labels::RESTART)
        .and_then(|p| p.parse().ok())
        .unwrap_or_default()
}

fn is_auto_remove(c: &ContainerInfo) -> bool {
    c.labels.get(labels::REMOVE).is_some_and(|v| v == "true")
}

/// Wait for the container's exit, then delete it (`run --rm`); survives the API call that
/// asked for it. A broken connection or a containerd restart only delays the removal: a
/// container is never deleted unless its process is known to have ended.
pub async fn remove_after_exit(d: Daemon, id: String) {
    loop {
        // At warrend's shutdown the next warrend finds the container still to remove.
        let Some(waited) = d.unless_stopping(d.rt.wait_container(&id)).await else {
            return;
        };
        match waited {
            Ok(_) | Err(RuntimeError::NotFound { .. }) => break,
            Err(e) => {
                tracing::debug!(container = %id, error = %e, "auto-remove: waiting again");
                match d.rt.container_info(&id).await {
                    Ok(c)
                        if c.status.state != ContainerState::Running
                            && c.status.state != ContainerState::Paused =>
                    {
                        break
                    }
                    Err(RuntimeError::NotFound { .. }) => {
                        d.restart.forget(&id).await;
                        return;
                    }
                    _ => {
                        let pause = tokio::time::sleep(Duration::from_secs(1));
                        if d.unless_stopping(pause).await.is_none() {
                            return;
                        }
                    }
                }
            }
        }
    }
    remove_exited(&d, &id).await;
}

/// Delete a container whose process is known to have exited (`run --rm`).
pub async fn remove_exited(d: &Daemon, id: &str) {
    // The watcher may be removing it too (stopped containers found on a re-subscription).
    if let Err(e) = d.rt.delete_container(id).await {
        if !matches!(e, RuntimeError::NotFound { .. }) {
            tracing::warn!(container = %id, error = %e, "could not auto-remove");
        }
    }
    d.restart.forget(id).await;
}

/// Act on container events until warrend stops: restart policies, OOM counts. Re-subscribes
/// when the stream breaks (containerd restarted) and then looks for exits it missed.
pub async fn watch(d: Daemon) {
    loop {
        let mut stream = match d.rt.events().await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "events: subscribing failed, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        reconcile(&d).await;
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(e) => e,
                Err(e) => {
                    tracing::info!(error = %e, "the event stream broke; subscribing again");
                    d.metrics.event_resubscriptions.inc();
                    break;
                }
            };
            match event.kind {
                ContainerEventKind::Exited { exec_id: None, .. } => {
                    d.spawn(on_exit(d.clone(), event.container_id));
                }
                ContainerEventKind::Oom => {
                    d.metrics.oom_kills.inc();
                }
                _ => {}
            }
        }
    }
}

/// Look at every stopped container with a policy (exits that happened unseen).
pub(super) async fn reconcile(d: &Daemon) {
    match d.rt.list_containers().await {
        Ok(list) => {
            for c in list {
                if c.status.state == ContainerState::Stopped && c.status.exit.is_some() {
                    if is_auto_remove(&c) {
                        d.spawn(remove_after_exit(d.clone(), c.id));
                    } else if policy_of(&c) != Policy::No {
                        d.spawn(on_exit(d.clone(), c.id));
                    }
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not list containers to reconcile"),
    }
}

fn emit(d: &Daemon, id: &str, kind: &str, exit_code: u32) {
    d.event(NodeEvent {
        container_id: id.to_string(),
        kind: kind.to_string(),
        pid: 0,
        exit_code,
        exec_id: String::new(),
    });
}

/// A container's init process ended: restart it if its policy says so.
pub(super) async fn on_exit(d: Daemon, id: String) {
    // The record alone says whether a policy applies (one RPC for most containers).
    match d.rt.container_settings(&id).await {
        Ok(c) if is_auto_remove(&c) || policy_of(&c) == Policy::No => return,
        Ok(_) => {}
        Err(RuntimeError::NotFound { .. }) => return,
        Err(e) => {
            tracing::warn!(container = %id, error = %e, "restart: cannot read the container");
            return;
        }
    }
    // The exit (code, time): containerd's Wait answers once the process has ended, at once
    // for one that has. At warrend's shutdown, the next warrend's reconcile finds the exit.
    let Some(waited) = d.unless_stopping(d.rt.wait_container(&id)).await else {
        return;
    };
    if let Err(e) = waited {
        // The task can be gone before the wait is answered (deleted by a stop, or its shim
        // closed under the call, which containerd 1.7 reports as an internal error): the
        // exit is then read from the container.
        tracing::debug!(container = %id, error = %e, "restart: no exit from the wait; reading the container");
    }
    let c = match d.rt.container_info(&id).await {
        Ok(c) if c.status.state == ContainerState::Stopped => c,
        Ok(_) | Err(RuntimeError::NotFound { .. }) => return,
        Err(e) => {
            tracing::warn!(container = %id, error = %e, "restart: cannot read the container");
            return;
        }
    };
    if is_auto_remove(&c) {
        return; // its remover handles it
    }
    let policy = policy_of(&c);
    let Some(exit) = c.status.exit else { return };
    let exited_at = exit.exited_at.unwrap_or(SystemTime::UNIX_EPOCH);
    let r = &d.restart;
    let verdict = r.lock().on_exit(
        &id,
        policy,
        exit.code,
        exited_at,
        Instant::now(),
        &r.backoff,
    );
    let (count, delay) = match verdict {
        Verdict::Ignore => return,
        Verdict::GiveUp { count } => {
            tracing::info!(container = %id, count, %policy, "restart policy gave up");
            emit(&d, &id, "gave-up", exit.code);
            return;
        }
        Verdict::Restart { count, delay } => (count, delay),
    };
    tracing::info!(container = %id, code = exit.code, attempt = count + 1,
        delay_ms = delay.as_millis() as u64, "restarting by policy");
    emit(&d, &id, "restarting", exit.code);
    let scheduled = Instant::now();
    if d.unless_stopping(tokio::time::sleep(delay)).await.is_none() {
        // The next warrend finds the container stopped and applies its policy afresh.
        r.lock().pending.remove(&id);
        return;
    }
    if !r.lock().backoff_over(&id, scheduled) {
        return;
    }
    // The container's turn, then the user's word once more: a stop, start or delete that
    // came during the back-off or while waiting for the turn wins. A user's command that
    // comes now waits until this start is done (seconds in the cgroup v2 guest), then acts
    // on the running container.
    let Some(_turn) = d.unless_stopping(r.hold(&id)).await else {
        return;
    };
    if !r.lock().still_wanted(&id, scheduled) {
        return;
    }
    match d.rt.start_container(&id).await {
        Ok(_) => {
            r.lock().restarted(&id, Instant::now());
            r.save().await;
            d.metrics.container_restarts.inc();
        }
        Err(e) => {
            d.metrics.error("restart");
            tracing::warn!(container = %id, error = %e, "restart by policy failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_print() {
        for s in ["no", "always", "on-failure", "on-failure:3"] {
            assert_eq!(s.parse::<Policy>().unwrap().to_string(), s);
        }
        assert_eq!("".parse::<Policy>().unwrap(), Policy::No);
        for bad in ["sometimes", "on-failure:0", "on-failure:x", "on-failure:"] {
            assert!(bad.parse::<Policy>().is_err(), "{bad}");
        }
    }

    #[test]
    fn on_failure_counts_and_always_does_not() {
        let p = Policy::OnFailure(Some(2));
        assert!(p.restarts(1, 0) && p.restarts(1, 1));
        assert!(!p.restarts(1, 2) && !p.restarts(0, 0));
        assert!(Policy::Always.restarts(0, 1000));
        assert!(!Policy::No.restarts(1, 0));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let cfg = RestartConfig {
            backoff_initial_ms: 100,
            backoff_max_ms: 1000,
            reset_after_s: 10,
        };
        let ms: Vec<u128> = (0..6).map(|s| backoff(&cfg, s).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff(&cfg, 200).as_millis(), 1000);
    }

    const CFG: RestartConfig = RestartConfig {
        backoff_initial_ms: 100,
        backoff_max_ms: 1000,
        reset_after_s: 10,
    };

    /// An exit of `web` with `code`, the `n`-th (each at its own time), seen at `now`.
    fn exit(t: &mut Tracker, policy: Policy, code: u32, n: u64, now: Instant) -> Verdict {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(n);
        t.on_exit("web", policy, code, at, now, &CFG)
    }

    /// The policy's whole round for `web`: the `n`-th exit seen at `now`, the back-off
    /// over, started again.
    fn round(t: &mut Tracker, policy: Policy, n: u64, now: Instant) -> Verdict {
        let v = exit(t, policy, 1, n, now);
        if let Verdict::Restart { delay, .. } = v {
            assert!(t.backoff_over("web", now));
            t.restarted("web", now + delay);
        }
        v
    }

    #[test]
    fn quick_failures_double_the_backoff_and_a_long_run_resets_it() {
        let mut t = Tracker::default();
        let t0 = Instant::now();
        let delays: Vec<u128> = (0..5)
            .map(
                |n| match round(&mut t, Policy::Always, n, t0 + Duration::from_secs(n)) {
                    Verdict::Restart { delay, .. } => delay.as_millis(),
                    v => panic!("exit {n}: {v:?}"),
                },
            )
            .collect();
        // Each run lasted under reset_after_s: a quick failure, the delay doubles.
        assert_eq!(delays, [100, 200, 400, 800, 1000]);
        // A run longer than reset_after_s: back to the first delay; the count goes on.
        let later = t0 + Duration::from_secs(5 + CFG.reset_after_s);
        assert_eq!(
            exit(&mut t, Policy::Always, 1, 99, later),
            Verdict::Restart {
                count: 5,
                delay: Duration::from_millis(100)
            }
        );
    }

    #[test]
    fn on_failure_gives_up_after_its_maximum_and_ignores_clean_exits() {
        let mut t = Tracker::default();
        let now = Instant::now();
        let at = |n| now + Duration::from_secs(n);
        let policy = Policy::OnFailure(Some(2));
        assert!(matches!(
            round(&mut t, policy, 1, at(1)),
            Verdict::Restart { count: 0, .. }
        ));
        assert!(matches!(
            round(&mut t, policy, 2, at(2)),
            Verdict::Restart { count: 1, .. }
        ));
        assert_eq!(
            round(&mut t, policy, 3, at(3)),
            Verdict::GiveUp { count: 2 }
        );
        // A clean exit is not a failure: nothing to give up on.
        let mut t = Tracker::default();
        assert_eq!(exit(&mut t, policy, 0, 1, now), Verdict::Ignore);
        assert_eq!(exit(&mut t, Policy::No, 1, 2, now), Verdict::Ignore);
    }

    #[test]
    fn an_exit_is_acted_on_once() {
        let mut t = Tracker::default();
        let now = Instant::now();
        assert!(matches!(
            exit(&mut t, Policy::Always, 1, 1, now),
            Verdict::Restart { .. }
        ));
        // Seen again (a re-subscription's reconcile) while the restart is pending, and after.
        assert_eq!(exit(&mut t, Policy::Always, 1, 1, now), Verdict::Ignore);
        assert!(t.backoff_over("web", now));
        assert_eq!(exit(&mut t, Policy::Always, 1, 1, now), Verdict::Ignore);
        // After the restart, the next run's exit counts, even with the same (unknown) time.
        t.restarted("web", now);
        assert!(matches!(
            exit(&mut t, Policy::Always, 1, 1, now),
            Verdict::Restart { .. }
        ));
    }

    #[test]
    fn a_users_stop_or_start_during_the_backoff_wins() {
        let t0 = Instant::now();
        // Stopped by the user before the exit is seen: no restart at all.
        let mut t = Tracker::default();
        t.saved.stopped.insert("web".into());
        assert_eq!(exit(&mut t, Policy::Always, 1, 1, t0), Verdict::Ignore);

        // Stopped during the back-off: the policy does not start it.
        let mut t = Tracker::default();
        assert!(matches!(
            exit(&mut t, Policy::Always, 1, 1, t0),
            Verdict::Restart { .. }
        ));
        t.saved.stopped.insert("web".into());
        assert!(!t.backoff_over("web", t0));

        // Started by the user during the back-off: the policy leaves it alone.
        let mut t = Tracker::default();
        assert!(matches!(
            exit(&mut t, Policy::Always, 1, 1, t0),
            Verdict::Restart { .. }
        ));
        t.started
            .insert("web".into(), t0 + Duration::from_millis(50));
        assert!(!t.backoff_over("web", t0));

        // Stopped while the policy waited for the container's turn: checked again then.
        let mut t = Tracker::default();
        assert!(matches!(
            exit(&mut t, Policy::Always, 1, 1, t0),
            Verdict::Restart { .. }
        ));
        assert!(t.backoff_over("web", t0));
        t.saved.stopped.insert("web".into());
        assert!(!t.still_wanted("web", t0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_containers_turns_are_taken_one_at_a_time_in_order() {
        let r = Restarts::new(&Config::default());
        let log = Arc::new(Mutex::new(Vec::new()));
        let first = r.hold("web").await;
        // Another container's turn is free meanwhile.
        drop(r.hold("db").await);
        let mut waiting = Vec::new();
        for who in ["user stop", "policy start"] {
            let (r, log) = (r.clone(), log.clone());
            waiting.push(tokio::spawn(async move {
                let _turn = r.hold("web").await;
                log.lock().unwrap().push(who);
                tokio::time::sleep(Duration::from_millis(10)).await;
                log.lock().unwrap().push(who);
            }));
            // Queued in this order.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            log.lock().unwrap().is_empty(),
            "both wait for the first turn"
        );
        drop(first);
        for w in waiting {
            w.await.unwrap();
        }
        // Never interleaved, and in the order asked.
        assert_eq!(
            *log.lock().unwrap(),
            ["user stop", "user stop", "policy start", "policy start"]
        );
        // Turns nobody holds are dropped as others are taken.
        drop(r.hold("other").await);
        assert_eq!(r.turns.lock().unwrap().len(), 1);
    }
}
