//! `user` strings (`uid`, `uid:gid`, `name`, `name:group`) resolved against the image's
//! `/etc/passwd` and `/etc/group`, as Docker and containerd do: a numeric uid needs no entry
//! (its gid is then the entry's if there is one, else 0), a name must have one, and the
//! user's supplementary groups are every group of /etc/group that lists it.

use std::path::Path;

use crate::SpecError;

/// A resolved user: ids plus the supplementary groups the image's /etc/group gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedUser {
    /// The process's user id.
    pub uid: u32,
    /// The process's primary group id.
    pub gid: u32,
    /// Supplementary groups, sorted, without the primary group.
    pub additional_gids: Vec<u32>,
}

/// The most bytes read from an image's or a container's `/etc/passwd` or `/etc/group`
/// (real ones hold a few kilobytes); a bigger file is refused, not read.
pub(crate) const MAX_ACCOUNT_FILE_BYTES: u64 = 1024 * 1024;

/// The largest uid or gid runc accepts (it stores them as `int32`; containerd enforces the
/// same bound).
pub(crate) const MAX_ID: u32 = i32::MAX as u32;

struct Passwd {
    name: String,
    uid: u32,
    gid: u32,
}

struct Group {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// The text of `file` in the image, empty when there is no rootfs or no such file. Read
/// confined to the rootfs, bounded, and only if it is a regular file (see
/// [`crate::rootfs_file`]).
fn read(rootfs: Option<&Path>, file: &str) -> Result<String, SpecError> {
    let Some(root) = rootfs else {
        return Ok(String::new());
    };
    Ok(
        crate::rootfs_file::read(root, file, MAX_ACCOUNT_FILE_BYTES)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
    )
}

fn passwd(text: &str) -> Vec<Passwd> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(Passwd {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

fn groups(text: &str) -> Vec<Group> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(Group {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|x| !x.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn id(kind: &'static str, text: &str, spec: &str) -> Result<Option<u32>, SpecError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match text.parse::<u32>() {
        Ok(n) if n <= MAX_ID => Ok(Some(n)),
        _ => Err(SpecError::value(
            "user",
            spec,
            format!("the {kind} id must be at most {MAX_ID}"),
        )),
    }
}

/// Resolve `spec` (default: root, uid 0) using the passwd/group files under `rootfs`, if
/// given. Without a rootfs only numeric forms work and there are no supplementary groups.
pub fn resolve(spec: Option<&str>, rootfs: Option<&Path>) -> Result<ResolvedUser, SpecError> {
    let spec = spec.filter(|s| !s.is_empty()).unwrap_or("0");
    crate::validate::no_nul("user", spec)?;
    if spec.split(':').count() > 2 || spec.starts_with(':') || spec.ends_with(':') {
        return Err(SpecError::value(
            "user",
            spec,
            "one of uid, uid:gid, name, name:group, uid:group or name:gid",
        ));
    }
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let users = passwd(&read(rootfs, "etc/passwd")?);
    let groups = groups(&read(rootfs, "etc/group")?);
    let no_file = if rootfs.is_none() {
        "names need the image's rootfs to look up; give a numeric id"
    } else {
        "not in the image's /etc/passwd or /etc/group"
    };

    let (uid, passwd_gid, name) =
        match id("user", user, spec)? {
            Some(uid) => {
                let entry = users.iter().find(|p| p.uid == uid);
                (uid, entry.map(|p| p.gid), entry.map(|p| p.name.as_str()))
            }
            None => {
                let entry = users.iter().find(|p| p.name == user).ok_or_else(|| {
                    SpecError::UnknownUser {
                        kind: "user",
                        name: user.to_string(),
                        reason: no_file.into(),
                    }
                })?;
                if entry.uid > MAX_ID || entry.gid > MAX_ID {
                    return Err(SpecError::value(
                        "user",
                        spec,
                        format!("the image gives it ids above {MAX_ID}"),
                    ));
                }
                (entry.uid, Some(entry.gid), Some(entry.name.as_str()))
            }
        };
    let gid = match group {
        None => passwd_gid.filter(|g| *g <= MAX_ID).unwrap_or(0),
        Some(g) => match id("group", g, spec)? {
            Some(gid) => gid,
            None => groups
                .iter()
                .find(|x| x.name == g)
                .map(|x| x.gid)
                .ok_or_else(|| SpecError::UnknownUser {
                    kind: "group",
                    name: g.to_string(),
                    reason: no_file.into(),
                })?,
        },
    };
    let mut additional_gids: Vec<u32> = match name {
        Some(name) => groups
            .iter()
            .filter(|g| {
                g.members.iter().any(|m| m == name)
                    && g.gid != gid
                    && g.name != name
                    && g.gid <= MAX_ID
            })
            .map(|g| g.gid)
            .collect(),
        None => Vec::new(),
    };
    additional_gids.sort_unstable();
    additional_gids.dedup();
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rootfs_file::confined;

    fn rootfs() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nwww:x:33:www\nlogs:x:40:www,other\nadm:x:4:www\nwheel:x:10:root\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn forms() {
        let d = rootfs();
        let r = Some(d.path());
        // No user: root, with the groups /etc/group lists root in (as containerd does).
        assert_eq!(
            resolve(None, r).unwrap(),
            ResolvedUser {
                uid: 0,
                gid: 0,
                additional_gids: vec![10]
            }
        );
        assert_eq!(resolve(None, None).unwrap(), ResolvedUser::default());
        assert_eq!(
            resolve(Some("1000"), r).unwrap(),
            ResolvedUser {
                uid: 1000,
                gid: 0,
                additional_gids: vec![]
            }
        );
        assert_eq!(resolve(Some("1000:7"), None).unwrap().gid, 7);
        let www = resolve(Some("www"), r).unwrap();
        assert_eq!(
            (www.uid, www.gid, www.additional_gids),
            (33, 33, vec![4, 40])
        );
        assert_eq!(resolve(Some("33"), r).unwrap().gid, 33);
        assert_eq!(resolve(Some("www:logs"), r).unwrap().gid, 40);
        assert_eq!(resolve(Some("0:adm"), r).unwrap().gid, 4);
    }

    #[test]
    fn bad_forms_and_ranges() {
        for bad in ["1:2:3", ":1", "1:", "2147483648", "0:4294967295", "a\0b"] {
            let err = resolve(Some(bad), None).unwrap_err().to_string();
            assert!(err.starts_with("invalid user"), "{bad}: {err}");
        }
        assert_eq!(resolve(Some("2147483647"), None).unwrap().uid, MAX_ID);
    }

    #[test]
    fn symlinks_stay_inside_the_rootfs() {
        let d = rootfs();
        let etc = d.path().join("etc");
        std::fs::rename(etc.join("passwd"), etc.join("passwd.real")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd.real", etc.join("passwd")).unwrap();
        assert_eq!(resolve(Some("www"), Some(d.path())).unwrap().uid, 33);
        // An escape attempt resolves inside the rootfs (where there is no such file), never
        // to the host's /etc/passwd.
        std::fs::remove_file(etc.join("passwd")).unwrap();
        std::os::unix::fs::symlink("../../../../../../etc/passwd", etc.join("passwd")).unwrap();
        assert_eq!(
            confined(d.path(), "etc/passwd"),
            None,
            "a loop back to the same link"
        );
        std::fs::remove_file(etc.join("passwd")).unwrap();
        std::os::unix::fs::symlink("../../../../../../etc/group", etc.join("passwd")).unwrap();
        assert_eq!(
            confined(d.path(), "etc/passwd"),
            Some(d.path().join("etc/group"))
        );
        assert!(resolve(Some("root"), Some(d.path())).is_err());
    }

    #[test]
    fn unknown_names() {
        let d = rootfs();
        let err = resolve(Some("nobody"), Some(d.path())).unwrap_err();
        assert!(err.to_string().contains("unknown user \"nobody\""), "{err}");
        assert!(resolve(Some("www:nogroup"), Some(d.path())).is_err());
        let err = resolve(Some("www"), None).unwrap_err();
        assert!(err.to_string().contains("numeric"), "{err}");
    }
}
