//! The unit tests of `cargo xtask modules`.

use super::*;

use super::graph::strongly_connected;
use super::render::module_name;
use super::tree::Crate;

/// Load a crate rooted at `src/lib.rs` from in-memory files.
fn krate(files: &[(&str, &str)]) -> Crate {
    let files: BTreeMap<PathBuf, String> = files
        .iter()
        .map(|(p, s)| (PathBuf::from(p), s.to_string()))
        .collect();
    load(Path::new("src/lib.rs"), &|p| files.get(p).cloned()).expect("the crate loads")
}

/// The cycles of a crate, each as `parent: {members}` with its edges `a->b`.
fn cycle_names(files: &[(&str, &str)]) -> Vec<String> {
    let references = krate(files).references();
    cycles(&references)
        .iter()
        .map(|c| {
            let edges: Vec<String> = c
                .edges
                .iter()
                .map(|e| format!("{}->{}", e.from, e.to))
                .collect();
            format!(
                "{}: {{{}}} [{}]",
                module_name(&c.parent),
                c.members.join(", "),
                edges.join(" ")
            )
        })
        .collect()
}

/// Every reference as `from -> to (path)`.
fn reference_names(files: &[(&str, &str)]) -> Vec<String> {
    krate(files)
        .references()
        .iter()
        .map(|r| {
            format!(
                "{} -> {} ({})",
                module_name(&r.from),
                module_name(&r.to),
                r.path
            )
        })
        .collect()
}

#[test]
fn a_two_cycle_is_found_with_an_example_per_edge() {
    let files = [
        ("src/lib.rs", "mod a;\nmod b;\n"),
        ("src/a.rs", "use crate::b::B;\npub struct A(B);\n"),
        (
            "src/b.rs",
            "pub struct B;\n\npub fn f() -> Option<crate::a::A> {\n    None\n}\n",
        ),
    ];
    assert_eq!(cycle_names(&files), ["crate: {a, b} [a->b b->a]"]);
    let krate = krate(&files);
    let references = krate.references();
    let cycles = cycles(&references);
    let back = &cycles[0].edges[1].references[0];
    assert_eq!(
        (back.file.as_path(), back.line, back.path.as_str()),
        (Path::new("src/b.rs"), 3, "crate::a::A")
    );
}

#[test]
fn a_chain_is_not_a_cycle() {
    let files = [
        ("src/lib.rs", "mod a;\nmod b;\nmod c;\n"),
        ("src/a.rs", "use crate::b::B;\n"),
        ("src/b.rs", "pub struct B(crate::c::C);\n"),
        ("src/c.rs", "pub struct C;\n"),
    ];
    assert!(cycle_names(&files).is_empty());
    assert_eq!(
        reference_names(&files),
        ["a -> b (crate::b::B)", "b -> c (crate::c::C)"]
    );
}

#[test]
fn a_cycle_of_three_is_one_component() {
    let files = [
        ("src/lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n"),
        ("src/a.rs", "use crate::b::B;\n"),
        ("src/b.rs", "use crate::c::C;\n"),
        ("src/c.rs", "use crate::a::A;\nuse crate::d::D;\n"),
        ("src/d.rs", "pub struct D;\n"),
    ];
    assert_eq!(cycle_names(&files), ["crate: {a, b, c} [a->b b->c c->a]"]);
}

#[test]
fn super_resolves_against_the_module_position() {
    let files = [
        ("src/lib.rs", "mod p;\nmod q;\n"),
        ("src/p/mod.rs", "mod x;\nmod y;\n"),
        ("src/p/x.rs", "use super::y::Y;\npub fn g() {}\n"),
        (
            "src/p/y.rs",
            "pub struct Y;\nfn f() {\n    super::x::g();\n    super::super::q::h();\n}\n",
        ),
        ("src/q.rs", "pub fn h() {}\n"),
    ];
    assert_eq!(cycle_names(&files), ["p: {x, y} [x->y y->x]"]);
    assert_eq!(
        reference_names(&files),
        [
            "p::x -> p::y (super::y::Y)",
            "p::y -> p::x (super::x::g)",
            "p::y -> q (super::super::q::h)",
        ]
    );
}

#[test]
fn a_child_using_its_parent_is_not_a_cycle() {
    let files = [
        ("src/lib.rs", "mod p;\n"),
        ("src/p.rs", "mod x;\npub struct Shared;\nuse self::x::X;\n"),
        (
            "src/p/x.rs",
            "use super::Shared;\npub struct X(crate::p::Shared);\n",
        ),
    ];
    assert!(cycle_names(&files).is_empty());
    assert_eq!(reference_names(&files).len(), 3);
}

#[test]
fn test_only_modules_and_items_do_not_count() {
    let files = [
        ("src/lib.rs", "mod a;\nmod b;\n#[cfg(test)]\nmod tests;\n"),
        ("src/a.rs", "use crate::b::B;\npub struct A;\n"),
        (
            "src/b.rs",
            "pub struct B;\n\
             #[cfg(test)]\nuse crate::a::A;\n\
             #[cfg(all(test, unix))]\nfn helper() { crate::a::A; }\n\
             impl B {\n    #[cfg(test)]\n    fn t() -> crate::a::A { A }\n}\n\
             #[cfg(test)]\nmod tests {\n    use crate::a::A;\n}\n",
        ),
        // Not read: a test module's file does not have to exist.
    ];
    assert!(cycle_names(&files).is_empty());
    assert_eq!(krate(&files).modules.len(), 3);
    assert!(krate(&files).warnings.is_empty());
    // `not(test)` and `any(test, feature)` hold outside tests: they count.
    let files = [
        ("src/lib.rs", "mod a;\nmod b;\n"),
        ("src/a.rs", "use crate::b::B;\n"),
        (
            "src/b.rs",
            "#[cfg(not(test))]\nuse crate::a::A;\n#[cfg(any(test, feature = \"x\"))]\nuse crate::a::Z;\n",
        ),
    ];
    assert_eq!(cycle_names(&files), ["crate: {a, b} [a->b b->a]"]);
}

#[test]
fn nested_use_trees_name_each_leaf() {
    let files = [
        ("src/lib.rs", "mod a;\nmod b;\nmod d;\n"),
        (
            "src/a.rs",
            "use crate::{b::{c::C, self as bee}, d};\nuse crate::b::c::{self};\nuse crate::d::*;\n",
        ),
        ("src/b/mod.rs", "pub mod c;\n"),
        ("src/b/c.rs", "pub struct C;\n"),
        ("src/d.rs", "pub fn e() {}\n"),
    ];
    assert_eq!(
        reference_names(&files),
        [
            "a -> b::c (crate::b::c::C)",
            "a -> b (crate::b)",
            "a -> d (crate::d)",
            "a -> b::c (crate::b::c)",
            "a -> d (crate::d)",
        ]
    );
}

#[test]
fn a_subtree_depends_on_another_through_its_descendants() {
    let files = [
        ("src/lib.rs", "mod containers;\nmod network;\n"),
        ("src/containers/mod.rs", "mod create;\n"),
        (
            "src/containers/create.rs",
            "fn f() { crate::network::bridge::attach(); }\npub(crate) fn check_id() {}\n",
        ),
        ("src/network/mod.rs", "pub mod bridge;\n"),
        (
            "src/network/bridge.rs",
            "use crate::containers::create::check_id;\npub fn attach() {}\n",
        ),
    ];
    assert_eq!(
        cycle_names(&files),
        ["crate: {containers, network} [containers->network network->containers]"]
    );
}

#[test]
fn re_exports_are_followed_on_request_and_module_aliases_always() {
    let files = [
        (
            "src/lib.rs",
            "mod error;\nmod a;\nmod b;\npub use error::Error;\n",
        ),
        ("src/error.rs", "pub struct Error(crate::a::Kind);\n"),
        // `crate::Error` is error's; `b::f` goes through the `use` of module b.
        (
            "src/a.rs",
            "use crate::b;\npub struct Kind;\nfn g() -> crate::Error { b::f() }\n",
        ),
        ("src/b.rs", "pub fn f() {}\n"),
    ];
    // As written, `crate::Error` is the root's: no cycle; a module alias counts.
    assert!(cycle_names(&files).is_empty());
    assert!(reference_names(&files).contains(&"a -> b (b::f)".to_string()));
    // Through the re-export it is error's.
    let mut krate = krate(&files);
    krate.follow_reexports = true;
    let references = krate.references();
    let cycles = cycles(&references);
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].members, ["a", "error"]);
    assert!(references
        .iter()
        .any(|r| r.path == "crate::Error" && r.to == ["error"]));
}

#[test]
fn glob_imports_provide_names() {
    let files = [
        ("src/lib.rs", "mod p;\n"),
        ("src/p/mod.rs", "mod x;\nmod y;\npub use y::Thing;\n"),
        (
            "src/p/x.rs",
            "use super::*;\nfn f() { y::g(); let _ = Thing::new(); }\n",
        ),
        (
            "src/p/y.rs",
            "pub struct Thing;\npub fn g() { super::x::h(); }\n",
        ),
    ];
    assert_eq!(cycle_names(&files), ["p: {x, y} [x->y y->x]"]);
    let names = reference_names(&files);
    assert!(
        names.contains(&"p::x -> p::y (y::g)".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"p::x -> p::y (Thing::new)".to_string()),
        "{names:?}"
    );
}

#[test]
fn inline_modules_path_attributes_and_macros() {
    let files = [
        (
            "src/lib.rs",
            "mod outer {\n    pub mod inner;\n    #[path = \"elsewhere.rs\"]\n    pub mod moved;\n}\n#[path = \"other/renamed.rs\"]\nmod r;\n",
        ),
        ("src/outer/inner.rs", "fn f() { println!(\"{}\", super::moved::X); }\n"),
        ("src/outer/elsewhere.rs", "pub const X: u8 = 1;\nuse super::inner;\n"),
        ("src/other/renamed.rs", "macro_rules! m { () => { $crate::outer::inner::f() } }\n"),
    ];
    let krate = krate(&files);
    let modules: Vec<String> = krate.modules.keys().map(|m| module_name(m)).collect();
    assert_eq!(
        modules,
        ["crate", "outer", "outer::inner", "outer::moved", "r"]
    );
    assert!(krate.warnings.is_empty(), "{:?}", krate.warnings);
    assert_eq!(
        cycle_names(&files),
        ["outer: {inner, moved} [inner->moved moved->inner]"]
    );
    assert!(
        reference_names(&files).contains(&"r -> outer::inner (crate::outer::inner::f)".to_string())
    );
}

#[test]
fn other_crates_locals_and_type_parameters_are_not_references() {
    let files = [
        ("src/lib.rs", "mod a;\nmod b;\n"),
        (
            "src/a.rs",
            "use std::io;\nuse ::b::x;\nfn f<T: Default>() -> io::Result<T> { let b = 1; Ok(T::default()) }\n",
        ),
        ("src/b.rs", "use crate::a;\n"),
    ];
    assert!(cycle_names(&files).is_empty());
    assert_eq!(reference_names(&files), ["b -> a (crate::a)"]);
}

#[test]
fn a_missing_module_file_is_a_warning() {
    let krate = krate(&[("src/lib.rs", "mod gone;\n")]);
    assert_eq!(krate.modules.len(), 2);
    assert_eq!(krate.warnings.len(), 1);
    assert!(krate.warnings[0].contains("`mod gone;`"));
}

#[test]
fn tarjan_finds_components() {
    // 0 -> 1 -> 2 -> 0, 2 -> 3, 3 -> 4 -> 3, 5 alone
    let adjacent = vec![vec![1], vec![2], vec![0, 3], vec![4], vec![3], vec![]];
    let mut components = strongly_connected(&adjacent);
    components.sort();
    assert_eq!(components, [vec![0, 1, 2], vec![3, 4], vec![5]]);
}

#[test]
fn the_workspace_crates_load() {
    let ws = crate::workspace();
    let targets = targets(&ws).expect("the targets");
    assert!(targets
        .iter()
        .any(|t| t.package == "warren-runtime" && t.bin.is_none()));
    assert!(targets
        .iter()
        .any(|t| t.package == "warrend" && t.bin.is_some()));
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    for target in &targets {
        let krate = load(&target.root, &read).expect("the crate loads");
        assert!(
            krate.warnings.is_empty(),
            "{}: {:?}",
            target.label(),
            krate.warnings
        );
    }
}
