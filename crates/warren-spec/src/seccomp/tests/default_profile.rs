use oci_spec::runtime::{Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};

use super::super::default_profile::{ALWAYS_ALLOWED, NAMESPACE_FLAGS, PERSONALITIES};
use super::super::{default_profile, default_profile_for};
use super::{allowed_always, caps_with, entries, never_allowed};

const MODERN: (u32, u32) = (5, 15);
const OLD: (u32, u32) = (3, 10);

fn default_caps(arch: &str, kernel: (u32, u32)) -> LinuxSeccomp {
    default_profile_for(crate::CAPABILITIES, arch, kernel)
}

#[test]
fn the_allow_list_is_dockers() {
    assert_eq!(ALWAYS_ALLOWED.len(), 361);
    let mut sorted = ALWAYS_ALLOWED.to_vec();
    sorted.sort_by_key(|name| name.trim_start_matches('_'));
    assert_eq!(sorted, ALWAYS_ALLOWED, "kept sorted");
    sorted.dedup();
    assert_eq!(sorted.len(), ALWAYS_ALLOWED.len(), "no duplicates");
    for guarded in [
        "mount",
        "socket",
        "personality",
        "clone",
        "clone3",
        "ptrace",
        "bpf",
    ] {
        assert!(!ALWAYS_ALLOWED.contains(&guarded), "{guarded}");
    }
}

#[test]
fn default_caps_refuse_the_dangerous_calls() {
    let old = default_caps("x86_64", OLD);
    let modern = default_caps("x86_64", MODERN);
    for name in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "keyctl",
        "add_key",
        "request_key",
        "bpf",
        "reboot",
        "init_module",
        "finit_module",
        "kexec_load",
        "open_by_handle_at",
        "userfaultfd",
        "perf_event_open",
        "syslog",
        "acct",
        "settimeofday",
        "iopl",
    ] {
        assert!(never_allowed(&modern, name), "{name} allowed");
    }
    assert!(never_allowed(&old, "ptrace"));
    assert!(never_allowed(&old, "process_vm_readv"));
}

#[test]
fn default_caps_allow_ordinary_calls() {
    let profile = default_caps("x86_64", MODERN);
    for name in [
        "read",
        "write",
        "openat",
        "execve",
        "exit_group",
        "futex",
        "chroot",
        "ptrace",
        "process_vm_writev",
        "arch_prctl",
        "modify_ldt",
    ] {
        assert!(allowed_always(&profile, name), "{name} not allowed");
    }
    // Docker's profile leaves io_uring out.
    assert!(never_allowed(&profile, "io_uring_setup"));
}

#[test]
fn clone_without_sys_admin_may_not_create_namespaces() {
    assert_eq!(NAMESPACE_FLAGS, 0x7e02_0000);
    for (arch, index) in [("x86_64", 0), ("aarch64", 0), ("s390x", 1)] {
        let profile = default_caps(arch, MODERN);
        assert!(!allowed_always(&profile, "clone"), "{arch}");
        let clone = entries(&profile, "clone");
        assert_eq!(clone.len(), 1, "{arch}");
        assert_eq!(clone[0].names(), &["clone"]);
        assert_eq!(clone[0].action(), LinuxSeccompAction::ScmpActAllow);
        let args = clone[0]
            .args()
            .as_ref()
            .expect("clone has an argument test");
        assert_eq!(args.len(), 1);
        assert_eq!(args[0].index(), index, "{arch}");
        assert_eq!(args[0].op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        assert_eq!(args[0].value(), 2_114_060_288);
        assert_eq!(args[0].value_two().unwrap_or(0), 0);

        let clone3 = entries(&profile, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(clone3[0].errno_ret(), Some(38), "ENOSYS");
    }
}

#[test]
fn sys_admin_allows_mounts_and_namespaces() {
    let caps = caps_with(&[Capability::SysAdmin]);
    let profile = default_profile_for(&caps, "x86_64", MODERN);
    for name in [
        "mount", "umount2", "unshare", "setns", "clone", "clone3", "bpf", "fsopen",
    ] {
        assert!(allowed_always(&profile, name), "{name}");
    }
    assert_eq!(
        entries(&profile, "clone").len(),
        1,
        "no masked clone rule left"
    );
    assert_eq!(entries(&profile, "clone3").len(), 1, "no ENOSYS rule left");
    assert!(never_allowed(&profile, "keyctl"));
    assert!(never_allowed(&profile, "reboot"));
}

#[test]
fn each_capability_brings_its_calls() {
    let cases: &[(Capability, &[&str])] = &[
        (Capability::DacReadSearch, &["open_by_handle_at"]),
        (Capability::SysBoot, &["reboot"]),
        (
            Capability::SysModule,
            &["init_module", "finit_module", "delete_module"],
        ),
        (Capability::SysPacct, &["acct"]),
        (
            Capability::SysPtrace,
            &["ptrace", "kcmp", "pidfd_getfd", "process_madvise"],
        ),
        (Capability::SysRawio, &["iopl", "ioperm"]),
        (
            Capability::SysTime,
            &["settimeofday", "clock_settime", "stime"],
        ),
        (Capability::SysTtyConfig, &["vhangup"]),
        (
            Capability::SysNice,
            &["mbind", "set_mempolicy", "get_mempolicy"],
        ),
        (Capability::Syslog, &["syslog"]),
        (Capability::Bpf, &["bpf"]),
        (Capability::Perfmon, &["perf_event_open"]),
    ];
    for (cap, names) in cases {
        let without = default_profile_for(crate::CAPABILITIES, "x86_64", OLD);
        let with = default_profile_for(&caps_with(&[*cap]), "x86_64", OLD);
        for name in *names {
            assert!(never_allowed(&without, name), "{name} without {cap:?}");
            assert!(allowed_always(&with, name), "{name} with {cap:?}");
        }
    }
    // chroot needs CAP_SYS_CHROOT, which the default set has.
    assert!(allowed_always(&default_caps("x86_64", MODERN), "chroot"));
    assert!(never_allowed(
        &default_profile_for(&[], "x86_64", MODERN),
        "chroot"
    ));
}

#[test]
fn ptrace_from_kernel_4_8() {
    assert!(never_allowed(&default_caps("x86_64", (4, 7)), "ptrace"));
    assert!(allowed_always(&default_caps("x86_64", (4, 8)), "ptrace"));
    assert!(allowed_always(&default_caps("x86_64", (6, 1)), "ptrace"));
}

#[test]
fn personality_only_for_dockers_values() {
    let profile = default_caps("x86_64", MODERN);
    assert!(!allowed_always(&profile, "personality"));
    let mut values: Vec<u64> = entries(&profile, "personality")
        .iter()
        .map(|entry| {
            assert_eq!(entry.names(), &["personality"]);
            let args = entry.args().as_ref().expect("args");
            assert_eq!(args.len(), 1);
            assert_eq!(args[0].index(), 0);
            assert_eq!(args[0].op(), LinuxSeccompOperator::ScmpCmpEq);
            args[0].value()
        })
        .collect();
    values.sort_unstable();
    assert_eq!(values, PERSONALITIES);
    assert_eq!(values, [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff]);
}

#[test]
fn socket_refuses_af_alg_and_af_vsock() {
    let profile = default_caps("x86_64", MODERN);
    let socket = entries(&profile, "socket");
    // Emulate the filter: a family is allowed if one entry's single test passes.
    let allowed = |family: u64| {
        socket.iter().any(|entry| {
            entry.args().iter().flatten().all(|arg| match arg.op() {
                LinuxSeccompOperator::ScmpCmpLt => family < arg.value(),
                LinuxSeccompOperator::ScmpCmpEq => family == arg.value(),
                LinuxSeccompOperator::ScmpCmpGt => family > arg.value(),
                other => panic!("unexpected {other:?}"),
            })
        })
    };
    for family in [
        libc::AF_UNIX,
        libc::AF_INET,
        libc::AF_INET6,
        libc::AF_NETLINK,
        39,
        41,
        45,
    ] {
        assert!(allowed(family as u64), "{family}");
    }
    assert!(!allowed(libc::AF_ALG as u64));
    assert!(!allowed(libc::AF_VSOCK as u64));
}

#[test]
fn architectures() {
    let arches = |arch| default_caps(arch, MODERN).architectures().clone();
    assert_eq!(
        arches("x86_64"),
        Some(vec![
            Arch::ScmpArchX86_64,
            Arch::ScmpArchX86,
            Arch::ScmpArchX32
        ])
    );
    assert_eq!(
        arches("aarch64"),
        Some(vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm])
    );
    assert_eq!(
        arches("s390x"),
        Some(vec![Arch::ScmpArchS390x, Arch::ScmpArchS390])
    );
    assert_eq!(arches("riscv64"), Some(vec![Arch::ScmpArchRiscv64]));
    assert_eq!(arches("sparc64"), None);
}

#[test]
fn architecture_specific_calls() {
    let x86_64 = default_caps("x86_64", MODERN);
    let aarch64 = default_caps("aarch64", MODERN);
    let s390x = default_caps("s390x", MODERN);
    let x86 = default_caps("x86", MODERN);
    assert!(allowed_always(&x86_64, "arch_prctl"));
    assert!(allowed_always(&x86_64, "modify_ldt"));
    assert!(never_allowed(&x86_64, "set_tls"));
    assert!(allowed_always(&x86, "modify_ldt"));
    assert!(never_allowed(&x86, "arch_prctl"));
    assert!(never_allowed(&aarch64, "arch_prctl"));
    assert!(allowed_always(&aarch64, "set_tls"));
    assert!(allowed_always(&aarch64, "cacheflush"));
    assert!(allowed_always(&s390x, "s390_runtime_instr"));
    assert!(never_allowed(&x86_64, "s390_runtime_instr"));
    assert!(allowed_always(
        &default_caps("riscv64", MODERN),
        "riscv_flush_icache"
    ));
    assert!(allowed_always(
        &default_caps("ppc64le", MODERN),
        "swapcontext"
    ));
}

#[test]
fn errno_is_eperm() {
    let profile = default_caps("x86_64", MODERN);
    assert_eq!(profile.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(profile.default_errno_ret(), Some(1));
}

#[test]
fn compact_and_deterministic() {
    let caps = caps_with(&[Capability::SysAdmin, Capability::Bpf, Capability::SysPtrace]);
    let a = default_profile_for(&caps, "x86_64", MODERN);
    let b = default_profile_for(&caps, "x86_64", MODERN);
    assert_eq!(
        serde_json::to_string(&a).expect("json"),
        serde_json::to_string(&b).expect("json")
    );
    let syscalls = a.syscalls().as_ref().expect("syscalls");
    // One entry for every unconditional allow, 3 socket ones, 5 personality ones.
    assert_eq!(syscalls.len(), 1 + 3 + 5, "{syscalls:#?}");
    let names = syscalls[0].names();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "bpf and ptrace listed once");

    let default = default_caps("x86_64", MODERN);
    // allow-list, socket x3, personality x5, masked clone, clone3 ENOSYS.
    assert_eq!(default.syscalls().as_ref().map(Vec::len), Some(11));
}

#[test]
fn json_has_the_fields_runc_reads() {
    let profile = default_caps("x86_64", MODERN);
    let json = serde_json::to_value(&profile).expect("json");
    assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(json["defaultErrnoRet"], 1);
    assert_eq!(
        json["architectures"],
        serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    );
    let syscalls = json["syscalls"].as_array().expect("syscalls array");
    assert_eq!(syscalls[0]["action"], "SCMP_ACT_ALLOW");
    assert!(syscalls[0]["names"].as_array().expect("names").len() > 300);
    let clone = syscalls
        .iter()
        .find(|s| s["names"] == serde_json::json!(["clone"]))
        .expect("clone entry");
    assert_eq!(clone["args"][0]["index"], 0);
    assert_eq!(clone["args"][0]["value"], 2_114_060_288_u64);
    assert_eq!(clone["args"][0]["valueTwo"], 0);
    assert_eq!(clone["args"][0]["op"], "SCMP_CMP_MASKED_EQ");
    let clone3 = syscalls
        .iter()
        .find(|s| s["names"] == serde_json::json!(["clone3"]))
        .expect("clone3 entry");
    assert_eq!(clone3["action"], "SCMP_ACT_ERRNO");
    assert_eq!(clone3["errnoRet"], 38);

    let text = serde_json::to_string(&profile).expect("json");
    let back: LinuxSeccomp = serde_json::from_str(&text).expect("parses back");
    assert_eq!(back, profile);
}

#[test]
fn this_host() {
    let profile = default_profile(crate::CAPABILITIES);
    assert!(allowed_always(&profile, "read"));
    assert!(never_allowed(&profile, "mount"));
    if cfg!(target_arch = "x86_64") {
        assert_eq!(
            profile,
            default_caps("x86_64", super::super::kernel::host())
        );
    }
}
