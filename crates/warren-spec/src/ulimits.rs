//! Process resource limits (`docker run --ulimit nofile=1024:2048`): Docker's names, each
//! validated, merged over the default (`nofile` 1024).

use std::str::FromStr;

use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType};

use crate::SpecError;

/// One resource limit: soft and hard values (`u64::MAX` is unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct Ulimit {
    /// Which limit.
    pub kind: UlimitKind,
    /// The value the process starts with.
    pub soft: u64,
    /// The most the process may raise it to (at least `soft`).
    pub hard: u64,
}

impl Ulimit {
    /// Limit `kind` at `soft`, which the process may raise up to `hard`.
    pub fn new(kind: UlimitKind, soft: u64, hard: u64) -> Ulimit {
        Ulimit { kind, soft, hard }
    }
}

/// The limits `setrlimit(2)` knows, by Docker's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UlimitKind {
    /// `as`: address space.
    As,
    /// `core`: core file size.
    Core,
    /// `cpu`: CPU time in seconds.
    Cpu,
    /// `data`: data segment size.
    Data,
    /// `fsize`: largest file written.
    Fsize,
    /// `locks`: file locks.
    Locks,
    /// `memlock`: locked memory.
    Memlock,
    /// `msgqueue`: POSIX message queue bytes.
    Msgqueue,
    /// `nice`: nice ceiling.
    Nice,
    /// `nofile`: open files.
    Nofile,
    /// `nproc`: processes of the user (counted on the whole host, as the kernel does).
    Nproc,
    /// `rss`: resident set (ignored by Linux).
    Rss,
    /// `rtprio`: real-time priority ceiling.
    Rtprio,
    /// `rttime`: real-time CPU time in microseconds.
    Rttime,
    /// `sigpending`: queued signals.
    Sigpending,
    /// `stack`: stack size.
    Stack,
}

const NAMES: &[(&str, UlimitKind, PosixRlimitType)] = &[
    ("as", UlimitKind::As, PosixRlimitType::RlimitAs),
    ("core", UlimitKind::Core, PosixRlimitType::RlimitCore),
    ("cpu", UlimitKind::Cpu, PosixRlimitType::RlimitCpu),
    ("data", UlimitKind::Data, PosixRlimitType::RlimitData),
    ("fsize", UlimitKind::Fsize, PosixRlimitType::RlimitFsize),
    ("locks", UlimitKind::Locks, PosixRlimitType::RlimitLocks),
    (
        "memlock",
        UlimitKind::Memlock,
        PosixRlimitType::RlimitMemlock,
    ),
    (
        "msgqueue",
        UlimitKind::Msgqueue,
        PosixRlimitType::RlimitMsgqueue,
    ),
    ("nice", UlimitKind::Nice, PosixRlimitType::RlimitNice),
    ("nofile", UlimitKind::Nofile, PosixRlimitType::RlimitNofile),
    ("nproc", UlimitKind::Nproc, PosixRlimitType::RlimitNproc),
    ("rss", UlimitKind::Rss, PosixRlimitType::RlimitRss),
    ("rtprio", UlimitKind::Rtprio, PosixRlimitType::RlimitRtprio),
    ("rttime", UlimitKind::Rttime, PosixRlimitType::RlimitRttime),
    (
        "sigpending",
        UlimitKind::Sigpending,
        PosixRlimitType::RlimitSigpending,
    ),
    ("stack", UlimitKind::Stack, PosixRlimitType::RlimitStack),
];

impl UlimitKind {
    /// Docker's name of the limit, e.g. `nofile`.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, k, _)| *k == self)
            .map_or("", |n| n.0)
    }

    fn oci(self) -> PosixRlimitType {
        NAMES
            .iter()
            .find(|(_, k, _)| *k == self)
            .map_or(PosixRlimitType::RlimitNofile, |n| n.2)
    }
}

impl FromStr for UlimitKind {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, SpecError> {
        NAMES
            .iter()
            .find(|(n, _, _)| *n == s)
            .map(|n| n.1)
            .ok_or_else(|| {
                let names: Vec<&str> = NAMES.iter().map(|n| n.0).collect();
                SpecError::value(
                    "ulimit",
                    s,
                    format!("unknown limit; one of {}", names.join(", ")),
                )
            })
    }
}

fn value(text: &str, whole: &str) -> Result<u64, SpecError> {
    match text {
        "unlimited" | "-1" => Ok(u64::MAX),
        _ => text.parse::<u64>().map_err(|_| {
            SpecError::value(
                "ulimit",
                whole,
                "a value is a whole number, -1 or unlimited",
            )
        }),
    }
}

impl FromStr for Ulimit {
    type Err = SpecError;

    /// Docker's syntax: `NAME=SOFT[:HARD]` (hard defaults to soft).
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let (name, values) = s.split_once('=').ok_or_else(|| {
            SpecError::value(
                "ulimit",
                s,
                "expected NAME=SOFT[:HARD], e.g. nofile=1024:2048",
            )
        })?;
        let kind: UlimitKind = name.parse()?;
        let (soft, hard) = values.split_once(':').unwrap_or((values, values));
        let u = Ulimit {
            kind,
            soft: value(soft, s)?,
            hard: value(hard, s)?,
        };
        u.validate()?;
        Ok(u)
    }
}

impl Ulimit {
    /// The soft value may not exceed the hard one.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.soft > self.hard {
            return Err(SpecError::InvalidLimit {
                field: "ulimit",
                value: format!("{}={}:{}", self.kind.name(), self.soft, self.hard),
                allowed: "a soft value at most the hard one".into(),
            });
        }
        Ok(())
    }
}

/// The process's rlimits: the default `nofile` (1024:1024) unless `given` names it, then
/// each of `given` (one per kind; a kind given twice is an error).
pub(crate) fn rlimits(given: &[Ulimit]) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut seen = std::collections::BTreeSet::new();
    for u in given {
        u.validate()?;
        if !seen.insert(u.kind) {
            return Err(SpecError::value(
                "ulimit",
                u.kind.name(),
                "given more than once; give each limit once",
            ));
        }
    }
    let mut all: Vec<Ulimit> = given.to_vec();
    if !seen.contains(&UlimitKind::Nofile) {
        all.insert(
            0,
            Ulimit {
                kind: UlimitKind::Nofile,
                soft: crate::defaults::NOFILE,
                hard: crate::defaults::NOFILE,
            },
        );
    }
    all.iter()
        .map(|u| {
            Ok(PosixRlimitBuilder::default()
                .typ(u.kind.oci())
                .soft(u.soft)
                .hard(u.hard)
                .build()?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_syntax() {
        let u: Ulimit = "nofile=1024:2048".parse().unwrap();
        assert_eq!((u.kind, u.soft, u.hard), (UlimitKind::Nofile, 1024, 2048));
        let u: Ulimit = "core=-1".parse().unwrap();
        assert_eq!((u.soft, u.hard), (u64::MAX, u64::MAX));
        let u: Ulimit = "nproc=10:unlimited".parse().unwrap();
        assert_eq!((u.soft, u.hard), (10, u64::MAX));
        for bad in [
            "nofile",
            "files=1",
            "nofile=2:1",
            "nofile=x",
            "nofile=1:2:3",
            "=1",
        ] {
            assert!(bad.parse::<Ulimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_nofile_is_replaced_not_repeated() {
        let r = rlimits(&[]).unwrap();
        assert_eq!(r.len(), 1);
        let r = rlimits(&["nofile=10:20".parse().unwrap(), "nproc=5".parse().unwrap()]).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].soft(), r[0].hard()), (10, 20));
        let twice = ["nofile=10".parse().unwrap(), "nofile=20".parse().unwrap()];
        assert!(rlimits(&twice).is_err());
    }
}
