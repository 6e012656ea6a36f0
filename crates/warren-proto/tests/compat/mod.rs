//! Small in-memory descriptor sets for the compatibility check's own tests: one proto3 file in
//! package `test.v1` with a message that has every kind of field, an enum and a service.

use prost_types::descriptor_proto::ReservedRange;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto,
    FileDescriptorProto, FileDescriptorSet, MessageOptions, MethodDescriptorProto,
    OneofDescriptorProto, ServiceDescriptorProto,
};

pub(crate) const PACKAGE: &str = "test.v1";

/// A singular scalar field.
pub(crate) fn field(name: &str, number: i32, ty: Type) -> FieldDescriptorProto {
    FieldDescriptorProto {
        name: Some(name.into()),
        number: Some(number),
        label: Some(Label::Optional as i32),
        r#type: Some(ty as i32),
        ..Default::default()
    }
}

/// A field of a message or enum type (`full_name` without the leading dot).
pub(crate) fn typed(name: &str, number: i32, ty: Type, full_name: &str) -> FieldDescriptorProto {
    FieldDescriptorProto {
        type_name: Some(format!(".{full_name}")),
        ..field(name, number, ty)
    }
}

pub(crate) fn repeated(mut f: FieldDescriptorProto) -> FieldDescriptorProto {
    f.label = Some(Label::Repeated as i32);
    f
}

pub(crate) fn in_oneof(mut f: FieldDescriptorProto, index: i32) -> FieldDescriptorProto {
    f.oneof_index = Some(index);
    f
}

pub(crate) fn message(name: &str, fields: Vec<FieldDescriptorProto>) -> DescriptorProto {
    DescriptorProto {
        name: Some(name.into()),
        field: fields,
        ..Default::default()
    }
}

pub(crate) fn enumeration(name: &str, values: &[(&str, i32)]) -> EnumDescriptorProto {
    EnumDescriptorProto {
        name: Some(name.into()),
        value: values
            .iter()
            .map(|&(name, number)| EnumValueDescriptorProto {
                name: Some(name.into()),
                number: Some(number),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// A method of `test.v1` types, streaming its response if `server_streaming`.
pub(crate) fn method(
    name: &str,
    input: &str,
    output: &str,
    server_streaming: bool,
) -> MethodDescriptorProto {
    MethodDescriptorProto {
        name: Some(name.into()),
        input_type: Some(format!(".{PACKAGE}.{input}")),
        output_type: Some(format!(".{PACKAGE}.{output}")),
        client_streaming: Some(false),
        server_streaming: Some(server_streaming),
        ..Default::default()
    }
}

/// Reserve a field number and a field name in a message.
pub(crate) fn reserve(message: &mut DescriptorProto, number: i32, name: &str) {
    message.reserved_range.push(ReservedRange {
        start: Some(number),
        end: Some(number + 1),
    });
    message.reserved_name.push(name.into());
}

/// `message Spec` with plain, repeated, oneof, map and proto3-optional fields.
fn spec() -> DescriptorProto {
    let entry = DescriptorProto {
        options: Some(MessageOptions {
            map_entry: Some(true),
            ..Default::default()
        }),
        ..message(
            "LabelsEntry",
            vec![
                field("key", 1, Type::String),
                field("value", 2, Type::String),
            ],
        )
    };
    let mut limit = in_oneof(field("limit", 7, Type::Int32), 1);
    limit.proto3_optional = Some(true);
    let oneof = |name: &str| OneofDescriptorProto {
        name: Some(name.into()),
        ..Default::default()
    };
    DescriptorProto {
        nested_type: vec![entry],
        oneof_decl: vec![oneof("source"), oneof("_limit")],
        ..message(
            "Spec",
            vec![
                field("id", 1, Type::String),
                field("image", 2, Type::String),
                repeated(field("args", 3, Type::String)),
                in_oneof(field("path", 4, Type::String), 0),
                in_oneof(field("data", 5, Type::Bytes), 0),
                repeated(typed(
                    "labels",
                    6,
                    Type::Message,
                    "test.v1.Spec.LabelsEntry",
                )),
                limit,
                typed("state", 8, Type::Enum, "test.v1.State"),
            ],
        )
    }
}

/// The file every small test starts from.
pub(crate) fn file() -> FileDescriptorProto {
    FileDescriptorProto {
        name: Some("test/v1/test.proto".into()),
        package: Some(PACKAGE.into()),
        syntax: Some("proto3".into()),
        message_type: vec![spec(), message("Empty", vec![])],
        enum_type: vec![enumeration(
            "State",
            &[("STATE_UNKNOWN", 0), ("RUNNING", 1), ("STOPPED", 2)],
        )],
        service: vec![ServiceDescriptorProto {
            name: Some("Api".into()),
            method: vec![
                method("Create", "Spec", "Empty", false),
                method("Watch", "Empty", "Spec", true),
            ],
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub(crate) fn set(file: FileDescriptorProto) -> FileDescriptorSet {
    FileDescriptorSet { file: vec![file] }
}

/// The message of `file` named `name`.
pub(crate) fn message_mut<'a>(
    file: &'a mut FileDescriptorProto,
    name: &str,
) -> &'a mut DescriptorProto {
    file.message_type
        .iter_mut()
        .find(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no message {name}"))
}

/// The field of `message` named `name`.
pub(crate) fn field_mut<'a>(
    message: &'a mut DescriptorProto,
    name: &str,
) -> &'a mut FieldDescriptorProto {
    message
        .field
        .iter_mut()
        .find(|f| f.name() == name)
        .unwrap_or_else(|| panic!("no field {name}"))
}
