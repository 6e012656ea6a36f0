//! A [`Snapshot`] as text, and back.
//!
//! ```text
//! # warren.node.v1 snapshot 0123456789abcdef
//! # Written by `cargo xtask api-snapshot`: ...
//!
//! enum warren.node.v1.Phase
//!   value 0 PHASE_UNSPECIFIED
//!   reserved 3 to max
//!
//! message warren.node.v1.AttachInput
//!   field 1 run: warren.node.v1.RunRequest (oneof input)
//!   field 5 entrypoint: repeated string
//!   field 19 labels: map<string, string>
//!   reserved "old_name"
//!
//! service warren.node.v1.Node
//!   rpc Pull(warren.node.v1.PullRequest) returns (stream warren.node.v1.PullEvent)
//! ```
//!
//! Blocks are sorted by full name, fields and values by number, methods by name. A field
//! without a label word is proto3's plain singular field; maps carry no label.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::describe::{MAX_ENUM_NUMBER, MAX_FIELD_NUMBER};
use super::{
    fingerprint, Enum, Field, Label, Message, Method, ParseError, Reserved, Service, Snapshot,
    Stream,
};

const NOTE: &str = "# Written by `cargo xtask api-snapshot`, never by hand (see CHANGELOG.md).";

pub(super) fn header(package: &str, fingerprint: &str) -> String {
    format!("# {package} snapshot {fingerprint}")
}

/// Everything below the header line.
pub(super) fn body(snapshot: &Snapshot) -> String {
    let mut blocks: BTreeMap<&str, String> = BTreeMap::new();
    for (name, message) in &snapshot.messages {
        blocks.insert(name, message_block(name, message));
    }
    for (name, e) in &snapshot.enums {
        blocks.insert(name, enum_block(name, e));
    }
    for (name, service) in &snapshot.services {
        blocks.insert(name, service_block(name, service));
    }
    let mut out = format!("{NOTE}\n");
    for block in blocks.values() {
        out.push('\n');
        out.push_str(block);
    }
    out
}

fn message_block(name: &str, message: &Message) -> String {
    let mut out = format!("message {name}\n");
    for f in &message.fields {
        let label = match f.label {
            _ if f.ty.starts_with("map<") => String::new(),
            Label::Singular => String::new(),
            label => format!("{label} "),
        };
        let _ = write!(out, "  field {} {}: {label}{}", f.number, f.name, f.ty);
        if let Some(oneof) = &f.oneof {
            let _ = write!(out, " (oneof {oneof})");
        }
        out.push('\n');
    }
    reserved_lines(&mut out, &message.reserved, MAX_FIELD_NUMBER);
    out
}

fn enum_block(name: &str, e: &Enum) -> String {
    let mut out = format!("enum {name}\n");
    for (number, value) in &e.values {
        let _ = writeln!(out, "  value {number} {value}");
    }
    reserved_lines(&mut out, &e.reserved, MAX_ENUM_NUMBER);
    out
}

fn service_block(name: &str, service: &Service) -> String {
    let mut out = format!("service {name}\n");
    for (method, m) in &service.methods {
        let _ = writeln!(out, "  rpc {method}({}) returns ({})", m.input, m.output);
    }
    out
}

fn reserved_lines(out: &mut String, reserved: &Reserved, max: i32) {
    for &(lo, hi) in &reserved.ranges {
        let _ = writeln!(out, "  reserved {}", Reserved::range_text(lo, hi, max));
    }
    for name in &reserved.names {
        let _ = writeln!(out, "  reserved \"{name}\"");
    }
}

/// The block a line belongs to.
enum Block {
    None,
    Message(String),
    Enum(String),
    Service(String),
}

pub(super) fn parse(text: &str) -> Result<Snapshot, ParseError> {
    // A checkout with Windows line ends is the same snapshot.
    let text = text.replace("\r\n", "\n");
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let err = |line: usize, message: String| ParseError { line, message };
    let (package, stated) = first
        .strip_prefix("# ")
        .and_then(|h| h.split_once(" snapshot "))
        .ok_or_else(|| err(1, "expected `# PACKAGE snapshot FINGERPRINT`".into()))?;
    let actual = fingerprint(rest);
    if stated != actual {
        return Err(err(
            1,
            format!(
                "the header's fingerprint {stated} is not that of the text below it ({actual}): \
                 the snapshot was edited by hand; regenerate it with `cargo xtask api-snapshot`"
            ),
        ));
    }
    let mut snapshot = Snapshot {
        package: package.to_string(),
        ..Snapshot::default()
    };
    let mut block = Block::None;
    for (index, line) in rest.lines().enumerate() {
        let number = index + 2;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        parse_line(&mut snapshot, &mut block, line).map_err(|m| err(number, m))?;
    }
    for message in snapshot.messages.values_mut() {
        message.fields.sort_by_key(|f| f.number);
        sort_reserved(&mut message.reserved);
    }
    for e in snapshot.enums.values_mut() {
        e.values.sort();
        sort_reserved(&mut e.reserved);
    }
    Ok(snapshot)
}

fn sort_reserved(reserved: &mut Reserved) {
    reserved.ranges.sort();
    reserved.names.sort();
}

fn parse_line(snapshot: &mut Snapshot, block: &mut Block, line: &str) -> Result<(), String> {
    if let Some(item) = line.strip_prefix("  ") {
        let (word, rest) = item.split_once(' ').ok_or("expected `WORD ...`")?;
        return match (word, &*block) {
            ("field", Block::Message(name)) => {
                let field = parse_field(rest)?;
                message(snapshot, name).fields.push(field);
                Ok(())
            }
            ("value", Block::Enum(name)) => {
                let (number, value) = rest.split_once(' ').ok_or("expected `value N NAME`")?;
                let entry = (parse_number(number)?, value.to_string());
                enumeration(snapshot, name).values.push(entry);
                Ok(())
            }
            ("rpc", Block::Service(name)) => {
                let (method, m) = parse_method(rest)?;
                let service = snapshot.services.entry(name.clone()).or_default();
                service.methods.insert(method, m);
                Ok(())
            }
            ("reserved", Block::Message(name)) => parse_reserved(
                &mut message(snapshot, name).reserved,
                rest,
                MAX_FIELD_NUMBER,
            ),
            ("reserved", Block::Enum(name)) => parse_reserved(
                &mut enumeration(snapshot, name).reserved,
                rest,
                MAX_ENUM_NUMBER,
            ),
            _ => Err(format!("`{word}` does not belong here")),
        };
    }
    let (kind, name) = line
        .split_once(' ')
        .ok_or("expected `message|enum|service NAME`")?;
    let name = name.to_string();
    let known = snapshot.messages.contains_key(&name)
        || snapshot.enums.contains_key(&name)
        || snapshot.services.contains_key(&name);
    if known {
        return Err(format!("{name} appears twice"));
    }
    *block = match kind {
        "message" => {
            snapshot.messages.insert(name.clone(), Message::default());
            Block::Message(name)
        }
        "enum" => {
            snapshot.enums.insert(name.clone(), Enum::default());
            Block::Enum(name)
        }
        "service" => {
            snapshot.services.insert(name.clone(), Service::default());
            Block::Service(name)
        }
        _ => return Err(format!("unknown block `{kind}`")),
    };
    Ok(())
}

fn message<'a>(snapshot: &'a mut Snapshot, name: &str) -> &'a mut Message {
    snapshot.messages.entry(name.to_string()).or_default()
}

fn enumeration<'a>(snapshot: &'a mut Snapshot, name: &str) -> &'a mut Enum {
    snapshot.enums.entry(name.to_string()).or_default()
}

fn parse_number(text: &str) -> Result<i32, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a number"))
}

/// `N NAME: [LABEL ]TYPE[ (oneof ONEOF)]`
fn parse_field(text: &str) -> Result<Field, String> {
    let (number, rest) = text
        .split_once(' ')
        .ok_or("expected `field N NAME: TYPE`")?;
    let (name, rest) = rest.split_once(": ").ok_or("expected `NAME: TYPE`")?;
    let (rest, oneof) = match rest
        .strip_suffix(')')
        .and_then(|r| r.split_once(" (oneof "))
    {
        Some((rest, oneof)) => (rest, Some(oneof.to_string())),
        None => (rest, None),
    };
    let labelled = |word: &str, label| {
        rest.strip_prefix(word)
            .and_then(|r| r.strip_prefix(' '))
            .map(|ty| (label, ty))
    };
    let (label, ty) = labelled("optional", Label::Optional)
        .or_else(|| labelled("required", Label::Required))
        .or_else(|| labelled("repeated", Label::Repeated))
        .unwrap_or(if rest.starts_with("map<") {
            (Label::Repeated, rest)
        } else {
            (Label::Singular, rest)
        });
    if ty.is_empty() {
        return Err("a field without a type".into());
    }
    Ok(Field {
        number: parse_number(number)?,
        name: name.to_string(),
        label,
        ty: ty.to_string(),
        oneof,
    })
}

/// `NAME(INPUT) returns (OUTPUT)`, each side possibly `stream TYPE`.
fn parse_method(text: &str) -> Result<(String, Method), String> {
    let shape = "expected `rpc NAME(INPUT) returns (OUTPUT)`";
    let (name, rest) = text.split_once('(').ok_or(shape)?;
    let (input, output) = rest
        .strip_suffix(')')
        .and_then(|r| r.split_once(") returns ("))
        .ok_or(shape)?;
    let stream = |side: &str| match side.strip_prefix("stream ") {
        Some(ty) => Stream {
            streaming: true,
            ty: ty.to_string(),
        },
        None => Stream {
            streaming: false,
            ty: side.to_string(),
        },
    };
    let method = Method {
        input: stream(input),
        output: stream(output),
    };
    Ok((name.to_string(), method))
}

/// `"NAME"`, `N`, `N to M` or `N to max`.
fn parse_reserved(reserved: &mut Reserved, text: &str, max: i32) -> Result<(), String> {
    if let Some(name) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        reserved.names.push(name.to_string());
        return Ok(());
    }
    let range = match text.split_once(" to ") {
        Some((lo, "max")) => (parse_number(lo)?, max),
        Some((lo, hi)) => (parse_number(lo)?, parse_number(hi)?),
        None => (parse_number(text)?, parse_number(text)?),
    };
    reserved.ranges.push(range);
    Ok(())
}
