//! Architecture names: Rust's (`std::env::consts::ARCH`), the short names profile conditions
//! use (`"amd64"`, `"arm64"`, ... as Docker's profiles spell them), and the seccomp
//! architectures (`SCMP_ARCH_*`) a filter is loaded for.

use oci_spec::runtime::Arch;

/// The short architecture names a profile's `includes.arches`/`excludes.arches` may hold, as
/// Docker's profile format spells them (libseccomp's names, but `amd64` and `arm64` for
/// x86-64 and AArch64).
pub(crate) const CONDITION_ARCHES: &[&str] = &[
    "x86",
    "amd64",
    "x32",
    "arm",
    "arm64",
    "loongarch64",
    "mips",
    "mipsel",
    "mips64",
    "mips64n32",
    "mipsel64",
    "mipsel64n32",
    "ppc",
    "ppc64",
    "ppc64le",
    "riscv64",
    "s390",
    "s390x",
];

/// Whether this build is little-endian: Rust gives one `ARCH` name (`mips64`, `powerpc64`)
/// to both byte orders, seccomp does not.
pub(crate) const HOST_LITTLE_ENDIAN: bool = cfg!(target_endian = "little");

/// The condition name (one of [`CONDITION_ARCHES`]) of an architecture given by its Rust name
/// (`"x86_64"`, `"aarch64"`, `"powerpc64"`, ...) or directly by its condition name
/// (`"amd64"`, `"ppc64le"`, ...). `little_endian` picks the byte order where the Rust name
/// leaves it open. `None` for an architecture seccomp profiles do not name.
pub(crate) fn condition_name(arch: &str, little_endian: bool) -> Option<&'static str> {
    let name = match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "loong64" => "loongarch64",
        "powerpc" => "ppc",
        "powerpc64" if little_endian => "ppc64le",
        "powerpc64" => "ppc64",
        "mips" if little_endian => "mipsel",
        "mips64" if little_endian => "mipsel64",
        other => other,
    };
    CONDITION_ARCHES
        .iter()
        .copied()
        .find(|known| *known == name)
}

/// The architectures Docker's default profile loads its filter for on a host of this
/// architecture (the native one first, then the ones its compat syscalls use): x86-64 also
/// filters 32-bit x86 and x32 syscalls, AArch64 also filters 32-bit ARM ones, and so on.
/// Empty for architectures Docker's map does not list; the runtime then filters the native
/// architecture only.
pub(crate) fn profile_arches(condition_name: &str) -> &'static [Arch] {
    match condition_name {
        "amd64" => &[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
        "arm64" => &[Arch::ScmpArchAarch64, Arch::ScmpArchArm],
        "mips64" => &[
            Arch::ScmpArchMips64,
            Arch::ScmpArchMips,
            Arch::ScmpArchMips64n32,
        ],
        "mips64n32" => &[
            Arch::ScmpArchMips64n32,
            Arch::ScmpArchMips,
            Arch::ScmpArchMips64,
        ],
        "mipsel64" => &[
            Arch::ScmpArchMipsel64,
            Arch::ScmpArchMipsel,
            Arch::ScmpArchMipsel64n32,
        ],
        "mipsel64n32" => &[
            Arch::ScmpArchMipsel64n32,
            Arch::ScmpArchMipsel,
            Arch::ScmpArchMipsel64,
        ],
        "s390x" => &[Arch::ScmpArchS390x, Arch::ScmpArchS390],
        "riscv64" => &[Arch::ScmpArchRiscv64],
        "loongarch64" => &[Arch::ScmpArchLoongarch64],
        _ => &[],
    }
}

/// The seccomp architecture of a condition name: how a profile's `archMap` entry for this host
/// is found.
pub(crate) fn seccomp_arch(condition_name: &str) -> Option<Arch> {
    Some(match condition_name {
        "x86" => Arch::ScmpArchX86,
        "amd64" => Arch::ScmpArchX86_64,
        "x32" => Arch::ScmpArchX32,
        "arm" => Arch::ScmpArchArm,
        "arm64" => Arch::ScmpArchAarch64,
        "loongarch64" => Arch::ScmpArchLoongarch64,
        "mips" => Arch::ScmpArchMips,
        "mipsel" => Arch::ScmpArchMipsel,
        "mips64" => Arch::ScmpArchMips64,
        "mips64n32" => Arch::ScmpArchMips64n32,
        "mipsel64" => Arch::ScmpArchMipsel64,
        "mipsel64n32" => Arch::ScmpArchMipsel64n32,
        "ppc" => Arch::ScmpArchPpc,
        "ppc64" => Arch::ScmpArchPpc64,
        "ppc64le" => Arch::ScmpArchPpc64le,
        "riscv64" => Arch::ScmpArchRiscv64,
        "s390" => Arch::ScmpArchS390,
        "s390x" => Arch::ScmpArchS390x,
        _ => return None,
    })
}

/// This host's condition name, from the architecture this program was built for.
pub(crate) fn host() -> Option<&'static str> {
    condition_name(std::env::consts::ARCH, HOST_LITTLE_ENDIAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_names_map_to_condition_names() {
        assert_eq!(condition_name("x86_64", true), Some("amd64"));
        assert_eq!(condition_name("aarch64", true), Some("arm64"));
        assert_eq!(condition_name("x86", true), Some("x86"));
        assert_eq!(condition_name("arm", true), Some("arm"));
        assert_eq!(condition_name("s390x", false), Some("s390x"));
        assert_eq!(condition_name("riscv64", true), Some("riscv64"));
        assert_eq!(condition_name("loongarch64", true), Some("loongarch64"));
        assert_eq!(condition_name("powerpc64", true), Some("ppc64le"));
        assert_eq!(condition_name("powerpc64", false), Some("ppc64"));
        assert_eq!(condition_name("mips64", true), Some("mipsel64"));
        assert_eq!(condition_name("mips64", false), Some("mips64"));
        assert_eq!(condition_name("amd64", true), Some("amd64"));
        assert_eq!(condition_name("sparc64", false), None);
        assert_eq!(condition_name("", true), None);
    }

    #[test]
    fn every_condition_name_has_a_seccomp_arch() {
        for name in CONDITION_ARCHES {
            assert!(seccomp_arch(name).is_some(), "{name}");
            // Big-endian: "mips" and "mips64" are Rust's names for either byte order.
            assert_eq!(condition_name(name, false), Some(*name));
        }
    }

    #[test]
    fn profile_arches_start_with_the_native_one() {
        for name in CONDITION_ARCHES {
            if let Some(first) = profile_arches(name).first() {
                assert_eq!(Some(*first), seccomp_arch(name), "{name}");
            }
        }
        assert!(profile_arches("ppc64le").is_empty());
    }

    #[test]
    fn this_host_is_known() {
        if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
            assert!(host().is_some());
        }
    }
}
