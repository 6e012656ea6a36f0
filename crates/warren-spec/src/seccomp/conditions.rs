//! Conditional rules: a rule of a profile is kept or dropped by the container's capabilities,
//! the host's architecture and its kernel version, with Docker's semantics for `includes`
//! (every condition given must hold) and `excludes` (any condition that holds drops it).

use oci_spec::runtime::Capability;

/// What conditions are checked against: one container on one host.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// The container's capabilities (Docker checks the bounding set; Warren gives every set
    /// the same capabilities).
    pub caps: &'a [Capability],
    /// The host's architecture as conditions name it (`"amd64"`, ...), `None` if unknown:
    /// then no `arches` condition holds.
    pub arch: Option<&'static str>,
    /// The host kernel's `(major, minor)`.
    pub kernel: (u32, u32),
}

/// One set of conditions (a profile's `includes` or `excludes` object). Empty parts are not
/// conditions at all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Filter<'a> {
    /// Capabilities.
    pub caps: &'a [Capability],
    /// Architecture condition names (see [`super::arch::CONDITION_ARCHES`]).
    pub arches: &'a [&'static str],
    /// The kernel `(major, minor)` from which the condition holds.
    pub min_kernel: Option<(u32, u32)>,
}

impl Filter<'static> {
    /// No condition.
    pub(super) const NONE: Self = Filter {
        caps: &[],
        arches: &[],
        min_kernel: None,
    };
}

impl Target<'_> {
    /// Whether a rule with these `includes` and `excludes` belongs in this target's profile.
    pub(super) fn admits(&self, includes: &Filter<'_>, excludes: &Filter<'_>) -> bool {
        self.all_hold(includes) && !self.any_holds(excludes)
    }

    /// `includes`: every capability present, the host among the arches, the kernel recent
    /// enough.
    fn all_hold(&self, filter: &Filter<'_>) -> bool {
        (filter.caps.iter().all(|cap| self.caps.contains(cap)))
            && (filter.arches.is_empty() || self.on_one_of(filter.arches))
            && filter.min_kernel.is_none_or(|min| self.kernel >= min)
    }

    /// `excludes`: any capability present, or the host among the arches, or the kernel recent
    /// enough.
    fn any_holds(&self, filter: &Filter<'_>) -> bool {
        filter.caps.iter().any(|cap| self.caps.contains(cap))
            || self.on_one_of(filter.arches)
            || filter.min_kernel.is_some_and(|min| self.kernel >= min)
    }

    fn on_one_of(&self, arches: &[&'static str]) -> bool {
        self.arch.is_some_and(|arch| arches.contains(&arch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: Target<'static> = Target {
        caps: &[Capability::Chown, Capability::SysAdmin],
        arch: Some("amd64"),
        kernel: (5, 10),
    };

    fn filter(
        caps: &'static [Capability],
        arches: &'static [&'static str],
        min: Option<(u32, u32)>,
    ) -> Filter<'static> {
        Filter {
            caps,
            arches,
            min_kernel: min,
        }
    }

    #[test]
    fn no_conditions_admit() {
        assert!(TARGET.admits(&Filter::NONE, &Filter::NONE));
    }

    #[test]
    fn includes_need_every_condition() {
        let admits = |f| TARGET.admits(&f, &Filter::NONE);
        assert!(admits(filter(&[Capability::SysAdmin], &[], None)));
        assert!(!admits(filter(
            &[Capability::SysAdmin, Capability::SysBoot],
            &[],
            None
        )));
        assert!(admits(filter(&[], &["x86", "amd64"], None)));
        assert!(!admits(filter(&[], &["s390x"], None)));
        assert!(admits(filter(&[], &[], Some((5, 10)))));
        assert!(admits(filter(&[], &[], Some((4, 8)))));
        assert!(!admits(filter(&[], &[], Some((5, 11)))));
        assert!(!admits(filter(&[], &[], Some((6, 0)))));
        assert!(!admits(filter(&[Capability::SysAdmin], &["s390x"], None)));
    }

    #[test]
    fn excludes_need_any_condition() {
        let admits = |f| TARGET.admits(&Filter::NONE, &f);
        assert!(!admits(filter(&[Capability::SysAdmin], &[], None)));
        assert!(!admits(filter(
            &[Capability::SysBoot, Capability::Chown],
            &[],
            None
        )));
        assert!(admits(filter(&[Capability::SysBoot], &[], None)));
        assert!(!admits(filter(&[Capability::SysBoot], &["amd64"], None)));
        assert!(admits(filter(&[], &["s390", "s390x"], None)));
        assert!(!admits(filter(&[], &[], Some((4, 8)))));
        assert!(admits(filter(&[], &[], Some((6, 1)))));
    }

    #[test]
    fn an_unknown_arch_matches_no_arches() {
        let target = Target {
            arch: None,
            ..TARGET
        };
        assert!(!target.admits(&filter(&[], &["amd64"], None), &Filter::NONE));
        assert!(target.admits(&Filter::NONE, &filter(&[], &["amd64"], None)));
    }
}
