//! The node API's reference in Markdown, written from the protos' own comments: every method
//! of every service, every message with its fields, every enum with its values. Committed as
//! `docs/node-api.md` (written by `cargo xtask api-snapshot`, checked by a test), so the
//! documentation a client reads is the proto it is built from.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use prost_types::field_descriptor_proto::Label;
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    FileDescriptorSet,
};

/// Where the node API's reference lives, relative to the `warren-proto` crate's directory.
pub const REFERENCE_PATH: &str = "../../docs/node-api.md";

// Descriptor field numbers that source-code-info paths are made of.
const MESSAGE_TYPE: i32 = 4;
const ENUM_TYPE: i32 = 5;
const SERVICE: i32 = 6;
const MESSAGE_FIELD: i32 = 2;
const MESSAGE_NESTED: i32 = 3;
const MESSAGE_ONEOF: i32 = 8;
const ENUM_VALUE: i32 = 2;
const SERVICE_METHOD: i32 = 2;

/// The comments of one file, by source-code-info path.
struct Comments(BTreeMap<Vec<i32>, String>);

impl Comments {
    fn of(file: &FileDescriptorProto) -> Comments {
        let mut out = BTreeMap::new();
        for loc in file.source_code_info.iter().flat_map(|i| &i.location) {
            let text = loc.leading_comments().trim();
            let text = if text.is_empty() {
                loc.trailing_comments().trim()
            } else {
                text
            };
            if !text.is_empty() {
                let joined: Vec<&str> = text.lines().map(str::trim).collect();
                out.insert(loc.path.clone(), joined.join("\n"));
            }
        }
        Comments(out)
    }

    /// The comment at `path` as one Markdown paragraph per blank-line-separated block.
    fn block(&self, path: &[i32]) -> String {
        self.0.get(path).cloned().unwrap_or_default()
    }

    /// The comment at `path` on one line (for a table cell).
    fn cell(&self, path: &[i32]) -> String {
        self.block(path)
            .split('\n')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .replace('|', "\\|")
    }
}

fn anchor(name: &str) -> String {
    name.to_lowercase()
}

/// A type reference (`.warren.node.v1.Exit`, `.google.protobuf.Timestamp`) as shown: a link
/// for the package's own types.
fn type_ref(name: &str, package: &str) -> String {
    let name = name.trim_start_matches('.');
    match name.strip_prefix(&format!("{package}.")) {
        Some(local) => format!("[`{local}`](#{})", anchor(&local.replace('.', ""))),
        None => format!("`{name}`"),
    }
}

fn field_type(f: &FieldDescriptorProto, owner: &DescriptorProto, package: &str) -> String {
    let base =
        match super::describe::scalar_keyword(f.r#type()) {
            None => {
                // A map field's type is its owner's synthetic entry message.
                let entry = f.type_name().rsplit('.').next().unwrap_or_default();
                if let Some(m) = owner.nested_type.iter().find(|n| {
                    n.name() == entry && n.options.as_ref().is_some_and(|o| o.map_entry())
                }) {
                    let part = |n: i32| {
                        m.field
                            .iter()
                            .find(|x| x.number() == n)
                            .map(|x| field_type(x, m, package))
                            .unwrap_or_default()
                    };
                    return format!("map<{}, {}>", part(1), part(2));
                }
                type_ref(f.type_name(), package)
            }
            Some(keyword) => format!("`{keyword}`"),
        };
    if f.label() == Label::Repeated {
        format!("repeated {base}")
    } else if f.proto3_optional() {
        format!("optional {base}")
    } else {
        base
    }
}

fn message(
    out: &mut String,
    m: &DescriptorProto,
    prefix: &str,
    path: &[i32],
    comments: &Comments,
    package: &str,
) {
    if m.options.as_ref().is_some_and(|o| o.map_entry()) {
        return;
    }
    let name = format!("{prefix}{}", m.name());
    let _ = writeln!(out, "### {name}\n");
    let text = comments.block(path);
    if !text.is_empty() {
        let _ = writeln!(out, "{text}\n");
    }
    if m.field.is_empty() {
        let _ = writeln!(out, "No fields.\n");
    } else {
        let _ = writeln!(
            out,
            "| field | number | type | meaning |\n|---|---|---|---|"
        );
        for (i, f) in m.field.iter().enumerate() {
            let mut fpath = path.to_vec();
            fpath.extend([MESSAGE_FIELD, i as i32]);
            let mut meaning = comments.cell(&fpath);
            // Real oneofs (not proto3 `optional`) are named in the field's row.
            if let Some(o) = f.oneof_index.filter(|_| !f.proto3_optional()) {
                let oneof = m.oneof_decl.get(o as usize).map(|d| d.name()).unwrap_or("");
                let mut opath = path.to_vec();
                opath.extend([MESSAGE_ONEOF, o]);
                let about = comments.cell(&opath);
                let note = if about.is_empty() {
                    format!("One of `{oneof}`.")
                } else {
                    format!("One of `{oneof}` ({about}).")
                };
                meaning = format!("{note} {meaning}").trim().to_string();
            }
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                f.name(),
                f.number(),
                field_type(f, m, package),
                meaning
            );
        }
        out.push('\n');
    }
    for (i, nested) in m.nested_type.iter().enumerate() {
        let mut npath = path.to_vec();
        npath.extend([MESSAGE_NESTED, i as i32]);
        message(out, nested, &format!("{name}."), &npath, comments, package);
    }
}

fn enumeration(out: &mut String, e: &EnumDescriptorProto, path: &[i32], comments: &Comments) {
    let _ = writeln!(out, "### {}\n", e.name());
    let text = comments.block(path);
    if !text.is_empty() {
        let _ = writeln!(out, "{text}\n");
    }
    let _ = writeln!(out, "| value | number | meaning |\n|---|---|---|");
    for (i, v) in e.value.iter().enumerate() {
        let mut vpath = path.to_vec();
        vpath.extend([ENUM_VALUE, i as i32]);
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            v.name(),
            v.number(),
            comments.cell(&vpath)
        );
    }
    out.push('\n');
}

/// The reference of `package` in `set`, in Markdown.
pub fn reference(set: &FileDescriptorSet, package: &str) -> String {
    let mut out = format!(
        "# Node API reference (`{package}`)\n\n\
         Written by `cargo xtask api-snapshot` from the comments of \
         [`node.proto`](../crates/warren-proto/proto/warren/node/v1/node.proto); do not edit \
         it by hand (a test fails when it differs from the protos). How to use the API, its \
         errors, event cursors and idempotent creates: the operator guide's \
         [The node API](operator-guide.md#the-node-api).\n\n"
    );
    for file in set.file.iter().filter(|f| f.package() == package) {
        let comments = Comments::of(file);
        for (si, s) in file.service.iter().enumerate() {
            let spath = [SERVICE, si as i32];
            let _ = writeln!(out, "## Service {}\n", s.name());
            let text = comments.block(&spath);
            if !text.is_empty() {
                let _ = writeln!(out, "{text}\n");
            }
            let _ = writeln!(
                out,
                "| method | request | answer | what it does |\n|---|---|---|---|"
            );
            for (mi, m) in s.method.iter().enumerate() {
                let stream = |yes: bool| if yes { "stream " } else { "" };
                let _ = writeln!(
                    out,
                    "| `{}` | {}{} | {}{} | {} |",
                    m.name(),
                    stream(m.client_streaming()),
                    type_ref(m.input_type(), package),
                    stream(m.server_streaming()),
                    type_ref(m.output_type(), package),
                    comments.cell(&[SERVICE, si as i32, SERVICE_METHOD, mi as i32])
                );
            }
            out.push('\n');
        }
        out.push_str("## Messages\n\n");
        for (i, m) in file.message_type.iter().enumerate() {
            message(
                &mut out,
                m,
                "",
                &[MESSAGE_TYPE, i as i32],
                &comments,
                package,
            );
        }
        out.push_str("## Enums\n\n");
        for (i, e) in file.enum_type.iter().enumerate() {
            enumeration(&mut out, e, &[ENUM_TYPE, i as i32], &comments);
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
