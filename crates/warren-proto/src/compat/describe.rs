//! From file descriptors to a [`Snapshot`].

use std::collections::BTreeMap;

use prost_types::field_descriptor_proto::{Label as ProtoLabel, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet,
    ServiceDescriptorProto,
};

use super::{Enum, Field, Label, Message, Method, Reserved, Service, Snapshot, Stream};

/// The highest field number; a message's `reserved N to max` ends there.
pub(super) const MAX_FIELD_NUMBER: i32 = 536_870_911;

/// The highest enum value; an enum's `reserved N to max` ends there.
pub(super) const MAX_ENUM_NUMBER: i32 = i32::MAX;

pub(super) fn snapshot(set: &FileDescriptorSet, package: &str) -> Snapshot {
    let mut maps = BTreeMap::new();
    for file in &set.file {
        let prefix = file.package().to_string();
        for message in &file.message_type {
            map_entries(&prefix, message, &mut maps);
        }
    }
    let mut snapshot = Snapshot {
        package: package.to_string(),
        ..Snapshot::default()
    };
    for file in set.file.iter().filter(|f| f.package() == package) {
        let proto3 = file.syntax() == "proto3";
        for message in &file.message_type {
            add_message(&mut snapshot, package, message, proto3, &maps);
        }
        for e in &file.enum_type {
            add_enum(&mut snapshot, package, e);
        }
        for service in &file.service {
            add_service(&mut snapshot, package, service);
        }
    }
    snapshot
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A type reference as written in descriptors (`.warren.node.v1.Exit`), without its dot.
fn type_name(name: &str) -> String {
    name.trim_start_matches('.').to_string()
}

/// The synthetic entry messages of map fields, by full name: their `map<K, V>`.
fn map_entries(prefix: &str, message: &DescriptorProto, out: &mut BTreeMap<String, String>) {
    let name = join(prefix, message.name());
    if message.options.as_ref().is_some_and(|o| o.map_entry()) {
        let part = |number| {
            message
                .field
                .iter()
                .find(|f| f.number() == number)
                .map(field_type_name)
                .unwrap_or_default()
        };
        out.insert(name.clone(), format!("map<{}, {}>", part(1), part(2)));
    }
    for nested in &message.nested_type {
        map_entries(&name, nested, out);
    }
}

fn add_message(
    snapshot: &mut Snapshot,
    prefix: &str,
    message: &DescriptorProto,
    proto3: bool,
    maps: &BTreeMap<String, String>,
) {
    let name = join(prefix, message.name());
    if maps.contains_key(&name) {
        return;
    }
    let mut fields: Vec<Field> = message
        .field
        .iter()
        .map(|f| field(message, f, proto3, maps))
        .collect();
    fields.sort_by_key(|f| f.number);
    let ranges = message
        .reserved_range
        .iter()
        // Message ranges end exclusively; shown inclusively, as in a .proto file.
        .map(|r| (r.start(), r.end().saturating_sub(1)))
        .collect();
    let reserved = reserved(ranges, &message.reserved_name);
    for nested in &message.nested_type {
        add_message(snapshot, &name, nested, proto3, maps);
    }
    for e in &message.enum_type {
        add_enum(snapshot, &name, e);
    }
    snapshot.messages.insert(name, Message { fields, reserved });
}

fn field(
    message: &DescriptorProto,
    f: &FieldDescriptorProto,
    proto3: bool,
    maps: &BTreeMap<String, String>,
) -> Field {
    let synthetic = f.proto3_optional();
    let label = match f.label() {
        ProtoLabel::Repeated => Label::Repeated,
        ProtoLabel::Required => Label::Required,
        ProtoLabel::Optional if synthetic || !proto3 => Label::Optional,
        ProtoLabel::Optional => Label::Singular,
    };
    let ty = field_type_name(f);
    let ty = maps.get(&ty).cloned().unwrap_or(ty);
    let oneof = match f.oneof_index {
        Some(i) if !synthetic => usize::try_from(i)
            .ok()
            .and_then(|i| message.oneof_decl.get(i))
            .map(|o| o.name().to_string()),
        _ => None,
    };
    Field {
        number: f.number(),
        name: f.name().to_string(),
        label,
        ty,
        oneof,
    }
}

/// A scalar's keyword, or the full name of a message, enum or group.
fn field_type_name(f: &FieldDescriptorProto) -> String {
    match scalar_keyword(f.r#type()) {
        Some(k) => k.to_string(),
        None => type_name(f.type_name()),
    }
}

/// The keyword of a scalar type (`int64`, `string`, ...); `None` for a message, enum or group.
pub(super) fn scalar_keyword(t: Type) -> Option<&'static str> {
    Some(match t {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
        Type::Group | Type::Message | Type::Enum => return None,
    })
}

fn add_enum(snapshot: &mut Snapshot, prefix: &str, e: &EnumDescriptorProto) {
    let mut values: Vec<(i32, String)> = e
        .value
        .iter()
        .map(|v| (v.number(), v.name().to_string()))
        .collect();
    values.sort();
    // Enum ranges end inclusively already.
    let ranges = e
        .reserved_range
        .iter()
        .map(|r| (r.start(), r.end()))
        .collect();
    let reserved = reserved(ranges, &e.reserved_name);
    snapshot
        .enums
        .insert(join(prefix, e.name()), Enum { values, reserved });
}

fn reserved(mut ranges: Vec<(i32, i32)>, names: &[String]) -> Reserved {
    ranges.sort();
    let mut names = names.to_vec();
    names.sort();
    Reserved { ranges, names }
}

fn add_service(snapshot: &mut Snapshot, prefix: &str, service: &ServiceDescriptorProto) {
    let methods = service
        .method
        .iter()
        .map(|m| {
            let method = Method {
                input: Stream {
                    streaming: m.client_streaming(),
                    ty: type_name(m.input_type()),
                },
                output: Stream {
                    streaming: m.server_streaming(),
                    ty: type_name(m.output_type()),
                },
            };
            (m.name().to_string(), method)
        })
        .collect();
    snapshot
        .services
        .insert(join(prefix, service.name()), Service { methods });
}
