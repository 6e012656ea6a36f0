//! `google.protobuf.Any` the way containerd wants it.
//!
//! containerd matches type URLs exactly and expects them **bare**
//! (`containerd.runc.v1.Options`), not with the `type.googleapis.com/` prefix that most
//! protobuf libraries add: with the prefix, 1.6's shim rejects runc options and 2.x rejects
//! the spec. JSON payloads (OCI spec, process, resources) use containerd's own URLs below.

use prost::{Message, Name};
use prost_types::Any;

use crate::Error;

/// Type URL of an OCI runtime spec, JSON-encoded (`Containers.Create`).
pub const SPEC_TYPE_URL: &str = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
/// Type URL of an OCI process, JSON-encoded (`Tasks.Exec`).
pub const PROCESS_TYPE_URL: &str = "types.containerd.io/opencontainers/runtime-spec/1/Process";
/// Type URL of OCI Linux resources, JSON-encoded (`Tasks.Update`).
pub const RESOURCES_TYPE_URL: &str =
    "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";

const GOOGLE_PREFIX: &str = "type.googleapis.com/";

/// Pack a protobuf message with its bare type URL (its full proto name).
pub fn pack<M: Message + Name>(message: &M) -> Any {
    Any {
        type_url: M::full_name(),
        value: message.encode_to_vec(),
    }
}

/// Pack already-encoded JSON under one of the JSON type URLs above.
pub fn pack_json(type_url: &str, json: Vec<u8>) -> Any {
    Any {
        type_url: type_url.to_string(),
        value: json,
    }
}

/// The bare name of an `Any`'s type, whether or not it carries a `type.googleapis.com/`
/// prefix (containerd itself never sends one, but other peers may).
pub fn type_name(any: &Any) -> &str {
    any.type_url
        .strip_prefix(GOOGLE_PREFIX)
        .unwrap_or(&any.type_url)
}

/// True if `any` holds an `M`.
pub fn is<M: Name>(any: &Any) -> bool {
    type_name(any) == M::full_name()
}

/// Decode `any` as an `M`, checking its type URL first.
pub fn unpack<M: Message + Name + Default>(any: &Any) -> Result<M, Error> {
    if !is::<M>(any) {
        return Err(Error::UnexpectedType {
            expected: M::full_name(),
            found: any.type_url.clone(),
        });
    }
    M::decode(any.value.as_slice()).map_err(|source| Error::Decode {
        type_url: any.type_url.clone(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containerd::events::{TaskExit, TaskOom};
    use crate::containerd::runc::v1::Options;

    #[test]
    fn bare_type_urls() {
        let any = pack(&Options {
            binary_name: "/usr/sbin/runc".into(),
            ..Default::default()
        });
        assert_eq!(any.type_url, "containerd.runc.v1.Options");
        let back: Options = unpack(&any).unwrap();
        assert_eq!(back.binary_name, "/usr/sbin/runc");
        assert_eq!(
            pack(&TaskExit::default()).type_url,
            "containerd.events.TaskExit"
        );
        assert_eq!(
            pack(&crate::io::containerd::cgroups::v1::Metrics::default()).type_url,
            "io.containerd.cgroups.v1.Metrics"
        );
    }

    #[test]
    fn prefixed_urls_decode_and_wrong_types_fail() {
        let exit = TaskExit {
            container_id: "c1".into(),
            exit_status: 137,
            ..Default::default()
        };
        let mut any = pack(&exit);
        any.type_url = format!("{GOOGLE_PREFIX}{}", any.type_url);
        assert_eq!(unpack::<TaskExit>(&any).unwrap(), exit);
        let err = unpack::<TaskOom>(&any).unwrap_err();
        assert!(matches!(err, Error::UnexpectedType { .. }), "{err}");
        let garbage = Any {
            type_url: "containerd.events.TaskExit".into(),
            value: vec![0xff, 0xff],
        };
        assert!(matches!(
            unpack::<TaskExit>(&garbage),
            Err(Error::Decode { .. })
        ));
    }
}
