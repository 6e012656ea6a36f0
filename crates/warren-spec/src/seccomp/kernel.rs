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
}
