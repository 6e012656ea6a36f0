//! `Create` with a client-chosen id may be retried: the container records the digest of the
//! spec it was made from, and a second `Create` of that id answers the existing container
//! when the spec is the same, ALREADY_EXISTS when it differs.

use prost::Message;
use sha2::{Digest, Sha256};
use tonic::Status;
use warren_proto::warren::node::v1 as api;

use crate::serve::errors::ApiError;
use crate::serve::labels;
use crate::serve::Daemon;
use crate::spec::NodeSpec;

/// A digest of what a spec asks for: taken of its canonical form (the spec as read, written
/// back, so an unset field and its default compare equal), and independent of the order of
/// its maps.
pub fn spec_digest(spec: &NodeSpec) -> String {
    let mut rest = api::ContainerSpec::from(spec);
    let sysctls = rest
        .confinement
        .as_mut()
        .map(|c| std::mem::take(&mut c.sysctls))
        .unwrap_or_default();
    let mut maps: Vec<(&str, Vec<(String, String)>)> = vec![
        (
            "labels",
            std::mem::take(&mut rest.labels).into_iter().collect(),
        ),
        ("sysctls", sysctls.into_iter().collect()),
    ];
    let mut h = Sha256::new();
    // prost writes the fields in number order, and repeated ones in their order.
    h.update(rest.encode_to_vec());
    for (name, entries) in &mut maps {
        entries.sort();
        h.update(name.as_bytes());
        for (k, v) in entries.iter() {
            for part in [k, v] {
                h.update((part.len() as u64).to_be_bytes());
                h.update(part.as_bytes());
            }
        }
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// After `Create` of `id` found the id taken: the existing container's id if it was made
/// from a spec with `digest`, else ALREADY_EXISTS saying why.
pub async fn existing(
    d: &Daemon,
    id: &str,
    digest: &str,
    refused: warren_runtime::RuntimeError,
) -> Result<String, ApiError> {
    let Ok(info) = d.rt.container_info(id).await else {
        // Gone again meanwhile: the create's own answer stands.
        return Err(ApiError::runtime("create")(refused));
    };
    match info.labels.get(labels::SPEC_DIGEST) {
        Some(had) if had == digest => Ok(info.id),
        Some(_) => Err(Status::already_exists(format!(
            "container {id} exists with a different spec: delete it first, or create with another id (the same id and spec would answer the existing container)"
        ))
        .into()),
        None => Err(Status::already_exists(format!(
            "container {id} exists and was not created through the node API: delete it first, or create with another id"
        ))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Option<api::ProcessSpec> {
        Some(api::ProcessSpec {
            cmd: Some(api::Args {
                args: args.iter().map(|a| a.to_string()).collect(),
            }),
            ..Default::default()
        })
    }

    fn digest(spec: &api::ContainerSpec) -> String {
        spec_digest(&NodeSpec::try_from(spec).expect("a valid spec"))
    }

    #[test]
    fn the_digest_ignores_map_order_and_defaults_and_sees_every_field() {
        let mut a = api::ContainerSpec {
            id: "web".into(),
            image: "busybox".into(),
            process: cmd(&["sleep", "1"]),
            ..Default::default()
        };
        let mut b = a.clone();
        for i in 0..20 {
            a.labels.insert(format!("k{i}"), format!("v{i}"));
        }
        for i in (0..20).rev() {
            b.labels.insert(format!("k{i}"), format!("v{i}"));
        }
        assert_eq!(digest(&a), digest(&b));
        // An explicit default is the same spec.
        b.restart = Some(api::RestartPolicy {
            mode: api::RestartMode::No as i32,
            max_retries: None,
        });
        b.pull = api::PullPolicy::Missing as i32;
        assert_eq!(digest(&a), digest(&b));
        b.process = cmd(&["sleep", "2"]);
        assert_ne!(digest(&a), digest(&b));
        let mut c = a.clone();
        let mut confinement = api::Confinement::default();
        confinement
            .sysctls
            .insert("net.core.somaxconn".into(), "1024".into());
        c.confinement = Some(confinement);
        assert_ne!(digest(&a), digest(&c));
        // A key and value cannot be shifted into each other.
        let mut x = a.clone();
        x.labels.insert("ab".into(), "c".into());
        let mut y = a.clone();
        y.labels.insert("a".into(), "bc".into());
        assert_ne!(digest(&x), digest(&y));
    }
}
