//! Compatibility check of Warren's node API (`warren.node.v1`).
//!
//! A [`Snapshot`] is the shape of a protobuf package as seen on the wire and by generated
//! clients: every message with its fields (number, name, label, type, oneof), every enum with
//! its values, every service with its methods, and what each reserves. It renders as a
//! sorted, line-oriented text ([`Snapshot::render`]) that is committed next to the crate
//! ([`SNAPSHOT_PATH`]) and parses back ([`Snapshot::parse`]). [`breaking_changes`] compares
//! that committed snapshot with the current descriptors and names every change that would
//! break an existing client; additions are not breaking.
//!
//! The text's first line is a header with a fingerprint of the rest
//! (`# warren.node.v1 snapshot 0123456789abcdef`), so a hand-edited snapshot is caught, and a
//! changelog can name the exact contract it describes.
//!
//! ```
//! use warren_proto::compat::{breaking_changes, Snapshot};
//!
//! let current = Snapshot::node_api();
//! let committed = Snapshot::parse(&current.render()).unwrap();
//! assert!(breaking_changes(&committed, &current).is_empty());
//! ```

mod describe;
mod diff;
mod reference;
mod text;

use std::collections::BTreeMap;
use std::fmt;

use prost::Message as _;
use prost_types::FileDescriptorSet;

pub use diff::breaking_changes;
pub use reference::{reference, REFERENCE_PATH};

/// The node API's reference in Markdown (what `docs/node-api.md` holds), from the comments
/// of the protos this crate compiled.
///
/// # Panics
///
/// If the crate's own descriptor set does not decode, which the build rules out.
pub fn node_api_reference() -> String {
    let set = FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET)
        .expect("the crate's own descriptor set decodes");
    reference(&set, NODE_API_PACKAGE)
}

/// The protobuf package of Warren's node API.
pub const NODE_API_PACKAGE: &str = "warren.node.v1";

/// Where the committed snapshot of the node API lives, relative to the `warren-proto` crate's
/// directory.
pub const SNAPSHOT_PATH: &str = "api/warren.node.v1.txt";

/// The shape of one protobuf package: what a compatibility check compares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    package: String,
    messages: BTreeMap<String, Message>,
    enums: BTreeMap<String, Enum>,
    services: BTreeMap<String, Service>,
}

/// A snapshot text that does not parse, or whose header does not match its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// The 1-based line the problem is on.
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

impl Snapshot {
    /// The snapshot of `package` in a set of file descriptors, from every file of the set in
    /// that package. Types of other packages appear only as the full names of field and
    /// method types.
    pub fn from_descriptors(set: &FileDescriptorSet, package: &str) -> Snapshot {
        describe::snapshot(set, package)
    }

    /// The snapshot of the node API as this crate compiled it (from
    /// [`FILE_DESCRIPTOR_SET`](crate::FILE_DESCRIPTOR_SET)).
    ///
    /// # Panics
    ///
    /// If the crate's own descriptor set does not decode, which the build rules out.
    pub fn node_api() -> Snapshot {
        let set = FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET)
            .expect("the crate's own descriptor set decodes");
        Snapshot::from_descriptors(&set, NODE_API_PACKAGE)
    }

    /// Parse a rendered snapshot back. Fails on lines it does not understand, and when the
    /// header's fingerprint is not the fingerprint of the text below it (the file was edited
    /// by hand).
    pub fn parse(text: &str) -> Result<Snapshot, ParseError> {
        text::parse(text)
    }

    /// The snapshot as text: the header line with package and fingerprint, then the body.
    pub fn render(&self) -> String {
        let body = text::body(self);
        format!(
            "{}\n{body}",
            text::header(&self.package, &fingerprint(&body))
        )
    }

    /// The fingerprint in this snapshot's header: 16 hex digits of a stable hash of the body.
    pub fn fingerprint(&self) -> String {
        fingerprint(&text::body(self))
    }

    /// The package this snapshot describes.
    pub fn package(&self) -> &str {
        &self.package
    }

    /// Whether the package has no message, enum or service (the package is not in the set).
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.enums.is_empty() && self.services.is_empty()
    }
}

/// 16 lowercase hex digits of the 64-bit FNV-1a hash of `body`: stable across platforms,
/// releases and Rust versions (it is written out here, not taken from `std`'s hashers).
pub fn fingerprint(body: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in body.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// A message: its fields by number, and what it reserves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Message {
    fields: Vec<Field>,
    reserved: Reserved,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    number: i32,
    name: String,
    label: Label,
    /// A scalar's keyword, a message's or enum's full name (no leading dot), or
    /// `map<K, V>`.
    ty: String,
    /// The oneof the field belongs to (never the synthetic one of a proto3 `optional`).
    oneof: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    /// proto3's plain field: no presence.
    Singular,
    /// proto3 `optional` or proto2 `optional`: with presence.
    Optional,
    /// proto2 `required`.
    Required,
    /// `repeated`, and every map.
    Repeated,
}

impl Label {
    fn keyword(self) -> &'static str {
        match self {
            Label::Singular => "singular",
            Label::Optional => "optional",
            Label::Required => "required",
            Label::Repeated => "repeated",
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// Reserved numbers (inclusive ranges, sorted) and names (sorted).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Reserved {
    ranges: Vec<(i32, i32)>,
    names: Vec<String>,
}

impl Reserved {
    fn has_number(&self, number: i32) -> bool {
        self.ranges
            .iter()
            .any(|&(lo, hi)| lo <= number && number <= hi)
    }

    fn has_name(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// A range as a `.proto` file writes it: `5`, `5 to 9` or `5 to max`.
    fn range_text(lo: i32, hi: i32, max: i32) -> String {
        match hi {
            _ if hi == lo => lo.to_string(),
            _ if hi == max => format!("{lo} to max"),
            _ => format!("{lo} to {hi}"),
        }
    }

    /// Whether every number from `lo` to `hi` is reserved (possibly across several ranges).
    fn covers(&self, lo: i32, hi: i32) -> bool {
        let mut next = i64::from(lo);
        for &(a, b) in &self.ranges {
            if i64::from(a) <= next && next <= i64::from(b) {
                next = i64::from(b) + 1;
            }
        }
        next > i64::from(hi)
    }
}

/// An enum: its values sorted by number, then name (aliases share a number).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Enum {
    values: Vec<(i32, String)>,
    reserved: Reserved,
}

/// A service: its methods by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Service {
    methods: BTreeMap<String, Method>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Method {
    input: Stream,
    output: Stream,
}

/// A method's request or response: a message type, streamed or not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stream {
    streaming: bool,
    ty: String,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.streaming {
            f.write_str("stream ")?;
        }
        f.write_str(&self.ty)
    }
}
