//! When layer downloads start, and how many run at once.
//!
//! Layers unpack strictly in order, and on a node with few cores unpacking (done by
//! containerd's diff service: decompress, hash, write files) is slower than downloading from
//! a near registry. What shortens a pull then is having the *lowest* layer in the store as
//! early as possible, so its unpack overlaps the other downloads; downloads that share the
//! bandwidth and the CPU finish together and leave every unpack for the end.
//!
//! So downloads start in layer order, one at a time while the data comes in fast (a single
//! stream then uses what the network or the CPU can give), and more run side by side, up
//! to the limit, only while the received rate stays below [`SLOW`]: far registries often
//! serve each connection slower than the link allows, and parallel streams add up there.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use tokio::sync::mpsc;

/// Below this many bytes per second received (all running downloads together), another
/// download may start beside the running ones.
pub(super) const SLOW: u64 = 48 * 1024 * 1024;

/// While downloads are fast, at most this many layers are downloaded ahead of the one being
/// unpacked: they would only compete with that unpack for the CPU, and waiting costs nothing
/// when a download takes less time than an unpack.
const AHEAD: usize = 1;

/// How often the received rate is measured.
const TICK: Duration = Duration::from_millis(100);

/// Byte counter the downloads add to, read by the scheduler to measure the rate.
pub(super) type Received = Arc<AtomicU64>;

/// Downloads started by [`start`]: their results, in the order they finish. Dropping it
/// aborts every download still running.
pub(super) struct Downloads<E> {
    results: mpsc::UnboundedReceiver<(usize, Result<(), E>)>,
    done: Vec<bool>,
    /// The layer the consumer waits for (or unpacks): the driver looks ahead from it.
    wanted: tokio::sync::watch::Sender<usize>,
    driver: tokio::task::JoinHandle<()>,
    lost: Box<dyn Fn(String) -> E + Send + Sync>,
}

impl<E> Downloads<E> {
    /// Wait until download `i` is done. The first failure of *any* download is returned at
    /// once, even if it is a later layer's: the pull cannot succeed any more.
    pub(super) async fn wait_for(&mut self, i: usize) -> Result<(), E> {
        self.wanted
            .send_if_modified(|w| std::mem::replace(w, i) != i);
        while !self.done[i] {
            match self.results.recv().await {
                Some((j, Ok(()))) => self.done[j] = true,
                Some((_, Err(e))) => return Err(e),
                None => return Err((self.lost)("the download scheduler stopped".into())),
            }
        }
        Ok(())
    }
}

impl<E> Drop for Downloads<E> {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Start downloads `0..n` in order (`download(i)` makes the future of the `i`th), at most
/// `max` at once, adding a parallel one only while the rate measured through `received`
/// is below [`SLOW`]; while it is above, one at a time and at most [`AHEAD`] layers beyond
/// the one last waited for. Each runs as a task of its own; `lost` makes the error for a download
/// task that died (panicked) instead of finishing.
pub(super) fn start<E, F, Fut>(
    n: usize,
    max: usize,
    received: Received,
    download: F,
    lost: impl Fn(String) -> E + Send + Sync + Clone + 'static,
) -> Downloads<E>
where
    E: Send + 'static,
    F: Fn(usize) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
{
    let (tx, results) = mpsc::unbounded_channel();
    let max = max.max(1);
    let lost_task = lost.clone();
    let (wanted, mut wanted_rx) = tokio::sync::watch::channel(0usize);
    let driver = tokio::spawn(async move {
        let mut running = FuturesUnordered::new();
        let mut next = 0;
        let mut slow = false;
        let mut last = (Instant::now(), received.load(Ordering::Relaxed));
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let near = next <= *wanted_rx.borrow() + AHEAD;
            if next < n && running.len() < max && ((running.is_empty() && near) || slow) {
                let task = Abort(tokio::spawn(download(next)));
                let i = next;
                let lost = lost_task.clone();
                running.push(async move {
                    let mut task = task;
                    let result = (&mut task.0)
                        .await
                        .unwrap_or_else(|e| Err(lost(format!("download {i} died: {e}"))));
                    (i, result)
                });
                next += 1;
                // Measure afresh before adding yet another one.
                slow = false;
                last = (Instant::now(), received.load(Ordering::Relaxed));
                continue;
            }
            if running.is_empty() && next >= n {
                return;
            }
            tokio::select! {
                // The consumer moved on: a download held back may start now.
                Ok(()) = wanted_rx.changed() => {}
                Some((i, result)) = running.next() => {
                    let failed = result.is_err();
                    if tx.send((i, result)).is_err() || failed {
                        return;
                    }
                }
                _ = tick.tick(), if !running.is_empty() => {
                    let now = (Instant::now(), received.load(Ordering::Relaxed));
                    let secs = now.0.duration_since(last.0).as_secs_f64();
                    if secs >= TICK.as_secs_f64() / 2.0 {
                        slow = ((now.1 - last.1) as f64 / secs) < SLOW as f64;
                        last = now;
                    }
                }
                // The consumer is gone (the pull failed or was dropped).
                else => return,
            }
        }
    });
    Downloads {
        results,
        done: vec![false; n],
        wanted,
        driver,
        lost: Box::new(lost),
    }
}

/// A spawned download, aborted when the scheduler drops it (the pull failed or was
/// dropped).
struct Abort<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Abort<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    const MIB: u64 = 1024 * 1024;

    type Log = Arc<Mutex<Vec<String>>>;

    /// Schedule fake downloads (at most 3 at once) that each "receive" `sizes[i]` bytes at
    /// `rate` bytes/s, logging "start i (n running)"; download `fail` fails at its end.
    fn fake(sizes: Vec<u64>, rate: u64, fail: Option<usize>) -> (Downloads<String>, Log) {
        let (received, log) = (Received::default(), Log::default());
        let live = Arc::new(AtomicU64::new(0));
        let (r, l, n) = (received.clone(), log.clone(), sizes.len());
        let download = move |i: usize| {
            let (size, received, log, live) = (sizes[i], r.clone(), l.clone(), live.clone());
            async move {
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                log.lock()
                    .unwrap()
                    .push(format!("start {i} ({now} running)"));
                let mut left = size;
                while left > 0 {
                    let step = (rate / 100).min(left);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    received.fetch_add(step, Ordering::Relaxed);
                    left -= step;
                }
                live.fetch_sub(1, Ordering::SeqCst);
                match fail == Some(i) {
                    true => Err(format!("layer {i} broke")),
                    false => Ok(()),
                }
            }
        };
        (start(n, 3, received, download, |m| m), log)
    }

    fn logged(log: &Log) -> Vec<String> {
        log.lock().unwrap().clone()
    }

    #[tokio::test(start_paused = true)]
    async fn fast_downloads_run_one_at_a_time_in_layer_order() {
        let (mut d, log) = fake(vec![30 * MIB; 4], 200 * MIB, None);
        for i in 0..4 {
            d.wait_for(i).await.unwrap();
        }
        let want: Vec<String> = (0..4).map(|i| format!("start {i} (1 running)")).collect();
        assert_eq!(logged(&log), want);
    }

    #[tokio::test(start_paused = true)]
    async fn fast_downloads_stay_one_layer_ahead_of_the_unpack() {
        let (mut d, log) = fake(vec![30 * MIB; 4], 200 * MIB, None);
        d.wait_for(0).await.unwrap();
        // A long "unpack" of layer 0: layer 1 may download meanwhile, layer 2 may not.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(logged(&log).len(), 2, "{:?}", logged(&log));
        for i in 1..4 {
            d.wait_for(i).await.unwrap();
        }
        assert_eq!(logged(&log).len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn slow_downloads_run_side_by_side_up_to_the_limit() {
        let (mut d, log) = fake(vec![10 * MIB; 5], 2 * MIB, None);
        for i in 0..5 {
            d.wait_for(i).await.unwrap();
        }
        let log = logged(&log);
        assert!(log[0].starts_with("start 0") && log[1].starts_with("start 1"));
        assert!(log.iter().any(|l| l.contains("(3 running)")), "{log:?}");
        assert!(!log.iter().any(|l| l.contains("(4 running)")), "{log:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_layers_failure_is_reported_while_waiting_for_an_earlier_one() {
        // Layer 0 is big and slow; layer 1 is small and fails.
        let (mut d, _) = fake(vec![50 * MIB, MIB], MIB, Some(1));
        assert_eq!(d.wait_for(0).await.unwrap_err(), "layer 1 broke");
    }
}
