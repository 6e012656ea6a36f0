//! The node API (`warren.node.v1`) stays compatible with its committed snapshot
//! (`api/warren.node.v1.txt`), and the snapshot only changes with a CHANGELOG.md line. Below:
//! the comparison itself, on small in-memory descriptor sets.

mod compat;

use std::path::{Path, PathBuf};

use prost::Message;
use prost_types::field_descriptor_proto::Type;
use prost_types::{FileDescriptorProto, FileDescriptorSet};
use warren_proto::compat::{breaking_changes, Snapshot, NODE_API_PACKAGE, SNAPSHOT_PATH};
use warren_proto::FILE_DESCRIPTOR_SET;

use compat::{
    enumeration, field, field_mut, file, in_oneof, message, message_mut, method, reserve, set,
    PACKAGE,
};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The committed snapshot, parsed (its header checked against its content).
fn committed() -> Snapshot {
    let path = crate_dir().join(SNAPSHOT_PATH);
    Snapshot::parse(&read(&path)).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nThe snapshot is written by `cargo xtask api-snapshot` only; every new \
             one gets a line in CHANGELOG.md naming its fingerprint.",
            path.display()
        )
    })
}

#[test]
fn the_node_api_is_compatible_with_its_committed_snapshot() {
    let breaks = breaking_changes(&committed(), &Snapshot::node_api());
    assert!(
        breaks.is_empty(),
        "The node API ({NODE_API_PACKAGE}) changed incompatibly with \
         crates/warren-proto/{SNAPSHOT_PATH}:\n  {}\n\nClients built against the snapshot \
         break on these. Restore compatibility: add fields, values and methods instead of \
         changing them, and retire a field by reserving both its number and its name. If the \
         break is intended, run `cargo xtask api-snapshot` and add the line it prints to \
         CHANGELOG.md.",
        breaks.join("\n  ")
    );
}

#[test]
fn the_committed_reference_is_written_from_the_protos() {
    let path = crate_dir().join(warren_proto::compat::REFERENCE_PATH);
    let committed = read(&path);
    let current = warren_proto::compat::node_api_reference();
    if committed != current {
        let line = committed
            .lines()
            .zip(current.lines())
            .position(|(a, b)| a != b)
            .map_or(
                committed.lines().count().min(current.lines().count()),
                |i| i,
            )
            + 1;
        panic!(
            "{} differs from the protos' comments (first at line {line}): run `cargo xtask \
             api-snapshot`, which writes it",
            path.display()
        );
    }
    // Every method, message and enum of the package is in it.
    let snapshot = Snapshot::node_api().render();
    for line in snapshot.lines() {
        let Some(name) = line
            .strip_prefix("message ")
            .or_else(|| line.strip_prefix("enum "))
            .and_then(|l| l.split_whitespace().next())
        else {
            continue;
        };
        let short = name.trim_start_matches("warren.node.v1.");
        if short.ends_with("Entry") {
            continue;
        }
        assert!(
            current.contains(&format!("### {short}\n")),
            "{short} is missing"
        );
    }
}

#[test]
fn the_changelog_names_the_committed_snapshot() {
    let fingerprint = committed().fingerprint();
    let changelog = crate_dir().join("../../CHANGELOG.md");
    assert!(
        read(&changelog).lines().any(|l| l.contains(&fingerprint)),
        "CHANGELOG.md has no line naming the node API snapshot {fingerprint} \
         (crates/warren-proto/{SNAPSHOT_PATH}): add one under `## Unreleased` saying what \
         changed in the API; `cargo xtask api-snapshot` prints a template"
    );
}

#[test]
fn a_hand_edited_snapshot_is_refused() {
    let text = Snapshot::node_api().render();
    let edited = text.replacen("field 2 image: string", "field 3 image: string", 1);
    assert_ne!(edited, text);
    let err = Snapshot::parse(&edited).unwrap_err();
    assert_eq!(err.line, 1);
    assert!(err.message.contains("edited by hand"), "{err}");
}

/// The demonstration: renumber one field of the real node API in memory, and the check says so.
#[test]
fn renumbering_a_field_of_the_real_node_api_is_reported() {
    let mut set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
    let node = set
        .file
        .iter_mut()
        .find(|f| f.package() == NODE_API_PACKAGE)
        .expect("the node API is compiled with feature node-api");
    field_mut(message_mut(node, "ContainerSpec"), "image").number = Some(99);
    let changed = Snapshot::from_descriptors(&set, NODE_API_PACKAGE);
    assert_eq!(
        breaking_changes(&Snapshot::node_api(), &changed),
        ["field warren.node.v1.ContainerSpec.image: number 2 -> 99"]
    );
}

#[test]
fn the_node_api_snapshot_round_trips() {
    let current = Snapshot::node_api();
    assert!(!current.is_empty());
    let text = current.render();
    assert!(text.starts_with(&format!(
        "# warren.node.v1 snapshot {}\n",
        current.fingerprint()
    )));
    let parsed = Snapshot::parse(&text).unwrap();
    assert_eq!(parsed, current);
    assert_eq!(parsed.render(), text);
    assert_eq!(
        Snapshot::parse(&text.replace('\n', "\r\n")).unwrap(),
        current
    );
}

// The comparison on small descriptor sets.

/// The breaking changes from the test file to the test file after `edit`.
fn breaks(edit: impl FnOnce(&mut FileDescriptorProto)) -> Vec<String> {
    let old = Snapshot::from_descriptors(&set(file()), PACKAGE);
    let mut changed = file();
    edit(&mut changed);
    // Through the text, as the committed snapshot goes.
    let old = Snapshot::parse(&old.render()).unwrap();
    breaking_changes(&old, &Snapshot::from_descriptors(&set(changed), PACKAGE))
}

fn spec(file: &mut FileDescriptorProto) -> &mut prost_types::DescriptorProto {
    message_mut(file, "Spec")
}

#[test]
fn the_test_file_renders_every_kind_of_element() {
    let text = Snapshot::from_descriptors(&set(file()), PACKAGE).render();
    for line in [
        "message test.v1.Spec",
        "  field 3 args: repeated string",
        "  field 4 path: string (oneof source)",
        "  field 6 labels: map<string, string>",
        "  field 7 limit: optional int32",
        "  field 8 state: test.v1.State",
        "enum test.v1.State",
        "  value 1 RUNNING",
        "service test.v1.Api",
        "  rpc Watch(test.v1.Empty) returns (stream test.v1.Spec)",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
    assert!(
        !text.contains("LabelsEntry"),
        "map entries are maps:\n{text}"
    );
    assert!(breaks(|_| {}).is_empty());
}

#[test]
fn renumbering_a_field_breaks() {
    let found = breaks(|f| field_mut(spec(f), "image").number = Some(9));
    assert_eq!(found, ["field test.v1.Spec.image: number 2 -> 9"]);
}

#[test]
fn renaming_a_field_breaks() {
    let found = breaks(|f| field_mut(spec(f), "image").name = Some("reference".into()));
    assert_eq!(
        found,
        ["field test.v1.Spec.image: renamed to reference (number 2)"]
    );
}

#[test]
fn retyping_a_field_breaks() {
    let found = breaks(|f| field_mut(spec(f), "image").r#type = Some(Type::Bytes as i32));
    assert_eq!(found, ["field test.v1.Spec.image: type string -> bytes"]);
}

#[test]
fn making_a_field_repeated_breaks() {
    let found = breaks(|f| {
        *field_mut(spec(f), "image") = compat::repeated(field("image", 2, Type::String))
    });
    assert_eq!(
        found,
        ["field test.v1.Spec.image: label singular -> repeated"]
    );
}

#[test]
fn moving_a_field_into_or_out_of_a_oneof_breaks() {
    let found =
        breaks(|f| *field_mut(spec(f), "image") = in_oneof(field("image", 2, Type::String), 0));
    assert_eq!(found, ["field test.v1.Spec.image: oneof none -> source"]);
    let found = breaks(|f| field_mut(spec(f), "path").oneof_index = None);
    assert_eq!(found, ["field test.v1.Spec.path: oneof source -> none"]);
}

#[test]
fn removing_a_field_breaks_unless_its_number_and_name_are_reserved() {
    let remove = |f: &mut FileDescriptorProto| spec(f).field.retain(|f| f.name() != "image");
    let found = breaks(remove);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("field test.v1.Spec.image: removed"),
        "{found:?}"
    );

    assert!(breaks(|f| {
        remove(f);
        reserve(spec(f), 2, "image");
    })
    .is_empty());

    // The number alone is not enough: JSON clients still send the name.
    let found = breaks(|f| {
        remove(f);
        reserve(spec(f), 2, "other");
    });
    assert!(
        found[0].starts_with("field test.v1.Spec.image: removed"),
        "{found:?}"
    );
}

#[test]
fn giving_up_a_reservation_breaks() {
    let reserved = |f: &mut FileDescriptorProto| reserve(spec(f), 20, "old");
    let mut before = file();
    reserved(&mut before);
    let old = Snapshot::from_descriptors(&set(before), PACKAGE);
    let old = Snapshot::parse(&old.render()).unwrap();
    let new = Snapshot::from_descriptors(&set(file()), PACKAGE);
    assert_eq!(
        breaking_changes(&old, &new),
        [
            "message test.v1.Spec: reserved 20 no longer reserved",
            "message test.v1.Spec: reserved \"old\" no longer reserved",
        ]
    );
}

#[test]
fn removing_or_changing_a_method_breaks() {
    let found = breaks(|f| f.service[0].method.retain(|m| m.name() != "Create"));
    assert_eq!(found, ["method test.v1.Api.Create: removed"]);
    let found = breaks(|f| f.service[0].method[1].server_streaming = Some(false));
    assert_eq!(
        found,
        ["method test.v1.Api.Watch: response stream test.v1.Spec -> test.v1.Spec"]
    );
    let found = breaks(|f| f.service[0].method[0] = method("Create", "Empty", "Empty", false));
    assert_eq!(
        found,
        ["method test.v1.Api.Create: request test.v1.Spec -> test.v1.Empty"]
    );
}

#[test]
fn removing_or_renumbering_an_enum_value_breaks() {
    let found =
        breaks(|f| f.enum_type[0] = enumeration("State", &[("STATE_UNKNOWN", 0), ("RUNNING", 1)]));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("enum value test.v1.State.STOPPED: removed"),
        "{found:?}"
    );
    let found = breaks(|f| f.enum_type[0].value[2].number = Some(3));
    assert_eq!(found, ["enum value test.v1.State.STOPPED: number 2 -> 3"]);
}

#[test]
fn removing_a_message_enum_or_service_breaks() {
    let found = breaks(|f| {
        f.message_type.retain(|m| m.name() != "Empty");
        f.enum_type.clear();
        f.service.clear();
    });
    assert_eq!(
        found,
        [
            "message test.v1.Empty: removed",
            "enum test.v1.State: removed",
            "service test.v1.Api: removed",
        ]
    );
}

#[test]
fn additions_do_not_break() {
    let found = breaks(|f| {
        spec(f).field.push(field("note", 9, Type::String));
        f.message_type
            .push(message("Extra", vec![field("x", 1, Type::Bool)]));
        f.enum_type[0]
            .value
            .push(enumeration("", &[("PAUSED", 3)]).value.remove(0));
        f.enum_type
            .push(enumeration("Kind", &[("KIND_UNKNOWN", 0)]));
        f.service[0]
            .method
            .push(method("Ping", "Empty", "Empty", false));
        let mut other = f.service[0].clone();
        other.name = Some("Other".into());
        f.service.push(other);
    });
    assert!(found.is_empty(), "{found:?}");
}
