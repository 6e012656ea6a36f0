//! The image's run configuration and how a request overrides it, with Docker's semantics.

use std::collections::BTreeMap;

use crate::validate::no_nul;
use crate::SpecError;

/// The `PATH` a container gets when neither the image nor the request sets one.
pub(crate) const DEFAULT_PATH: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What an image says about running it: the `config` object of an OCI image configuration
/// (convert one with `ImageConfig::from(&config)`), or filled by hand.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageConfig {
    /// `Entrypoint`: the executable and its first arguments.
    pub entrypoint: Vec<String>,
    /// `Cmd`: arguments after the entrypoint (or the whole command when there is none).
    pub cmd: Vec<String>,
    /// `Env`: `NAME=value` entries.
    pub env: Vec<String>,
    /// `WorkingDir` (default `/`).
    pub working_dir: Option<String>,
    /// `User`: `uid`, `uid:gid`, `name` or `name:group` (default root).
    pub user: Option<String>,
    /// `StopSignal`: `SIGTERM`, `TERM` or `15` (default SIGTERM).
    pub stop_signal: Option<String>,
    /// `Labels`.
    pub labels: BTreeMap<String, String>,
    /// Docker's `Healthcheck` (not part of the OCI config: read from the config's JSON with
    /// [`ImageHealthcheck::from_config_json`](crate::health::ImageHealthcheck::from_config_json)).
    pub healthcheck: Option<crate::health::ImageHealthcheck>,
}

impl From<&oci_spec::image::Config> for ImageConfig {
    fn from(c: &oci_spec::image::Config) -> Self {
        ImageConfig {
            entrypoint: c.entrypoint().clone().unwrap_or_default(),
            cmd: c.cmd().clone().unwrap_or_default(),
            env: c.env().clone().unwrap_or_default(),
            working_dir: c.working_dir().clone().filter(|w| !w.is_empty()),
            user: c.user().clone().filter(|u| !u.is_empty()),
            stop_signal: c.stop_signal().clone().filter(|s| !s.is_empty()),
            labels: c
                .labels()
                .clone()
                .map(|l| l.into_iter().collect())
                .unwrap_or_default(),
            healthcheck: None,
        }
    }
}

/// The process arguments: an overriding entrypoint clears the image's cmd (as Docker does);
/// an overriding cmd replaces the image's cmd after the image's entrypoint.
pub(crate) fn args(
    image: &ImageConfig,
    entrypoint: Option<&[String]>,
    cmd: Option<&[String]>,
) -> Result<Vec<String>, SpecError> {
    let (entry, cmd): (&[String], &[String]) = match (entrypoint, cmd) {
        (Some(e), c) => (e, c.unwrap_or(&[])),
        (None, Some(c)) => (&image.entrypoint, c),
        (None, None) => (&image.entrypoint, &image.cmd),
    };
    let args: Vec<String> = entry.iter().chain(cmd).cloned().collect();
    if args.is_empty() || args[0].is_empty() {
        return Err(SpecError::NoCommand);
    }
    for a in &args {
        no_nul("argument", a)?;
    }
    Ok(args)
}

/// The environment: the image's, then the request's (same name replaces, order kept), and a
/// default `PATH` if neither sets one. Every entry must be `NAME=value` with a non-empty name.
pub(crate) fn env(image: &[String], request: &[String]) -> Result<Vec<String>, SpecError> {
    let mut out: Vec<String> = Vec::with_capacity(image.len() + request.len() + 1);
    for entry in image.iter().chain(request) {
        let name = env_name(entry)?;
        // Compared as bytes: a name is ASCII, but an earlier entry's value may not be.
        let prefix = &entry.as_bytes()[..name.len() + 1];
        match out.iter_mut().find(|e| e.as_bytes().starts_with(prefix)) {
            Some(existing) => *existing = entry.clone(),
            None => out.push(entry.clone()),
        }
    }
    if !out.iter().any(|e| e.starts_with("PATH=")) {
        out.push(DEFAULT_PATH.to_string());
    }
    Ok(out)
}

/// The name of a `NAME=value` entry: non-empty, printable ASCII without spaces or `=`
/// (what shells and `docker run -e` accept in practice); the value may be any text without
/// NUL bytes.
pub(crate) fn env_name(entry: &str) -> Result<&str, SpecError> {
    no_nul("env", entry)?;
    let Some((name, _)) = entry.split_once('=') else {
        return Err(SpecError::value("env", entry, "must be NAME=value"));
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SpecError::value(
            "env",
            entry,
            "the name must be 1 or more printable ASCII characters without spaces or '='",
        ));
    }
    Ok(name)
}

/// A stop signal by name (`SIGTERM`, `TERM`, `sigquit`, `RTMIN+3`) or number (`15`);
/// default SIGTERM. Returned as the signal number the runtime sends.
pub fn stop_signal(value: Option<&str>) -> Result<i32, SpecError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(libc::SIGTERM);
    };
    crate::units::parse_signal(value)
        .map_err(|e| SpecError::value("stop signal", value, e.reason()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn image() -> ImageConfig {
        ImageConfig {
            entrypoint: s(&["/entry"]),
            cmd: s(&["--serve"]),
            ..Default::default()
        }
    }

    #[test]
    fn override_rules() {
        let img = image();
        assert_eq!(args(&img, None, None).unwrap(), s(&["/entry", "--serve"]));
        assert_eq!(
            args(&img, None, Some(&s(&["-v"]))).unwrap(),
            s(&["/entry", "-v"])
        );
        assert_eq!(args(&img, Some(&s(&["/sh"])), None).unwrap(), s(&["/sh"]));
        assert_eq!(
            args(&img, Some(&s(&["/sh"])), Some(&s(&["-c", "x"]))).unwrap(),
            s(&["/sh", "-c", "x"])
        );
        assert!(matches!(
            args(&ImageConfig::default(), None, None),
            Err(SpecError::NoCommand)
        ));
        assert!(args(&img, None, Some(&s(&["a\0b"]))).is_err());
    }

    #[test]
    fn env_merge() {
        let e = env(&s(&["PATH=/bin", "A=1", "B=2"]), &s(&["A=3", "C="])).unwrap();
        assert_eq!(e, s(&["PATH=/bin", "A=3", "B=2", "C="]));
        assert_eq!(env(&[], &[]).unwrap(), s(&[DEFAULT_PATH]));
        assert!(env(&[], &s(&["NOEQUALS"])).is_err());
        assert!(env(&[], &s(&["=x"])).is_err());
        // Non-ASCII names are refused; non-ASCII values are fine next to any name (the
        // merge once sliced a value inside a character and panicked).
        assert!(env(&[], &s(&["aé=1", "x=1"])).is_err());
        assert!(env(&[], &s(&["A B=1"])).is_err());
        let e = env(&s(&["A=é"]), &s(&["B=1", "A=ü"])).unwrap();
        assert_eq!(e[..2], s(&["A=ü", "B=1"]));
        // A name that is a prefix of another is a different variable.
        let e = env(&s(&["AB=1"]), &s(&["A=2"])).unwrap();
        assert!(e.contains(&"AB=1".to_string()) && e.contains(&"A=2".to_string()));
    }

    #[test]
    fn signals() {
        assert_eq!(stop_signal(None).unwrap(), 15);
        assert_eq!(stop_signal(Some("SIGKILL")).unwrap(), 9);
        assert_eq!(stop_signal(Some("quit")).unwrap(), 3);
        assert_eq!(stop_signal(Some("2")).unwrap(), 2);
        assert_eq!(stop_signal(Some("")).unwrap(), 15);
        assert_eq!(
            stop_signal(Some("SIGRTMIN+3")).unwrap(),
            libc::SIGRTMIN() + 3
        );
        assert_eq!(stop_signal(Some("rtmax")).unwrap(), libc::SIGRTMAX());
        assert_eq!(stop_signal(Some("RTMAX-1")).unwrap(), libc::SIGRTMAX() - 1);
        for bad in [
            "SIGNOPE", "99", "0", "-1", "RTMIN+99", "RTMIN-1", "RTMAX+1", "SIG",
        ] {
            let err = stop_signal(Some(bad)).unwrap_err().to_string();
            assert!(err.starts_with("invalid stop signal"), "{bad}: {err}");
        }
    }

    proptest! {
        #[test]
        fn request_env_always_wins(name in "[A-Z_]{1,8}", a in "[a-z0-9]{0,8}", b in "[a-z0-9]{0,8}") {
            let out = env(&[format!("{name}={a}")], &[format!("{name}={b}")]).unwrap();
            let mine: Vec<_> = out.iter().filter(|e| e.starts_with(&format!("{name}="))).collect();
            prop_assert_eq!(mine.len(), 1);
            prop_assert_eq!(mine[0], &format!("{name}={b}"));
        }

        #[test]
        fn entrypoint_override_drops_image_cmd(cmd in proptest::collection::vec("[a-z]{1,5}", 0..4)) {
            let img = ImageConfig { entrypoint: s(&["/e"]), cmd: cmd.clone(), ..Default::default() };
            prop_assert_eq!(args(&img, Some(&s(&["/x"])), None).unwrap(), s(&["/x"]));
            let mut expect = s(&["/e"]);
            expect.extend(cmd.clone());
            prop_assert_eq!(args(&img, None, None).unwrap(), expect);
        }
    }
}
