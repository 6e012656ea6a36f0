//! The labels the runtime reads and writes on container records.

/// containerd's label for the image's stop signal (ctr and nerdctl set it the same way).
pub const STOP_SIGNAL: &str = "io.containerd.image.config.stop-signal";

/// The most a label's key and value may hold together (containerd refuses more).
pub(crate) const MAX_LABEL_BYTES: usize = 4096;

/// Labels under this prefix are the runtime's own; requests may not set them.
pub(crate) const RESERVED_PREFIX: &str = "io.warren.";

/// When the last run started (RFC 3339): a container whose task is gone without an exit
/// recorded after this time lost its process unseen (its shim died with the daemon).
pub(crate) const STARTED_AT: &str = "io.warren.started.at";
/// The exit code of the last run, kept after its task is deleted.
pub(crate) const EXIT_CODE: &str = "io.warren.exit.code";
/// When the last run ended (RFC 3339).
pub(crate) const EXITED_AT: &str = "io.warren.exit.at";
/// `true` if the kernel's OOM killer ended the last run.
pub(crate) const OOM_KILLED: &str = "io.warren.exit.oom-killed";

/// The OCI annotation that makes containers share a runc shim (read by the
/// `io.containerd.runc.v2` shim, every containerd line).
pub(crate) const SHIM_GROUP_ANNOTATION: &str = "io.containerd.runc.v2.group";

/// The seccomp filter the container was created with: `default`, `unconfined` or `custom`.
pub(crate) const SECCOMP: &str = "io.warren.security.seccomp";
/// `true` for a container created privileged.
pub(crate) const PRIVILEGED: &str = "io.warren.security.privileged";
/// `true` for a container whose process has a terminal.
pub(crate) const TTY: &str = "io.warren.tty";
/// `true` for a container whose process has a stdin to attach to.
pub(crate) const STDIN: &str = "io.warren.stdin";
