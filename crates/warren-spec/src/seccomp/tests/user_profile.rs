use std::path::Path;

use oci_spec::runtime::{Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};

use super::super::conditions::Target;
use super::super::docker_format::resolve;
use super::super::profile_from_json;
use super::{allowed_always, caps_with, entries, never_allowed};
use crate::SpecError;

const PATH: &str = "/etc/warren/profile.json";

fn on(arch: &'static str, kernel: (u32, u32), caps: &[Capability], json: &str) -> LinuxSeccomp {
    let target = Target {
        caps,
        arch: Some(arch),
        kernel,
    };
    resolve(Path::new(PATH), json.as_bytes(), &target).expect("profile loads")
}

/// The error's reason, after checking it names the file.
fn refused(json: &str) -> String {
    match profile_from_json(Path::new(PATH), json.as_bytes(), crate::CAPABILITIES) {
        Err(err @ SpecError::SeccompProfile { .. }) => {
            let text = err.to_string();
            assert!(text.contains(PATH), "{text}");
            text
        }
        other => panic!("expected a SeccompProfile error, got {other:?}"),
    }
}

const DOCKER_FORMAT: &str = r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "archMap": [
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
        {"architecture": "SCMP_ARCH_RISCV64", "subArchitectures": null}
    ],
    "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": [], "comment": "basics"},
        {"name": "openat", "action": "SCMP_ACT_ALLOW"},
        {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
         "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
         "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["syslog"], "action": "SCMP_ACT_ERRNO", "errnoRet": 12345, "includes": {}}
    ]
}"#;

#[test]
fn docker_format_resolves_for_the_container_and_host() {
    let plain = on("amd64", (5, 15), crate::CAPABILITIES, DOCKER_FORMAT);
    assert_eq!(plain.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(plain.default_errno_ret(), Some(1));
    assert_eq!(
        plain.architectures().as_deref(),
        Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
    );
    for name in ["read", "write", "openat", "ptrace", "arch_prctl"] {
        assert!(allowed_always(&plain, name), "{name}");
    }
    assert!(never_allowed(&plain, "mount"));
    let clone = entries(&plain, "clone");
    assert_eq!(clone.len(), 1);
    let args = clone[0].args().as_ref().expect("args");
    assert_eq!(args[0].op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
    assert_eq!(args[0].value(), 2_114_060_288);
    assert_eq!(entries(&plain, "clone3")[0].errno_ret(), Some(38));
    assert_eq!(entries(&plain, "syslog")[0].errno_ret(), Some(12345));

    let admin = on(
        "amd64",
        (5, 15),
        &caps_with(&[Capability::SysAdmin]),
        DOCKER_FORMAT,
    );
    assert!(allowed_always(&admin, "mount"));
    assert!(entries(&admin, "clone").is_empty());
    assert!(entries(&admin, "clone3").is_empty());

    let old_arm = on("arm64", (4, 4), crate::CAPABILITIES, DOCKER_FORMAT);
    assert!(never_allowed(&old_arm, "ptrace"));
    assert!(never_allowed(&old_arm, "arch_prctl"));
    assert_eq!(
        old_arm.architectures().as_deref(),
        Some(&[Arch::ScmpArchAarch64, Arch::ScmpArchArm][..])
    );
    let riscv = on("riscv64", (6, 1), crate::CAPABILITIES, DOCKER_FORMAT);
    assert_eq!(
        riscv.architectures().as_deref(),
        Some(&[Arch::ScmpArchRiscv64][..])
    );
    let s390x = on("s390x", (6, 1), crate::CAPABILITIES, DOCKER_FORMAT);
    assert!(entries(&s390x, "clone").is_empty(), "excluded on s390x");
    assert_eq!(s390x.architectures(), &None, "no archMap entry for s390x");
}

#[test]
fn oci_format_loads_as_is() {
    let json = r#"{
        "defaultAction": "SCMP_ACT_KILL_PROCESS",
        "architectures": ["SCMP_ARCH_X86_64"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["kill"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["mkdir"], "action": "SCMP_ACT_LOG"}
        ]
    }"#;
    let profile = on("arm64", (5, 15), crate::CAPABILITIES, json);
    assert_eq!(
        profile.default_action(),
        LinuxSeccompAction::ScmpActKillProcess
    );
    assert_eq!(profile.default_errno_ret(), None);
    assert_eq!(
        profile.architectures().as_deref(),
        Some(&[Arch::ScmpArchX86_64][..])
    );
    assert_eq!(profile.flags().as_ref().map(Vec::len), Some(1));
    assert_eq!(profile.syscalls().as_ref().map(Vec::len), Some(3));
    let kill = entries(&profile, "kill");
    assert_eq!(kill[0].args().as_ref().expect("args")[0].index(), 1);
    // What runc reads back is what was given.
    let text = serde_json::to_string(&profile).expect("json");
    let back: LinuxSeccomp = serde_json::from_str(&text).expect("parses back");
    assert_eq!(back, profile);
}

#[test]
fn a_profile_without_rules_is_allowed() {
    let json = r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#;
    let profile = on("amd64", (5, 15), &[], json);
    assert_eq!(profile.default_action(), LinuxSeccompAction::ScmpActAllow);
    assert_eq!(profile.syscalls(), &None);
    assert_eq!(profile.architectures(), &None);
}

#[test]
fn loads_on_this_host() {
    let profile = profile_from_json(
        Path::new(PATH),
        DOCKER_FORMAT.as_bytes(),
        crate::CAPABILITIES,
    )
    .expect("loads");
    assert!(allowed_always(&profile, "read"));
}

#[test]
fn bad_files_name_the_problem() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        (" \n\t", "empty"),
        ("{not json", "not JSON"),
        ("42", "not a JSON object"),
        (r#"["SCMP_ACT_ALLOW"]"#, "not a JSON object"),
        ("{\"defaultAction\": 42}", "invalid profile: invalid type: integer `42`"),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a", "b", "c", "d"], "action": "SCMP_ACT_FOO"}]}"#,
            "syscalls[0] (a, b, c, ...): action",
        ),
        (r#"{"syscalls": []}"#, "no \"defaultAction\""),
        (
            r#"{"defaultAction": "SCMP_ACT_FOO"}"#,
            "unknown value \"SCMP_ACT_FOO\"; allowed: SCMP_ACT_ALLOW",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_FOO"}]}"#,
            "syscalls[0] (read): action: unknown value \"SCMP_ACT_FOO\"",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]}"#,
            "syscalls[0] (read): no \"action\"",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_Z80"]}"#,
            "architectures: unknown value \"SCMP_ARCH_Z80\"; allowed: SCMP_ARCH_X86",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_Z80"}]}"#,
            "archMap[0].architecture: unknown value \"SCMP_ARCH_Z80\"",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"],
                "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#,
            "both \"architectures\" and \"archMap\"",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}"#,
            "syscalls[0] (read): args[0]: op: unknown value \"SCMP_CMP_ABOUT\"; allowed: SCMP_CMP_EQ",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}"#,
            "syscalls[0]: no syscall name",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]}"#,
            "syscalls[0]: no syscall name",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]}"#,
            "both \"name\" and \"names\"",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["rea d"], "action": "SCMP_ACT_ALLOW"}]}"#,
            "invalid syscall name \"rea d\"",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "op": "SCMP_CMP_EQ"}, {"index": 1, "op": "SCMP_CMP_EQ"},
                         {"index": 2, "op": "SCMP_CMP_EQ"}, {"index": 3, "op": "SCMP_CMP_EQ"},
                         {"index": 4, "op": "SCMP_CMP_EQ"}, {"index": 5, "op": "SCMP_CMP_EQ"},
                         {"index": 0, "op": "SCMP_CMP_NE"}]}]}"#,
            "7 argument conditions; at most 6",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
            "index 6: a syscall's arguments are 0 to 5",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                "includes": {"caps": ["SYS_ADMIN"]}}]}"#,
            "includes: unknown capability \"SYS_ADMIN\"",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                "excludes": {"arches": ["x86_64"]}}]}"#,
            "excludes: unknown architecture \"x86_64\" (Docker names x86_64 \"amd64\"); \
             allowed: x86, amd64",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                "includes": {"minKernel": "4"}}]}"#,
            "invalid minKernel \"4\"",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                "include": {"caps": ["CAP_SYS_ADMIN"]}}]}"#,
            "unknown field `include`",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}"#,
            "flags: unknown value \"SECCOMP_FILTER_FLAG_FAST\"",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}"#,
            "SCMP_ACT_NOTIFY needs a \"listenerPath\"",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}"#,
            "invalid value: integer `-1`",
        ),
    ];
    for (json, expected) in cases {
        let text = refused(json);
        assert!(
            text.contains(expected),
            "{json}\n  gave: {text}\n  want: {expected}"
        );
    }
}
