//! Kernel versions as profile conditions compare them: `(major, minor)` only, so `5.15.0-91`
//! and `5.15-rc2` are both `(5, 15)`.

use std::sync::OnceLock;

/// Where the running kernel's release string is read.
const OSRELEASE: &str = "/proc/sys/kernel/osrelease";

/// The running kernel's `(major, minor)`, read once. `(0, 0)` if it cannot be read or parsed
/// (no `/proc`): every `minKernel` condition is then false, which only leaves syscalls out.
pub(crate) fn host() -> (u32, u32) {
    static HOST: OnceLock<(u32, u32)> = OnceLock::new();
    *HOST.get_or_init(|| {
        std::fs::read_to_string(OSRELEASE)
            .ok()
            .and_then(|release| parse_release(&release))
            .unwrap_or((0, 0))
    })
}

/// `(major, minor)` from a kernel release such as `6.8.0-45-generic`, `3.12-1-amd64` or `5.4`:
/// the leading digits of the first two dot-separated parts.
pub(crate) fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().splitn(3, '.');
    let major = leading_number(parts.next()?)?;
    let minor = leading_number(parts.next()?)?;
    Some((major, minor))
}

fn leading_number(text: &str) -> Option<u32> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text[..end].parse().ok()
}

/// A profile's `minKernel`: exactly `"<major>.<minor>"`, each 0 to 255, not `0.0` (Docker's
/// rule). `Err` says what was expected.
pub(crate) fn parse_min_kernel(text: &str) -> Result<(u32, u32), String> {
    let expected =
        || format!("invalid minKernel {text:?}: expected \"<major>.<minor>\", such as \"4.8\"");
    let (major, minor) = text.split_once('.').ok_or_else(expected)?;
    let number = |part: &str| -> Result<u32, String> {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(expected());
        }
        part.parse::<u8>().map(u32::from).map_err(|_| {
            format!("invalid minKernel {text:?}: each part must be a number from 0 to 255")
        })
    };
    let version = (number(major)?, number(minor)?);
    if version == (0, 0) {
        return Err(format!(
            "invalid minKernel {text:?}: the version cannot be 0.0"
        ));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases() {
        assert_eq!(parse_release("6.8.0-45-generic\n"), Some((6, 8)));
        assert_eq!(parse_release("3.12-1-amd64"), Some((3, 12)));
        assert_eq!(parse_release("3.12.25-gentoo"), Some((3, 12)));
        assert_eq!(parse_release("5.4"), Some((5, 4)));
        assert_eq!(parse_release("4.15-rc5"), Some((4, 15)));
        assert_eq!(parse_release("5"), None);
        assert_eq!(parse_release("x.y"), None);
        assert_eq!(parse_release(""), None);
    }

    #[test]
    fn host_kernel_is_read() {
        // Every Linux test host has /proc; a (0, 0) here would drop minKernel rules silently.
        assert!(host() >= (3, 0), "{:?}", host());
    }

    #[test]
    fn min_kernel() {
        assert_eq!(parse_min_kernel("4.8"), Ok((4, 8)));
        assert_eq!(parse_min_kernel("3.12"), Ok((3, 12)));
        assert_eq!(parse_min_kernel("0.1"), Ok((0, 1)));
        for bad in [
            "", "3", ".3", "3.", "3.12.1", "4.15abc", "true", "0.0", "256.1", "+4.8",
        ] {
            let err = parse_min_kernel(bad).unwrap_err();
            assert!(err.contains("invalid minKernel"), "{bad}: {err}");
        }
    }
}
