//! The built-in profile as data: Docker's default seccomp profile, the same rules the
//! `moby/profiles` module gives Docker Engine and containerd's own default carries.
//!
//! Followed: `github.com/moby/profiles/seccomp` v0.2.3 (tag `seccomp/v0.2.3`, commit
//! `836ae4d37ef2ec995c77c99fc55f5b5f3af3a897`), the version moby vendors at
//! `b985e2313a8676e18072b442911fc8f64f17d440` (docker v29.7.2-150). Only the facts are carried
//! over (syscall names, argument values, capabilities, architectures, errnos); the layout is
//! Warren's: one `const` [`Rule`] per group, the clone rule written once with its per-arch
//! argument index.

use oci_spec::runtime::Capability as Cap;

use super::rule::{Op, Rule};

/// The errno a call outside the profile gets: EPERM, as in Docker.
pub(crate) const DEFAULT_ERRNO: u32 = libc::EPERM as u32;

/// The clone(2) flags that create namespaces; without CAP_SYS_ADMIN clone may set none of
/// them (CLONE_NEWTIME is not among them, as in Docker).
pub(crate) const NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u64;

/// personality(2) values allowed: PER_LINUX, PER_LINUX32, UNAME26, PER_LINUX32 | UNAME26,
/// and 0xffffffff, which only queries the current personality.
pub(crate) const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// Address families socket(2) may not open: AF_ALG (the kernel's crypto API) and AF_VSOCK
/// (host/guest sockets). They are 38 and 40, and the rules below allow below 38, exactly 39
/// and above 40: one rule per range, because runc turns several conditions on the same
/// argument into alternatives. (32-bit x86 opens sockets through socketcall(2), which these
/// rules cannot see, as in Docker.)
const AF_ALG: u64 = libc::AF_ALG as u64;
const AF_VSOCK: u64 = libc::AF_VSOCK as u64;
const _: () = assert!(AF_VSOCK == AF_ALG + 2);

/// Syscalls every container may make: Docker's unconditional allow-list, sorted.
#[rustfmt::skip]
pub(crate) const ALWAYS_ALLOWED: &[&str] = &[
    "accept", "accept4", "access", "adjtimex", "alarm",
    "bind", "brk",
    "cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
    "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
    "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
    "copy_file_range", "creat",
    "dup", "dup2", "dup3",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
    "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
    "exit_group",
    "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark",
    "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl",
    "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
    "futex_wake", "futimesat",
    "get_robust_list", "get_thread_area", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
    "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
    "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
    "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "getrusage",
    "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday", "getuid", "getuid32",
    "getxattr", "getxattrat",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
    "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup",
    "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc",
    "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listmount", "listxattr", "listxattrat",
    "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
    "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore",
    "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2",
    "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
    "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
    "open", "openat", "openat2",
    "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
    "pwritev2",
    "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
    "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "removexattrat", "rename",
    "renameat", "renameat2", "restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction",
    "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
    "sendto", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32",
    "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
    "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt", "setuid",
    "setuid32", "setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
    "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
    "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statmount", "statx",
    "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo",
    "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
    "utimensat_time64", "utimes",
    "vfork", "vmsplice",
    "wait4", "waitid", "waitpid", "write", "writev",
];

/// Every rule of the profile, in the order they are added to it.
pub(crate) const RULES: &[Rule] = &[
    Rule::allow(ALWAYS_ALLOWED),
    // Before 4.8 seccomp could be bypassed with ptrace.
    Rule::allow(&["process_vm_readv", "process_vm_writev", "ptrace"]).since_kernel(4, 8),
    Rule::allow(&["socket"]).arg(0, Op::ScmpCmpLt, AF_ALG),
    Rule::allow(&["socket"]).arg(0, Op::ScmpCmpEq, AF_ALG + 1),
    Rule::allow(&["socket"]).arg(0, Op::ScmpCmpGt, AF_VSOCK),
    Rule::allow(&["personality"]).arg(0, Op::ScmpCmpEq, PERSONALITIES[0]),
    Rule::allow(&["personality"]).arg(0, Op::ScmpCmpEq, PERSONALITIES[1]),
    Rule::allow(&["personality"]).arg(0, Op::ScmpCmpEq, PERSONALITIES[2]),
    Rule::allow(&["personality"]).arg(0, Op::ScmpCmpEq, PERSONALITIES[3]),
    Rule::allow(&["personality"]).arg(0, Op::ScmpCmpEq, PERSONALITIES[4]),
    // Architecture-specific calls.
    Rule::allow(&["sync_file_range2", "swapcontext"]).on(&["ppc64le"]),
    Rule::allow(&[
        "arm_fadvise64_64",
        "arm_sync_file_range",
        "sync_file_range2",
        "breakpoint",
        "cacheflush",
        "set_tls",
    ])
    .on(&["arm", "arm64"]),
    Rule::allow(&["arch_prctl"]).on(&["amd64", "x32"]),
    Rule::allow(&["modify_ldt"]).on(&["amd64", "x32", "x86"]),
    Rule::allow(&[
        "s390_pci_mmio_read",
        "s390_pci_mmio_write",
        "s390_runtime_instr",
    ])
    .on(&["s390", "s390x"]),
    Rule::allow(&["riscv_flush_icache"]).on(&["riscv64"]),
    // Calls a capability grants.
    Rule::allow(&["open_by_handle_at"]).with_caps(&[Cap::DacReadSearch]),
    Rule::allow(&[
        "bpf",
        "clone",
        "clone3",
        "fanotify_init",
        "fsconfig",
        "fsmount",
        "fsopen",
        "fspick",
        "lookup_dcookie",
        "lsm_get_self_attr",
        "lsm_list_modules",
        "lsm_set_self_attr",
        "mount",
        "mount_setattr",
        "move_mount",
        "open_tree",
        "perf_event_open",
        "quotactl",
        "quotactl_fd",
        "setdomainname",
        "sethostname",
        "setns",
        "syslog",
        "umount",
        "umount2",
        "unshare",
    ])
    .with_caps(&[Cap::SysAdmin]),
    // Without CAP_SYS_ADMIN: clone without namespace flags; clone3 (whose flags seccomp
    // cannot read) fails with ENOSYS so that libcs fall back to clone.
    Rule::allow(&["clone"])
        .clone_flags_without(NAMESPACE_FLAGS)
        .without_caps(&[Cap::SysAdmin]),
    Rule::errno(&["clone3"], libc::ENOSYS).without_caps(&[Cap::SysAdmin]),
    Rule::allow(&["reboot"]).with_caps(&[Cap::SysBoot]),
    Rule::allow(&["chroot"]).with_caps(&[Cap::SysChroot]),
    Rule::allow(&["delete_module", "init_module", "finit_module"]).with_caps(&[Cap::SysModule]),
    Rule::allow(&["acct"]).with_caps(&[Cap::SysPacct]),
    Rule::allow(&[
        "kcmp",
        "pidfd_getfd",
        "process_madvise",
        "process_vm_readv",
        "process_vm_writev",
        "ptrace",
    ])
    .with_caps(&[Cap::SysPtrace]),
    Rule::allow(&["iopl", "ioperm"]).with_caps(&[Cap::SysRawio]),
    Rule::allow(&["settimeofday", "stime", "clock_settime", "clock_settime64"])
        .with_caps(&[Cap::SysTime]),
    Rule::allow(&["vhangup"]).with_caps(&[Cap::SysTtyConfig]),
    Rule::allow(&[
        "get_mempolicy",
        "mbind",
        "set_mempolicy",
        "set_mempolicy_home_node",
    ])
    .with_caps(&[Cap::SysNice]),
    Rule::allow(&["syslog"]).with_caps(&[Cap::Syslog]),
    Rule::allow(&["bpf"]).with_caps(&[Cap::Bpf]),
    Rule::allow(&["perf_event_open"]).with_caps(&[Cap::Perfmon]),
];
