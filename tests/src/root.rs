//! Root checks: tests that need root skip with a printed reason otherwise.

/// True when running as root. When not, prints why `test` is skipped.
pub fn is_root_or_skip(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        eprintln!("SKIPPED {test}: needs root (containerd, runc and mounts)");
    }
    root
}

/// Skip the calling test (return early) unless running as root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::root::is_root_or_skip(module_path!()) {
            return;
        }
    };
}
