//! Value parsers of flags that several commands share: sizes (`run`/`create`'s memory and
//! shm flags) and signals (`--stop-signal`, `kill -s`).

/// A size flag (`--memory`, `--memory-reservation`, `--shm-size`, `--memory-swap`) in
/// Docker's units, read by [`warren_spec::units::parse_bytes`] like every size Warren takes:
/// `1024`, `512k`, `64m`, `1.5g`, `64MiB`. At least 1 byte, since 0 would mean "not set" to
/// the daemon, and at most `i64::MAX`, the API's field.
pub fn parse_size_flag(s: &str) -> Result<i64, String> {
    let bytes = warren_spec::units::parse_bytes(s).map_err(|e| e.to_string())?;
    match i64::try_from(bytes) {
        Ok(0) => Err(format!(
            "{s:?} is 0 bytes: give at least 1 byte, or leave the flag out for its default"
        )),
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(format!("{s:?} is too large: at most {} bytes", i64::MAX)),
    }
}

/// A signal flag (`--stop-signal`, `kill -s`), checked by [`warren_spec::units::parse_signal`]
/// before anything is sent, and sent as given (the daemon reads it the same way).
pub fn check_signal(s: &str) -> Result<String, warren_spec::UnitError> {
    warren_spec::units::parse_signal(s)?;
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(parse_size_flag("64m").unwrap(), 64 << 20);
        assert_eq!(parse_size_flag("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size_flag("512k").unwrap(), 512 << 10);
        assert_eq!(parse_size_flag("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size_flag("1000").unwrap(), 1000);
        assert_eq!(parse_size_flag("1.5g").unwrap(), 1_610_612_736);
        assert_eq!(parse_size_flag("1p").unwrap(), 1 << 50);
        for (bad, why) in [
            ("", "is empty"),
            ("m", "number is missing"),
            ("-1m", "negative"),
            ("12x", "unknown unit \"x\""),
            ("0", "at least 1 byte"),
            ("0.5", "at least 1 byte"),
            ("8e", "unknown unit"),
            ("1.2.3", "number is missing or malformed"),
            ("9223372036854775808", "at most 9223372036854775807 bytes"),
            ("18446744073709551616", "too large"),
        ] {
            let e = parse_size_flag(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn signals_are_checked_before_anything_is_sent() {
        for ok in ["HUP", "SIGUSR1", "9", "rtmin+3", "KILL"] {
            assert_eq!(check_signal(ok).unwrap(), ok);
        }
        for bad in ["NOPE", "0", "65", "-9", ""] {
            let e = check_signal(bad).unwrap_err().to_string();
            assert!(
                e.contains("is not a signal") && e.contains("1-64"),
                "{bad}: {e}"
            );
        }
    }
}
