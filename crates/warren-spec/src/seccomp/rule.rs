//! One conditional rule of the built-in profile, written as a `const` (see
//! [`super::default_profile`]), and how kept rules become the profile's `syscalls`.

use oci_spec::runtime::{Capability, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSyscall};

use super::conditions::Filter;

pub(crate) use oci_spec::runtime::LinuxSeccompOperator as Op;

/// What a matching call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It runs.
    Allow,
    /// It fails with this errno without running.
    Errno(u32),
}

/// Which argument an [`ArgTest`] reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot {
    /// The argument at this index, on every architecture.
    At(usize),
    /// clone(2)'s flags: the first argument, but the second on s390 and s390x, whose clone
    /// takes the stack first.
    CloneFlags,
}

impl Slot {
    fn index(self, arch: Option<&str>) -> usize {
        match self {
            Slot::At(index) => index,
            Slot::CloneFlags if matches!(arch, Some("s390" | "s390x")) => 1,
            Slot::CloneFlags => 0,
        }
    }
}

/// A condition on one argument (seccomp compares it as an unsigned 64-bit number).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArgTest {
    /// Which argument.
    pub slot: Slot,
    /// How it is compared.
    pub op: Op,
    /// The value compared with (the mask, for [`Op::ScmpCmpMaskedEq`]).
    pub value: u64,
    /// For [`Op::ScmpCmpMaskedEq`]: what the masked argument must equal.
    pub value_two: Option<u64>,
}

/// Syscalls that get one verdict, when their argument passes `test` (if any), in containers
/// and on hosts that meet `includes` and not `excludes`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    /// The syscalls.
    pub names: &'static [&'static str],
    /// What they get.
    pub verdict: Verdict,
    /// The argument condition, if any.
    pub test: Option<ArgTest>,
    /// Conditions that must all hold for the rule to be in a profile.
    pub includes: Filter<'static>,
    /// Conditions any of which takes the rule out of a profile.
    pub excludes: Filter<'static>,
}

impl Rule {
    /// These syscalls run.
    pub(super) const fn allow(names: &'static [&'static str]) -> Self {
        Rule {
            names,
            verdict: Verdict::Allow,
            test: None,
            includes: Filter::NONE,
            excludes: Filter::NONE,
        }
    }

    /// These syscalls fail with `errno`.
    pub(super) const fn errno(names: &'static [&'static str], errno: i32) -> Self {
        Rule {
            verdict: Verdict::Errno(errno as u32),
            ..Rule::allow(names)
        }
    }

    /// Only when argument `index` compares true with `value`.
    pub(super) const fn arg(mut self, index: usize, op: Op, value: u64) -> Self {
        self.test = Some(ArgTest {
            slot: Slot::At(index),
            op,
            value,
            value_two: None,
        });
        self
    }

    /// Only when clone's flags have none of the bits of `mask` set.
    pub(super) const fn clone_flags_without(mut self, mask: u64) -> Self {
        self.test = Some(ArgTest {
            slot: Slot::CloneFlags,
            op: Op::ScmpCmpMaskedEq,
            value: mask,
            value_two: Some(0),
        });
        self
    }

    /// Only for containers with all these capabilities.
    pub(super) const fn with_caps(mut self, caps: &'static [Capability]) -> Self {
        self.includes.caps = caps;
        self
    }

    /// Only for containers with none of these capabilities.
    pub(super) const fn without_caps(mut self, caps: &'static [Capability]) -> Self {
        self.excludes.caps = caps;
        self
    }

    /// Only on hosts of one of these architectures (condition names).
    pub(super) const fn on(mut self, arches: &'static [&'static str]) -> Self {
        self.includes.arches = arches;
        self
    }

    /// Only on kernels from `major.minor` on.
    pub(super) const fn since_kernel(mut self, major: u32, minor: u32) -> Self {
        self.includes.min_kernel = Some((major, minor));
        self
    }

    /// The rule as the runtime reads it, for a host of this architecture.
    pub(super) fn to_syscall(self, arch: Option<&str>) -> LinuxSyscall {
        let mut syscall = LinuxSyscall::default();
        let (action, errno) = match self.verdict {
            Verdict::Allow => (LinuxSeccompAction::ScmpActAllow, None),
            Verdict::Errno(errno) => (LinuxSeccompAction::ScmpActErrno, Some(errno)),
        };
        syscall
            .set_names(self.names.iter().map(|name| name.to_string()).collect())
            .set_action(action)
            .set_errno_ret(errno);
        if let Some(test) = self.test {
            let mut arg = LinuxSeccompArgBuilder::default()
                .index(test.slot.index(arch))
                .op(test.op)
                .value(test.value);
            if let Some(value_two) = test.value_two {
                arg = arg.value_two(value_two);
            }
            // The builder defaults every field it is not given, so it cannot fail; oci-spec
            // gives `LinuxSeccompArg` no setters to avoid it.
            let arg = arg
                .build()
                .expect("LinuxSeccompArgBuilder defaults every field");
            syscall.set_args(Some(vec![arg]));
        }
        syscall
    }
}

/// Adds `syscall` to `profile`: its names join an entry with the same action, errno and
/// arguments if there is one (skipping names already there), else it becomes a new entry.
/// Keeps the profile short, and the same rules in the same order give the same profile.
pub(crate) fn merge_into(profile: &mut Vec<LinuxSyscall>, syscall: LinuxSyscall) {
    let same = |entry: &&mut LinuxSyscall| {
        entry.action() == syscall.action()
            && entry.errno_ret() == syscall.errno_ret()
            && entry.args() == syscall.args()
    };
    match profile.iter_mut().find(same) {
        Some(entry) => {
            let mut names = entry.names().clone();
            for name in syscall.names() {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
            entry.set_names(names);
        }
        None => profile.push(syscall),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_flags_are_the_second_argument_on_s390() {
        let rule = Rule::allow(&["clone"]).clone_flags_without(0xff);
        for (arch, index) in [
            (Some("amd64"), 0),
            (Some("s390x"), 1),
            (Some("s390"), 1),
            (None, 0),
        ] {
            let syscall = rule.to_syscall(arch);
            let args = syscall.args().as_ref().expect("args");
            assert_eq!(args.len(), 1);
            assert_eq!(args[0].index(), index, "{arch:?}");
            assert_eq!(args[0].op(), Op::ScmpCmpMaskedEq);
            assert_eq!(args[0].value(), 0xff);
            assert_eq!(args[0].value_two(), Some(0));
        }
    }

    #[test]
    fn merging_joins_equal_entries_only() {
        let mut profile = Vec::new();
        merge_into(
            &mut profile,
            Rule::allow(&["read", "write"]).to_syscall(None),
        );
        merge_into(&mut profile, Rule::errno(&["clone3"], 38).to_syscall(None));
        merge_into(
            &mut profile,
            Rule::allow(&["mount", "read"]).to_syscall(None),
        );
        merge_into(
            &mut profile,
            Rule::allow(&["socket"])
                .arg(0, Op::ScmpCmpLt, 38)
                .to_syscall(None),
        );
        merge_into(
            &mut profile,
            Rule::allow(&["socket"])
                .arg(0, Op::ScmpCmpGt, 40)
                .to_syscall(None),
        );
        assert_eq!(profile.len(), 4);
        assert_eq!(profile[0].names(), &["read", "write", "mount"]);
        assert_eq!(profile[1].errno_ret(), Some(38));
        assert_eq!(profile[1].action(), LinuxSeccompAction::ScmpActErrno);
    }
}
