//! `user` strings (`uid`, `uid:gid`, `name`, `name:group`) resolved against the image's
//! `/etc/passwd` and `/etc/group`, as Docker and containerd do.

use std::path::Path;

use crate::SpecError;

/// A resolved user: ids plus the supplementary groups the image's /etc/group gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
}

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

fn read(rootfs: Option<&Path>, file: &str) -> String {
    rootfs
        .and_then(|r| std::fs::read_to_string(r.join(file)).ok())
        .unwrap_or_default()
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

/// Resolve `spec` (default root) using the passwd/group files under `rootfs`, if given.
pub fn resolve(spec: Option<&str>, rootfs: Option<&Path>) -> Result<ResolvedUser, SpecError> {
    let Some(spec) = spec.filter(|s| !s.is_empty()) else {
        return Ok(ResolvedUser::default());
    };
    crate::validate::no_nul("user", spec)?;
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let users = passwd(&read(rootfs, "etc/passwd"));
    let groups = groups(&read(rootfs, "etc/group"));
    let no_file = if rootfs.is_none() {
        "names need the image's rootfs to look up; give a numeric id"
    } else {
        "not in the image's /etc/passwd or /etc/group"
    };

    let (uid, passwd_gid, name) =
        match user.parse::<u32>() {
            Ok(uid) => {
                let entry = users.iter().find(|p| p.uid == uid);
                (uid, entry.map(|p| p.gid), entry.map(|p| p.name.clone()))
            }
            Err(_) => {
                let entry = users.iter().find(|p| p.name == user).ok_or_else(|| {
                    SpecError::UnknownUser {
                        kind: "user",
                        name: user.to_string(),
                        reason: no_file.into(),
                    }
                })?;
                (entry.uid, Some(entry.gid), Some(entry.name.clone()))
            }
        };
    let gid = match group {
        None => passwd_gid.unwrap_or(0),
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => groups
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
    let mut additional_gids: Vec<u32> = match &name {
        Some(name) => groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name) && g.gid != gid)
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
            "root:x:0:\nwww:x:33:\nlogs:x:40:www,other\nadm:x:4:www\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn forms() {
        let d = rootfs();
        let r = Some(d.path());
        assert_eq!(resolve(None, r).unwrap(), ResolvedUser::default());
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
    fn unknown_names() {
        let d = rootfs();
        let err = resolve(Some("nobody"), Some(d.path())).unwrap_err();
        assert!(err.to_string().contains("unknown user \"nobody\""), "{err}");
        assert!(resolve(Some("www:nogroup"), Some(d.path())).is_err());
        let err = resolve(Some("www"), None).unwrap_err();
        assert!(err.to_string().contains("numeric"), "{err}");
    }
}
