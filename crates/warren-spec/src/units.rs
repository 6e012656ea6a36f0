//! Docker's units, read one way everywhere: byte sizes (`--memory 1.5g`, `--shm-size 64m`,
//! `--tmpfs /run:size=64m`), durations (`--health-interval 30s`, `--since 10m`) and signals
//! (`kill -s HUP`, `--stop-signal SIGRTMIN+3`).
//!
//! Each parser follows the Go code Docker uses (go-units' `RAMInBytes`, `time.ParseDuration`,
//! moby's `signal.ParseSignal`), so a value a Docker user already types means the same here,
//! and every flag of the CLI and the daemon reads it through the same function. Arithmetic is
//! exact (no floating point): `1.1k` is 1126 bytes and `0.3s` is 300 ms, rounded down to whole
//! bytes and nanoseconds.

use std::time::Duration;

/// The lowest real-time signal as Docker and the kernel number it (`RTMIN`): glibc keeps 32
/// and 33 for itself, so its `SIGRTMIN` is 34 as well.
pub const SIGRTMIN: i32 = 34;

/// The highest signal number on Linux (`RTMAX`), and the highest number [`parse_signal`]
/// accepts.
pub const SIGRTMAX: i32 = 64;

/// The longest duration [`parse_duration`] accepts: Go's, `i64::MAX` nanoseconds (about 292
/// years), so every duration fits the nanosecond fields of the API and of image configs.
pub const MAX_DURATION: Duration = Duration::from_nanos(i64::MAX as u64);

/// What a text was being read as; it chooses the "expected ..." part of a [`UnitError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnitKind {
    /// A number of bytes ([`parse_bytes`]).
    Size,
    /// A span of time ([`parse_duration`]).
    Duration,
    /// A signal ([`parse_signal`]).
    Signal,
}

impl UnitKind {
    /// What a value of this kind may look like, for a person to read.
    pub fn allowed(self) -> &'static str {
        match self {
            UnitKind::Size => {
                "a number of bytes, optionally with a fraction and a binary unit b, k, m, g, t \
                 or p (also kb, KiB, MB, MiB...), e.g. 67108864, 512k, 64m or 1.5g"
            }
            UnitKind::Duration => {
                "numbers each followed by a unit ns, us, ms, s, m or h, e.g. 300ms, 1.5s, 10m \
                 or 1h30m (or 0)"
            }
            UnitKind::Signal => {
                "a signal name with or without SIG (KILL, SIGTERM, usr1), RTMIN+n or RTMAX-n \
                 (34-64), or a number 1-64"
            }
        }
    }
}

impl std::fmt::Display for UnitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UnitKind::Size => "size",
            UnitKind::Duration => "duration",
            UnitKind::Signal => "signal",
        })
    }
}

/// What is wrong with a text a parser of this module refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Problem {
    /// Nothing (or only white space) was given.
    Empty,
    /// A minus sign: sizes, durations and signals are never negative.
    Negative,
    /// A number is missing where one is needed, or is malformed (`1.2.3`, `nan`, `inf`).
    BadNumber,
    /// A unit this kind does not have (the unit as given).
    UnknownUnit(String),
    /// A duration's number without its unit (`5`, `1s2`).
    MissingUnit,
    /// More than the type holds: `u64::MAX` bytes, [`MAX_DURATION`].
    TooLarge,
    /// A signal name Linux does not have.
    UnknownName,
    /// A signal number outside 1-64, or `RTMIN+n`/`RTMAX-n` outside 34-64.
    OutOfRange,
}

impl Problem {
    /// The problem in words, worded for `kind`.
    fn describe(&self, kind: UnitKind) -> String {
        match self {
            Problem::Empty => "it is empty".into(),
            Problem::Negative => "it is negative".into(),
            Problem::BadNumber => "a number is missing or malformed".into(),
            Problem::UnknownUnit(unit) => format!("unknown unit {unit:?}"),
            Problem::MissingUnit => "a number has no unit".into(),
            Problem::TooLarge if kind == UnitKind::Duration => {
                "it is too long (at most 2562047h47m16.854775807s, about 292 years)".into()
            }
            Problem::TooLarge => format!("it is too large (at most {} bytes)", u64::MAX),
            Problem::UnknownName => "unknown signal name".into(),
            Problem::OutOfRange => "the signal number is out of range".into(),
        }
    }
}

/// Why a size, duration or signal was refused: the text given, what is wrong with it and
/// (through [`UnitKind::allowed`]) what would have been accepted. Its message is meant to be
/// shown to a person as is, e.g. `"12x" is not a size: unknown unit "x"; expected a number
/// of bytes, ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a {kind}: {reason}", reason = self.reason())]
#[non_exhaustive]
pub struct UnitError {
    /// What the text was read as.
    pub kind: UnitKind,
    /// The text as given.
    pub input: String,
    /// What is wrong with it.
    pub problem: Problem,
}

impl UnitError {
    fn new(kind: UnitKind, input: &str, problem: Problem) -> Self {
        UnitError {
            kind,
            input: input.to_string(),
            problem,
        }
    }

    /// What would have been accepted, for a person to read.
    pub fn allowed(&self) -> &'static str {
        self.kind.allowed()
    }

    /// The message without the input: what is wrong and what is allowed. For callers whose
    /// own message already names the value (`invalid tmpfs option "size=1x": <reason>`).
    pub fn reason(&self) -> String {
        format!(
            "{}; expected {}",
            self.problem.describe(self.kind),
            self.allowed()
        )
    }
}

/// A non-negative decimal number as written, kept as digits so that scaling it by a unit is
/// exact: `digits` without the point, `point` digits of which are before the point (may be
/// negative or past the end once an exponent moved it).
struct Decimal<'a> {
    digits: Vec<&'a [u8]>,
    point: i64,
}

/// The decimal number at the start of `s` (`12`, `1.5`, `.5`, `5.`) and the rest of `s`;
/// `None` unless it has at least one digit.
fn read_decimal(s: &str) -> Option<(Decimal<'_>, &str)> {
    let digits_at = |from: usize| {
        s[from..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(s.len(), |n| from + n)
    };
    let int_end = digits_at(0);
    let (frac_start, frac_end) = if s[int_end..].starts_with('.') {
        (int_end + 1, digits_at(int_end + 1))
    } else {
        (int_end, int_end)
    };
    if int_end == 0 && frac_end == frac_start {
        return None;
    }
    let bytes = s.as_bytes();
    let number = Decimal {
        digits: vec![&bytes[..int_end], &bytes[frac_start..frac_end]],
        point: int_end as i64,
    };
    Some((number, &s[frac_end..]))
}

/// An exponent (`e3`, `E-2`, `e+1`) at the start of `s`, as Go's `ParseFloat` (and so
/// Docker's sizes) takes it, and the rest of `s`. The value is clamped: past ±99999 every
/// number overflows or becomes zero anyway.
fn read_exponent(s: &str) -> Option<(i64, &str)> {
    let rest = s.strip_prefix(['e', 'E'])?;
    let (negative, rest) = match rest.as_bytes().first() {
        Some(b'-') => (true, &rest[1..]),
        Some(b'+') => (false, &rest[1..]),
        _ => (false, rest),
    };
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    if end == 0 {
        return None;
    }
    let value = rest[..end].parse::<i64>().unwrap_or(i64::MAX).min(99_999);
    Some((if negative { -value } else { value }, &rest[end..]))
}

impl Decimal<'_> {
    /// `self × factor`, rounded down; `None` past `u64::MAX`.
    fn times(&self, factor: u64) -> Option<u64> {
        let digits: Vec<u8> = self
            .digits
            .iter()
            .flat_map(|part| part.iter().map(|d| d - b'0'))
            .collect();
        let len = digits.len() as i64;
        let int_len = self.point.clamp(0, len) as usize;
        let factor = u128::from(factor);
        let max = u128::from(u64::MAX);
        let mut whole: u128 = 0;
        for &d in &digits[..int_len] {
            whole = whole * 10 + u128::from(d);
            if whole * factor > max {
                return None;
            }
        }
        // Zeros an exponent added after the last digit.
        for _ in len..self.point {
            if whole == 0 {
                break;
            }
            whole *= 10;
            if whole * factor > max {
                return None;
            }
        }
        // The fraction times the factor, multiplied from its last digit to its first: what
        // carries out of the first digit is the whole part of the product. Past 20 leading
        // zeros it is 0 whatever the digits, as the factor is under 10^20.
        let leading_zeros = (-self.point).max(0);
        let mut carry: u128 = 0;
        if leading_zeros <= 20 {
            let zeros = std::iter::repeat_n(0u8, leading_zeros as usize);
            for d in digits[int_len..].iter().copied().rev().chain(zeros) {
                carry = (u128::from(d) * factor + carry) / 10;
            }
        }
        u64::try_from(whole * factor + carry).ok()
    }
}

/// A size in bytes, in Docker's syntax (go-units' `RAMInBytes`, which `--memory`,
/// `--memory-swap`, `--memory-reservation`, `--shm-size` and tmpfs `size=` use): a
/// non-negative decimal number, fractions allowed, then an optional binary unit `b`, `k`,
/// `m`, `g`, `t` or `p` (any case), which may be followed by `b` or `ib` (`kb`, `KiB`, `MB`,
/// `MiB`), and may be separated from the number by one space. `k` is 1024 bytes, `m`
/// 1024 k, and so on; no unit means bytes. The result is rounded down to whole bytes
/// (`1.5k` is 1536, `0.5` is 0). As Docker's, the number may have an exponent (`1e3` is
/// 1000); white space around the text is ignored.
///
/// Zero is a valid size here; callers for which 0 means "not set" refuse it themselves.
pub fn parse_bytes(text: &str) -> Result<u64, UnitError> {
    let err = |problem| UnitError::new(UnitKind::Size, text, problem);
    let s = text.trim();
    if s.is_empty() {
        return Err(err(Problem::Empty));
    }
    if s.starts_with('-') {
        return Err(err(Problem::Negative));
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let (mut number, mut rest) = read_decimal(s).ok_or_else(|| err(Problem::BadNumber))?;
    if let Some((exponent, after)) = read_exponent(rest) {
        number.point = number.point.saturating_add(exponent);
        rest = after;
    }
    let unit = rest.strip_prefix(' ').unwrap_or(rest);
    if unit.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(err(Problem::BadNumber));
    }
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        "p" | "pb" | "pib" => 50,
        _ => return Err(err(Problem::UnknownUnit(unit.to_string()))),
    };
    number
        .times(1 << shift)
        .ok_or_else(|| err(Problem::TooLarge))
}

/// A duration in Go's syntax (`time.ParseDuration`, which Docker's `--health-interval`,
/// `--health-timeout`, `--since` and `--until` use): one or more decimal numbers, fractions
/// allowed, each followed by its unit `ns`, `us` (or `µs`), `ms`, `s`, `m` or `h`, e.g.
/// `300ms`, `1.5s`, `1h30m`; `0` alone is zero. Units are case-sensitive, as Go's. The
/// result is rounded down to whole nanoseconds; negative durations and ones over
/// [`MAX_DURATION`] are refused. White space around the text is ignored.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let err = |problem| UnitError::new(UnitKind::Duration, text, problem);
    let s = text.trim();
    if s.is_empty() {
        return Err(err(Problem::Empty));
    }
    if s.starts_with('-') {
        return Err(err(Problem::Negative));
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(err(Problem::BadNumber));
    }
    let max = MAX_DURATION.as_nanos() as u64;
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let (number, tail) = read_decimal(rest).ok_or_else(|| err(Problem::BadNumber))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let nanos: u64 = match unit {
            "" => return Err(err(Problem::MissingUnit)),
            "ns" => 1,
            // U+00B5 (micro sign) and U+03BC (Greek mu), as Go takes both.
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(err(Problem::UnknownUnit(unit.to_string()))),
        };
        total = number
            .times(nanos)
            .and_then(|part| total.checked_add(part))
            .filter(|t| *t <= max)
            .ok_or_else(|| err(Problem::TooLarge))?;
        rest = tail;
    }
    Ok(Duration::from_nanos(total))
}

/// Docker's names that are other names for a signal nix knows.
const ALIASES: &[(&str, &str)] = &[("CLD", "CHLD"), ("IOT", "ABRT"), ("POLL", "IO")];

/// A signal number, as `docker kill -s` and `--stop-signal` take it (moby's
/// `signal.ParseSignal`): a Linux signal name with or without `SIG`, in any case (`KILL`,
/// `SIGTERM`, `sigusr1`, also Docker's aliases `CLD`, `IOT`, `POLL`); a real-time signal
/// `RTMIN`, `RTMIN+n`, `RTMAX-n` or `RTMAX` within [`SIGRTMIN`]-[`SIGRTMAX`] (34-64); or a
/// number 1-64. White space around the text is ignored.
pub fn parse_signal(text: &str) -> Result<i32, UnitError> {
    let err = |problem| UnitError::new(UnitKind::Signal, text, problem);
    let s = text.trim();
    if s.is_empty() {
        return Err(err(Problem::Empty));
    }
    if s.starts_with('-') {
        return Err(err(Problem::Negative));
    }
    let in_range = |n: Option<i32>, low: i32| {
        n.filter(|n| (low..=SIGRTMAX).contains(n))
            .ok_or_else(|| err(Problem::OutOfRange))
    };
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return in_range(s.parse().ok(), 1);
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    // `+n` or `-n` after RTMIN or RTMAX: digits only, as Docker's names are.
    let offset = |rest: &str, sign: char| -> Result<Option<i32>, UnitError> {
        if rest.is_empty() {
            return Ok(Some(0));
        }
        match rest.strip_prefix(sign) {
            Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => Ok(n.parse().ok()),
            _ => Err(err(Problem::UnknownName)),
        }
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let n = offset(rest, '+')?.and_then(|n| SIGRTMIN.checked_add(n));
        return in_range(n, SIGRTMIN);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        let n = offset(rest, '-')?.and_then(|n| SIGRTMAX.checked_sub(n));
        return in_range(n, SIGRTMIN);
    }
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, real)| real);
    format!("SIG{name}")
        .parse::<nix::sys::signal::Signal>()
        .map(|s| s as i32)
        .map_err(|_| err(Problem::UnknownName))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const K: u64 = 1 << 10;
    const M: u64 = 1 << 20;
    const G: u64 = 1 << 30;
    const T: u64 = 1 << 40;
    const P: u64 = 1 << 50;

    #[test]
    fn sizes_in_docker_syntax() {
        for (text, want) in [
            ("0", 0),
            ("1", 1),
            ("1000", 1000),
            ("1b", 1),
            ("1B", 1),
            ("1k", K),
            ("1K", K),
            ("1kb", K),
            ("1KB", K),
            ("1kib", K),
            ("1KiB", K),
            ("64m", 64 * M),
            ("64MiB", 64 * M),
            ("64mb", 64 * M),
            ("1g", G),
            ("1G", G),
            ("2gib", 2 * G),
            ("1t", T),
            ("1TiB", T),
            ("1p", P),
            ("3PB", 3 * P),
            ("1.5g", G + G / 2),
            ("1.5k", 1536),
            ("1.1k", 1126),
            ("0.3k", 307),
            (".5k", 512),
            ("5.k", 5 * K),
            ("0.5", 0),
            ("1.9", 1),
            ("10 MB", 10 * M),
            ("10 m", 10 * M),
            ("+5m", 5 * M),
            ("  64m ", 64 * M),
            ("1e3", 1000),
            ("1e3k", 1000 * K),
            ("1.5e1", 15),
            ("15E-1", 1),
            ("2.5e-1k", 256),
            ("0e99999", 0),
            ("007", 7),
            ("18446744073709551615", u64::MAX),
            ("16383.999999999999999p", 16383 * P + 1_125_899_906_842_622),
        ] {
            assert_eq!(parse_bytes(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        for (text, problem) in [
            ("", Problem::Empty),
            ("   ", Problem::Empty),
            ("-1m", Problem::Negative),
            ("-0", Problem::Negative),
            ("m", Problem::BadNumber),
            (".", Problem::BadNumber),
            ("nan", Problem::BadNumber),
            ("NaN", Problem::BadNumber),
            ("inf", Problem::BadNumber),
            ("Infinity", Problem::BadNumber),
            ("1.2.3", Problem::BadNumber),
            ("1 2", Problem::BadNumber),
            ("0x10", Problem::UnknownUnit("x10".into())),
            ("12x", Problem::UnknownUnit("x".into())),
            ("1e", Problem::UnknownUnit("e".into())),
            ("1kibb", Problem::UnknownUnit("kibb".into())),
            ("1ib", Problem::UnknownUnit("ib".into())),
            ("1bib", Problem::UnknownUnit("bib".into())),
            ("1kk", Problem::UnknownUnit("kk".into())),
            ("1  k", Problem::UnknownUnit(" k".into())),
            ("18446744073709551616", Problem::TooLarge),
            ("16384p", Problem::TooLarge),
            ("1e20", Problem::TooLarge),
            ("1e99999999999999999999", Problem::TooLarge),
        ] {
            let e = parse_bytes(text).unwrap_err();
            assert_eq!(e.problem, problem, "{text}");
            assert_eq!((e.kind, e.input.as_str()), (UnitKind::Size, text));
        }
        let e = parse_bytes("12x").unwrap_err().to_string();
        assert!(
            e.starts_with(r#""12x" is not a size: unknown unit "x"; expected a number of bytes"#),
            "{e}"
        );
        assert!(e.contains("1.5g"), "{e}");
        let e = parse_bytes("99999999999999999999").unwrap_err().to_string();
        assert!(e.contains("at most 18446744073709551615 bytes"), "{e}");
    }

    /// Every form the two former size parsers (the CLI's `parse_bytes`, tmpfs' `parse_size`)
    /// accepted, with the value they gave.
    #[test]
    fn sizes_the_former_parsers_took_keep_their_value() {
        for (text, want) in [
            ("64m", 64 * M),
            ("1G", G),
            ("512k", 512 * K),
            ("64MiB", 64 * M),
            ("1000", 1000),
            ("67108864", 67_108_864),
            ("1b", 1),
            ("2kb", 2 * K),
            ("3gib", 3 * G),
            ("1tb", T),
            ("1.5g", 1_610_612_736),
            (" 64m", 64 * M),
            ("+5m", 5 * M),
            ("1e3", 1000),
            (".5k", 512),
        ] {
            assert_eq!(parse_bytes(text), Ok(want), "{text}");
        }
    }

    proptest! {
        /// The former CLI parser read the number as an f64; where that is exact (values well
        /// under 2^53), the decimal arithmetic gives the same bytes.
        #[test]
        fn sizes_agree_with_float_arithmetic_where_it_is_exact(
            thousandths in 0u64..10_000_000,
            unit in 0usize..4,
        ) {
            let text = format!("{}.{:03}{}", thousandths / 1000, thousandths % 1000,
                ["", "k", "m", "g"][unit]);
            let float = (thousandths as f64 / 1000.0) * (1u64 << (10 * unit)) as f64;
            prop_assert_eq!(parse_bytes(&text).unwrap(), float as u64, "{}", text);
        }

        #[test]
        fn any_whole_number_of_any_unit(n in 0u64..1 << 13, unit in 0usize..6) {
            let names = ["b", "k", "m", "g", "t", "p"];
            prop_assert_eq!(parse_bytes(&format!("{n}{}", names[unit])).unwrap(), n << (10 * unit));
            prop_assert_eq!(parse_bytes(&format!("{n}{}iB", names[unit].to_uppercase()))
                .map_err(|e| e.problem), if unit == 0 {
                    Err(Problem::UnknownUnit("BiB".into()))
                } else {
                    Ok(n << (10 * unit))
                });
        }

        #[test]
        fn sizes_never_panic(s in "\\PC{0,24}") {
            let _ = parse_bytes(&s);
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations_in_go_syntax() {
        for (text, want) in [
            ("0", Duration::ZERO),
            ("+0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("1ns", Duration::from_nanos(1)),
            ("1us", Duration::from_micros(1)),
            ("1µs", Duration::from_micros(1)),
            ("1\u{3bc}s", Duration::from_micros(1)),
            ("300ms", ms(300)),
            ("1s", ms(1000)),
            ("1.5s", ms(1500)),
            ("0.3s", ms(300)),
            ("1.1s", ms(1100)),
            (".5s", ms(500)),
            ("5.s", ms(5000)),
            ("10m", ms(600_000)),
            ("1h30m", ms(5_400_000)),
            ("1.5h", ms(5_400_000)),
            ("1h1m1s1ms1us1ns", Duration::new(3661, 1_001_001)),
            ("1m1m", ms(120_000)),
            ("+5s", ms(5000)),
            (" 10m ", ms(600_000)),
            ("1.0000000001s", Duration::new(1, 0)),
            ("0.9999999999s", Duration::new(0, 999_999_999)),
            ("2562047h47m16.854775807s", MAX_DURATION),
        ] {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        for (text, problem) in [
            ("", Problem::Empty),
            ("-1s", Problem::Negative),
            ("-0", Problem::Negative),
            ("s", Problem::BadNumber),
            (".s", Problem::BadNumber),
            ("+", Problem::BadNumber),
            ("1s-2s", Problem::UnknownUnit("s-".into())),
            ("5", Problem::MissingUnit),
            ("00", Problem::MissingUnit),
            ("1s2", Problem::MissingUnit),
            ("1x", Problem::UnknownUnit("x".into())),
            ("1S", Problem::UnknownUnit("S".into())),
            ("1e3s", Problem::UnknownUnit("e".into())),
            ("1 s", Problem::UnknownUnit(" s".into())),
            ("1d", Problem::UnknownUnit("d".into())),
            ("2562047h47m16.854775808s", Problem::TooLarge),
            ("9999999999999h", Problem::TooLarge),
            ("99999999999999999999999ns", Problem::TooLarge),
        ] {
            let e = parse_duration(text).unwrap_err();
            assert_eq!(e.problem, problem, "{text}");
            assert_eq!(e.kind, UnitKind::Duration);
        }
        let e = parse_duration("5").unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "\"5\" is not a duration: a number has no unit; expected {}",
                UnitKind::Duration.allowed()
            )
        );
    }

    /// Every form the two former duration parsers (health flags', `--since`/`--until`'s)
    /// accepted, with the value they gave.
    #[test]
    fn durations_the_former_parsers_took_keep_their_value() {
        for (text, want) in [
            ("1s", ms(1000)),
            ("500ms", ms(500)),
            ("2m", ms(120_000)),
            ("1m30s", ms(90_000)),
            ("1.5h", ms(5_400_000)),
            ("0", Duration::ZERO),
            ("10m", ms(600_000)),
            ("1h30m", ms(5_400_000)),
            ("250ms", ms(250)),
            ("10us", Duration::from_micros(10)),
            ("10ns", Duration::from_nanos(10)),
            ("24h", ms(86_400_000)),
        ] {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
    }

    proptest! {
        #[test]
        fn durations_add_up_their_parts(h in 0u64..1000, m in 0u64..1000, s in 0u64..1000, milli in 0u64..1000) {
            let want = Duration::from_secs(h * 3600 + m * 60 + s) + ms(milli);
            prop_assert_eq!(parse_duration(&format!("{h}h{m}m{s}s{milli}ms")).unwrap(), want);
            prop_assert_eq!(parse_duration(&format!("{s}.{milli:03}s")).unwrap(), Duration::from_secs(s) + ms(milli));
        }

        #[test]
        fn durations_never_panic(s in "\\PC{0,24}") {
            let _ = parse_duration(&s);
        }
    }

    #[test]
    fn signals_by_name_number_or_real_time_offset() {
        for (text, want) in [
            ("KILL", libc::SIGKILL),
            ("SIGKILL", libc::SIGKILL),
            ("kill", libc::SIGKILL),
            ("SIGTERM", libc::SIGTERM),
            ("sigterm", libc::SIGTERM),
            ("sigusr1", libc::SIGUSR1),
            ("Usr2", libc::SIGUSR2),
            ("HUP", libc::SIGHUP),
            ("quit", libc::SIGQUIT),
            ("WINCH", libc::SIGWINCH),
            ("PWR", libc::SIGPWR),
            ("SIGSTKFLT", libc::SIGSTKFLT),
            ("CLD", libc::SIGCHLD),
            ("SIGIOT", libc::SIGABRT),
            ("POLL", libc::SIGIO),
            ("1", 1),
            ("9", 9),
            ("09", 9),
            ("15", 15),
            ("64", 64),
            (" TERM ", libc::SIGTERM),
            ("RTMIN", 34),
            ("SIGRTMIN", 34),
            ("RTMIN+0", 34),
            ("RTMIN+3", 37),
            ("sigrtmin+30", 64),
            ("RTMAX", 64),
            ("RTMAX-1", 63),
            ("RTMAX-30", 34),
        ] {
            assert_eq!(parse_signal(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_signals_say_what_is_wrong() {
        for (text, problem) in [
            ("", Problem::Empty),
            ("-9", Problem::Negative),
            ("0", Problem::OutOfRange),
            ("65", Problem::OutOfRange),
            ("999", Problem::OutOfRange),
            ("99999999999999999999", Problem::OutOfRange),
            ("RTMIN+31", Problem::OutOfRange),
            ("RTMIN+99999999999", Problem::OutOfRange),
            ("RTMAX-31", Problem::OutOfRange),
            ("RTMIN-1", Problem::UnknownName),
            ("RTMIN+-1", Problem::UnknownName),
            ("RTMIN++3", Problem::UnknownName),
            ("RTMIN+", Problem::UnknownName),
            ("RTMAX+1", Problem::UnknownName),
            ("NOPE", Problem::UnknownName),
            ("SIGNOPE", Problem::UnknownName),
            ("SIG", Problem::UnknownName),
            ("SIGSIGTERM", Problem::UnknownName),
            ("+9", Problem::UnknownName),
            ("9.0", Problem::UnknownName),
        ] {
            let e = parse_signal(text).unwrap_err();
            assert_eq!(e.problem, problem, "{text}");
            assert_eq!(e.kind, UnitKind::Signal);
        }
        let e = parse_signal("NOPE").unwrap_err().to_string();
        assert!(
            e.starts_with(r#""NOPE" is not a signal: unknown signal name; expected a signal name"#),
            "{e}"
        );
        assert!(e.contains("RTMIN+n") && e.contains("1-64"), "{e}");
    }

    /// Every form the former signal parser (`stop_signal`, behind `kill -s` and the daemon's
    /// kill) accepted, with the value it gave.
    #[test]
    fn signals_the_former_parser_took_keep_their_value() {
        for (text, want) in [
            ("SIGKILL", 9),
            ("quit", 3),
            ("2", 2),
            ("HUP", libc::SIGHUP),
            ("sigterm", libc::SIGTERM),
            ("10", 10),
            ("SIGUSR1", libc::SIGUSR1),
            ("SIGRTMIN+3", libc::SIGRTMIN() + 3),
            ("rtmax", libc::SIGRTMAX()),
            ("RTMAX-1", libc::SIGRTMAX() - 1),
        ] {
            assert_eq!(parse_signal(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn every_nix_signal_is_known_by_its_names_and_number() {
        for s in nix::sys::signal::Signal::iterator() {
            let name = s.as_str();
            assert_eq!(parse_signal(name), Ok(s as i32), "{name}");
            assert_eq!(
                parse_signal(&name[3..].to_lowercase()),
                Ok(s as i32),
                "{name}"
            );
            assert_eq!(
                parse_signal(&(s as i32).to_string()),
                Ok(s as i32),
                "{name}"
            );
        }
    }

    #[test]
    fn errors_offer_their_parts() {
        let e = parse_bytes("1x").unwrap_err();
        assert_eq!(e.allowed(), UnitKind::Size.allowed());
        assert!(e.reason().starts_with("unknown unit \"x\"; expected "));
        assert_eq!(
            e.to_string(),
            format!("\"1x\" is not a size: {}", e.reason())
        );
    }
}
