//! Helpers of the root-free tests that run warrend's handlers and per-container tasks on
//! warren-testkit's fake containerd.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use warren_runtime::ContainerdRuntime;
use warren_testkit::FakeContainerd;

use super::containerd::Containerd;
use super::Daemon;
use crate::config::Config;

/// warrend's shared state on the fake daemon, with its folders under `dir`.
pub(crate) async fn daemon(fake: &FakeContainerd, dir: &Path) -> Daemon {
    let mut config = Config::default();
    config.paths.root = dir.join("root");
    config.paths.state = dir.join("state");
    config.containerd.address = Some(fake.socket.clone());
    std::fs::create_dir_all(&config.paths.root).unwrap();
    let containerd = Containerd::start(&config).await.expect("attach");
    let options = fake.options(&config.namespace(), &config.paths.root.join("runtime"));
    let rt = ContainerdRuntime::with_options(options).expect("runtime");
    Daemon::new(Arc::new(config), Arc::new(containerd), rt).await
}

/// Wait (up to 5 s) until `done` holds.
pub(crate) async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("waiting for {what}");
}
