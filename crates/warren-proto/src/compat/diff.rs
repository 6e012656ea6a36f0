//! The breaking changes between two snapshots.

use super::describe::{MAX_ENUM_NUMBER, MAX_FIELD_NUMBER};
use super::{Enum, Field, Message, Reserved, Service, Snapshot};

/// Every change from `old` to `new` that breaks a client built against `old`, one readable
/// line each (`field warren.node.v1.ContainerSpec.image: number 2 -> 3`), in the order of the
/// elements' names; empty if `new` is compatible.
///
/// Breaking: a message, enum, service or method removed; a field removed (unless `new`
/// reserves both its number and its name), renumbered, renamed (the wire does not mind, JSON
/// and generated code do), retyped, or given another label (singular, optional, repeated) or
/// oneof; an enum value removed (unless both its number and name are reserved), renumbered or
/// renamed; a method's request or response type or streaming changed; a reserved number or
/// name no longer reserved. Additions of any kind are not breaking.
pub fn breaking_changes(old: &Snapshot, new: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for (name, message) in &old.messages {
        match new.messages.get(name) {
            Some(now) => messages(name, message, now, &mut out),
            None => out.push(format!("message {name}: removed")),
        }
    }
    for (name, e) in &old.enums {
        match new.enums.get(name) {
            Some(now) => enums(name, e, now, &mut out),
            None => out.push(format!("enum {name}: removed")),
        }
    }
    for (name, service) in &old.services {
        match new.services.get(name) {
            Some(now) => services(name, service, now, &mut out),
            None => out.push(format!("service {name}: removed")),
        }
    }
    out
}

fn messages(name: &str, old: &Message, new: &Message, out: &mut Vec<String>) {
    for f in &old.fields {
        let element = format!("field {name}.{}", f.name);
        let by_name = new.fields.iter().find(|g| g.name == f.name);
        // A field now under this number whose name the old message did not have: a rename.
        let by_number = new
            .fields
            .iter()
            .find(|g| g.number == f.number && !old.fields.iter().any(|o| o.name == g.name));
        match (by_name, by_number) {
            (Some(g), _) => {
                if g.number != f.number {
                    out.push(format!("{element}: number {} -> {}", f.number, g.number));
                }
                shape(&element, f, g, out);
            }
            (None, Some(g)) => {
                out.push(format!(
                    "{element}: renamed to {} (number {})",
                    g.name, f.number
                ));
                shape(&element, f, g, out);
            }
            (None, None) if retired(&new.reserved, f.number, &f.name) => {}
            (None, None) => out.push(format!(
                "{element}: removed (number {}; to retire a field, reserve its number and its \
                 name)",
                f.number
            )),
        }
    }
    reservations(
        &format!("message {name}"),
        &old.reserved,
        &new.reserved,
        MAX_FIELD_NUMBER,
        out,
    );
}

/// What a field is besides its number and name: type, label, oneof.
fn shape(element: &str, old: &Field, new: &Field, out: &mut Vec<String>) {
    if old.ty != new.ty {
        out.push(format!("{element}: type {} -> {}", old.ty, new.ty));
    }
    if old.label != new.label {
        out.push(format!("{element}: label {} -> {}", old.label, new.label));
    }
    if old.oneof != new.oneof {
        let oneof = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
        out.push(format!(
            "{element}: oneof {} -> {}",
            oneof(&old.oneof),
            oneof(&new.oneof)
        ));
    }
}

fn retired(reserved: &Reserved, number: i32, name: &str) -> bool {
    reserved.has_number(number) && reserved.has_name(name)
}

fn enums(name: &str, old: &Enum, new: &Enum, out: &mut Vec<String>) {
    let known = |value: &str| old.values.iter().any(|(_, v)| v == value);
    for (number, value) in &old.values {
        let element = format!("enum value {name}.{value}");
        let by_name = new.values.iter().find(|(_, v)| v == value);
        let by_number = new.values.iter().find(|(n, v)| n == number && !known(v));
        match (by_name, by_number) {
            (Some((now, _)), _) if now != number => {
                out.push(format!("{element}: number {number} -> {now}"));
            }
            (Some(_), _) => {}
            (None, Some((_, now))) => {
                out.push(format!("{element}: renamed to {now} (number {number})"));
            }
            (None, None) if retired(&new.reserved, *number, value) => {}
            (None, None) => out.push(format!(
                "{element}: removed (number {number}; to retire a value, reserve its number and \
                 its name)"
            )),
        }
    }
    reservations(
        &format!("enum {name}"),
        &old.reserved,
        &new.reserved,
        MAX_ENUM_NUMBER,
        out,
    );
}

fn reservations(element: &str, old: &Reserved, new: &Reserved, max: i32, out: &mut Vec<String>) {
    for &(lo, hi) in &old.ranges {
        if !new.covers(lo, hi) {
            let range = Reserved::range_text(lo, hi, max);
            out.push(format!("{element}: reserved {range} no longer reserved"));
        }
    }
    for name in &old.names {
        if !new.has_name(name) {
            out.push(format!("{element}: reserved \"{name}\" no longer reserved"));
        }
    }
}

fn services(name: &str, old: &Service, new: &Service, out: &mut Vec<String>) {
    for (method, m) in &old.methods {
        let element = format!("method {name}.{method}");
        let Some(now) = new.methods.get(method) else {
            out.push(format!("{element}: removed"));
            continue;
        };
        if m.input != now.input {
            out.push(format!("{element}: request {} -> {}", m.input, now.input));
        }
        if m.output != now.output {
            out.push(format!(
                "{element}: response {} -> {}",
                m.output, now.output
            ));
        }
    }
}
