//! A user's profile file, in Docker's format (`archMap`, `syscalls[].includes`/`excludes`,
//! `name` or `names`, `comment`) or the plain OCI one (`architectures`, `syscalls[].names`):
//! parsed, checked, and resolved for one container on this host into the OCI form runc reads.
//!
//! Every file Docker accepts with the same meaning is accepted, with three exceptions that
//! would otherwise make a rule silently mean something else than it says: unknown fields
//! (a misspelt `"include"` would make a conditional rule unconditional), capability names
//! not written `CAP_...` and architecture names Docker never matches (their condition could
//! never hold). A file without `defaultAction` is refused too (Docker reads an empty profile
//! as "no seccomp"; Warren wants that said with `seccomp=unconfined`).

use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;

use super::arch::{self, CONDITION_ARCHES};
use super::conditions::{Filter, Target};
use super::kernel;
use crate::SpecError;

/// The actions a rule or the default may take.
const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];

/// The argument comparisons.
const OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_GT",
    "SCMP_CMP_GE",
    "SCMP_CMP_MASKED_EQ",
];

/// The seccomp architectures of the runtime spec.
const SECCOMP_ARCHES: &[&str] = &[
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

/// The filter flags.
const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// A syscall has six arguments, indexes 0 to 5; libseccomp takes at most six conditions.
const MAX_ARGS: usize = 6;

#[derive(Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a seccomp profile: a JSON object with \"defaultAction\" and \"syscalls\""
)]
struct ProfileFile {
    default_action: Option<String>,
    default_errno_ret: Option<u32>,
    architectures: Option<Vec<String>>,
    arch_map: Option<Vec<ArchMapEntry>>,
    flags: Option<Vec<String>>,
    listener_path: Option<PathBuf>,
    listener_metadata: Option<String>,
    syscalls: Option<Vec<SyscallEntry>>,
    #[serde(rename = "comment")]
    _comment: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ArchMapEntry {
    architecture: String,
    sub_architectures: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SyscallEntry {
    names: Option<Vec<String>>,
    name: Option<String>,
    action: Option<String>,
    errno_ret: Option<u32>,
    args: Option<Vec<ArgEntry>>,
    includes: Option<FilterEntry>,
    excludes: Option<FilterEntry>,
    #[serde(rename = "comment")]
    _comment: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ArgEntry {
    index: Option<u64>,
    value: Option<u64>,
    value_two: Option<u64>,
    op: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FilterEntry {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

/// A checked `includes`/`excludes`, owning what a [`Filter`] borrows.
#[derive(Default)]
struct OwnedFilter {
    caps: Vec<Capability>,
    arches: Vec<&'static str>,
    min_kernel: Option<(u32, u32)>,
}

impl OwnedFilter {
    fn as_filter(&self) -> Filter<'_> {
        Filter {
            caps: &self.caps,
            arches: &self.arches,
            min_kernel: self.min_kernel,
        }
    }
}

/// Parses, checks and resolves a profile for `target`. `path` only names the file in errors.
pub(crate) fn resolve(
    path: &Path,
    json: &[u8],
    target: &Target<'_>,
) -> Result<LinuxSeccomp, SpecError> {
    let error = |reason: String| SpecError::SeccompProfile {
        path: path.to_path_buf(),
        reason,
    };
    if json.iter().all(u8::is_ascii_whitespace) {
        return Err(error(
            "the file is empty: a profile is a JSON object with \"defaultAction\" and \
             \"syscalls\""
                .into(),
        ));
    }
    // serde would also read a struct from a JSON array, by position; Docker does not.
    if json.trim_ascii_start().first() != Some(&b'{') {
        return Err(error(
            "not a JSON object: a profile is {\"defaultAction\": ..., \"syscalls\": [...]}".into(),
        ));
    }
    let file: ProfileFile = serde_json::from_slice(json).map_err(|e| {
        error(match e.classify() {
            serde_json::error::Category::Data => format!("invalid profile: {e}"),
            _ => format!("not JSON: {e}"),
        })
    })?;
    build(file, target).map_err(error)
}

fn build(file: ProfileFile, target: &Target<'_>) -> Result<LinuxSeccomp, String> {
    let default_action: LinuxSeccompAction = match &file.default_action {
        Some(action) => named("defaultAction", action, ACTIONS)?,
        None => {
            return Err(format!(
                "no \"defaultAction\": say what calls outside the rules get, such as \
                 \"SCMP_ACT_ERRNO\" (allowed: {}); to run without seccomp use \
                 seccomp=unconfined instead",
                ACTIONS.join(", ")
            ))
        }
    };
    let architectures = architectures(&file, target)?;
    let flags = file
        .flags
        .iter()
        .flatten()
        .map(|flag| named::<LinuxSeccompFilterFlag>("flags", flag, FLAGS))
        .collect::<Result<Vec<_>, _>>()?;

    let mut syscalls = Vec::new();
    let mut notifies = default_action == LinuxSeccompAction::ScmpActNotify;
    for (i, entry) in file.syscalls.into_iter().flatten().enumerate() {
        let checked = check_entry(i, entry)?;
        notifies |= checked.syscall.action() == LinuxSeccompAction::ScmpActNotify;
        if target.admits(&checked.includes.as_filter(), &checked.excludes.as_filter()) {
            syscalls.push(checked.syscall);
        }
    }
    if notifies && file.listener_path.is_none() {
        return Err("SCMP_ACT_NOTIFY needs a \"listenerPath\" (the seccomp agent's socket)".into());
    }

    let mut profile = LinuxSeccomp::default();
    profile
        .set_default_action(default_action)
        .set_default_errno_ret(file.default_errno_ret)
        .set_architectures(non_empty(architectures))
        .set_flags(non_empty(flags))
        .set_listener_path(file.listener_path)
        .set_listener_metadata(file.listener_metadata)
        .set_syscalls(non_empty(syscalls));
    Ok(profile)
}

/// `architectures` as given, or the host's entry of `archMap` (its architecture, then its
/// sub-architectures); not both.
fn architectures(file: &ProfileFile, target: &Target<'_>) -> Result<Vec<Arch>, String> {
    let parse = |field: &str, names: &[String]| {
        names
            .iter()
            .map(|name| named::<Arch>(field, name, SECCOMP_ARCHES))
            .collect::<Result<Vec<_>, _>>()
    };
    let map = match (&file.architectures, &file.arch_map) {
        (Some(list), Some(map)) if !list.is_empty() && !map.is_empty() => {
            return Err("both \"architectures\" and \"archMap\" are given: use one".into())
        }
        (Some(list), _) if !list.is_empty() => return parse("architectures", list),
        (_, Some(map)) => map,
        _ => return Ok(Vec::new()),
    };
    let host = target.arch.and_then(arch::seccomp_arch);
    let mut chosen = Vec::new();
    for (i, entry) in map.iter().enumerate() {
        let main = named::<Arch>(
            &format!("archMap[{i}].architecture"),
            &entry.architecture,
            SECCOMP_ARCHES,
        )?;
        let subs = parse(
            &format!("archMap[{i}].subArchitectures"),
            entry.sub_architectures.as_deref().unwrap_or_default(),
        )?;
        if chosen.is_empty() && Some(main) == host {
            chosen.push(main);
            chosen.extend(subs);
        }
    }
    Ok(chosen)
}

struct CheckedEntry {
    syscall: LinuxSyscall,
    includes: OwnedFilter,
    excludes: OwnedFilter,
}

fn check_entry(i: usize, entry: SyscallEntry) -> Result<CheckedEntry, String> {
    let names = match (entry.name.filter(|name| !name.is_empty()), entry.names) {
        (Some(_), Some(names)) if !names.is_empty() => {
            return Err(format!(
                "syscalls[{i}]: both \"name\" and \"names\" are given: use \"names\""
            ))
        }
        (Some(name), _) => vec![name],
        (None, Some(names)) if !names.is_empty() => names,
        (None, _) => {
            return Err(format!(
                "syscalls[{i}]: no syscall name: give \"names\": [\"...\"] (or the older \
                 \"name\": \"...\")"
            ))
        }
    };
    for name in &names {
        let valid =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(format!(
                "syscalls[{i}]: invalid syscall name {name:?}: names are letters, digits and _"
            ));
        }
    }
    let at = match names.as_slice() {
        [a, b, c, _, ..] => format!("syscalls[{i}] ({a}, {b}, {c}, ...)"),
        all => format!("syscalls[{i}] ({})", all.join(", ")),
    };

    let action: LinuxSeccompAction = match &entry.action {
        Some(action) => named(&format!("{at}: action"), action, ACTIONS)?,
        None => {
            return Err(format!(
                "{at}: no \"action\"; allowed: {}",
                ACTIONS.join(", ")
            ))
        }
    };
    let args = entry.args.unwrap_or_default();
    if args.len() > MAX_ARGS {
        return Err(format!(
            "{at}: {} argument conditions; at most {MAX_ARGS} are allowed",
            args.len()
        ));
    }
    let args = args
        .iter()
        .enumerate()
        .map(|(j, arg)| check_arg(&format!("{at}: args[{j}]"), arg))
        .collect::<Result<Vec<_>, _>>()?;
    let includes = check_filter(&format!("{at}: includes"), entry.includes)?;
    let excludes = check_filter(&format!("{at}: excludes"), entry.excludes)?;

    let mut syscall = LinuxSyscall::default();
    syscall
        .set_names(names)
        .set_action(action)
        .set_errno_ret(entry.errno_ret)
        .set_args(non_empty(args));
    Ok(CheckedEntry {
        syscall,
        includes,
        excludes,
    })
}

fn check_arg(at: &str, arg: &ArgEntry) -> Result<LinuxSeccompArg, String> {
    let index = match arg.index {
        Some(index) if index < MAX_ARGS as u64 => index as usize,
        Some(index) => {
            return Err(format!(
                "{at}: index {index}: a syscall's arguments are 0 to {}",
                MAX_ARGS - 1
            ))
        }
        None => return Err(format!("{at}: no \"index\" (0 to {})", MAX_ARGS - 1)),
    };
    let op: LinuxSeccompOperator = match &arg.op {
        Some(op) => named(&format!("{at}: op"), op, OPERATORS)?,
        None => {
            return Err(format!(
                "{at}: no \"op\"; allowed: {}",
                OPERATORS.join(", ")
            ))
        }
    };
    let mut checked = LinuxSeccompArgBuilder::default()
        .index(index)
        .value(arg.value.unwrap_or(0))
        .op(op);
    if let Some(value_two) = arg.value_two {
        checked = checked.value_two(value_two);
    }
    checked.build().map_err(|e| format!("{at}: {e}"))
}

fn check_filter(at: &str, filter: Option<FilterEntry>) -> Result<OwnedFilter, String> {
    let Some(filter) = filter else {
        return Ok(OwnedFilter::default());
    };
    let caps = filter
        .caps
        .iter()
        .flatten()
        .map(|cap| capability(at, cap))
        .collect::<Result<Vec<_>, _>>()?;
    let arches = filter
        .arches
        .iter()
        .flatten()
        .map(|name| {
            CONDITION_ARCHES
                .iter()
                .copied()
                .find(|known| known == name)
                .ok_or_else(|| {
                    let hint = arch::condition_name(name, arch::HOST_LITTLE_ENDIAN)
                        .map(|known| format!(" (Docker names {name} {known:?})"))
                        .unwrap_or_default();
                    format!(
                        "{at}: unknown architecture {name:?}{hint}; allowed: {}",
                        CONDITION_ARCHES.join(", ")
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let min_kernel = match filter.min_kernel.as_deref() {
        None | Some("") => None,
        Some(text) => Some(kernel::parse_min_kernel(text).map_err(|e| format!("{at}: {e}"))?),
    };
    Ok(OwnedFilter {
        caps,
        arches,
        min_kernel,
    })
}

/// A capability as Docker compares it: `CAP_` and the upper-case name.
fn capability(at: &str, name: &str) -> Result<Capability, String> {
    let parsed = serde_json::from_value::<Capability>(serde_json::Value::String(name.into()));
    match parsed {
        Ok(cap) if name.starts_with("CAP_") && name == name.to_ascii_uppercase() => Ok(cap),
        _ => Err(format!(
            "{at}: unknown capability {name:?}: write capabilities as the kernel names them, \
             such as \"CAP_SYS_ADMIN\""
        )),
    }
}

/// `value` as one of the `allowed` names, or an error naming the field and the allowed values.
fn named<T: DeserializeOwned>(field: &str, value: &str, allowed: &[&str]) -> Result<T, String> {
    let unknown = || {
        format!(
            "{field}: unknown value {value:?}; allowed: {}",
            allowed.join(", ")
        )
    };
    if !allowed.contains(&value) {
        return Err(unknown());
    }
    serde_json::from_value(serde_json::Value::String(value.into())).map_err(|_| unknown())
}

fn non_empty<T>(list: Vec<T>) -> Option<Vec<T>> {
    (!list.is_empty()).then_some(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_parses() {
        for name in ACTIONS {
            named::<LinuxSeccompAction>("t", name, ACTIONS).expect(name);
        }
        for name in OPERATORS {
            named::<LinuxSeccompOperator>("t", name, OPERATORS).expect(name);
        }
        for name in SECCOMP_ARCHES {
            named::<Arch>("t", name, SECCOMP_ARCHES).expect(name);
        }
        for name in FLAGS {
            named::<LinuxSeccompFilterFlag>("t", name, FLAGS).expect(name);
        }
    }

    #[test]
    fn capabilities_must_be_written_in_full() {
        assert_eq!(capability("t", "CAP_SYS_ADMIN"), Ok(Capability::SysAdmin));
        assert_eq!(capability("t", "CAP_BPF"), Ok(Capability::Bpf));
        for bad in ["SYS_ADMIN", "cap_sys_admin", "CAP_SYS_ADMN", ""] {
            let err = capability("t", bad).unwrap_err();
            assert!(err.contains("unknown capability"), "{bad}: {err}");
        }
    }
}
