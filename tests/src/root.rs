//! Root checks: tests that need root skip with a printed reason otherwise.

/// True when running as root. When not, prints why `test` is skipped.
pub fn is_root_or_skip(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        // Straight to stderr, past the test harness's output capture, so the skip is seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: needs root (containerd, runc and mounts)"
        );
    }
    root
}

/// Skip the calling test (return early) unless running as root.
#[macro_export]
macro_rules! require_root {
    () => {
        fn __here() {}
        let name = std::any::type_name_of_val(&__here);
        let name = name.strip_suffix("::__here").unwrap_or(name);
        if !$crate::root::is_root_or_skip(name.trim_end_matches("::{{closure}}")) {
            return;
        }
    };
}
