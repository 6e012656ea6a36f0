//! `cargo xtask modules [--crate NAME]... [--deny] [--follow-reexports] [--verbose]`: dependency
//! cycles between the modules of each crate under `crates/`.
//!
//! Why: two sibling modules that each use the other can be read, tested and moved only
//! together, and nothing in the compiler objects when a convenient `use` closes such a loop.
//! `cargo modules dependencies --acyclic` finds them, but cargo-modules builds rust-analyzer,
//! which is too heavy to install here; this is the same kind of check, on `syn`, that anyone
//! can run.
//!
//! What it reads: from each target's root (`src/lib.rs`, `src/main.rs`, `src/bin/*.rs`, or the
//! paths the manifest gives) it follows `mod x;` to `x.rs` or `x/mod.rs` (or a `#[path]`) and
//! into inline `mod x { .. }` blocks. An item under a `#[cfg(test)]` (a test module, a test
//! helper, a test-only `use`) is skipped with everything inside it, so what only the tests use
//! does not count. `include!`d code (warren-proto's generated bindings) is opaque.
//!
//! What counts as a reference: every leaf of a `use` tree and every path of two or more
//! segments in an expression, type, pattern or macro argument that names a module of the same
//! crate: through `crate::`, `super::`, `self::`, a child module, or a name a `use` (or a glob)
//! brought into scope. A path resolves to the deepest module it names: `crate::a::b::Item` is a
//! use of `a::b`, and `crate::Error` one of the crate root. With `--follow-reexports` an item a
//! module re-exports is followed to the module the re-export names (`crate::Error` is then a use
//! of `error` when the root says `pub use error::Error`), which also finds the cycles a
//! re-export hides.
//!
//! What is a cycle: for every module P, child A depends on child B when anything in A's subtree
//! references anything in B's subtree; each strongly connected component of more than one of
//! P's children is a cycle, printed with every edge inside it and one example reference per
//! edge (file:line and the path), so that one can see what to move. A child using its parent's
//! items (`super::X`) is normal and not a cycle; only siblings can form one.
//!
//! Limits: this reads source and does not expand macros or infer types: a method called on a
//! value of a type from another module is not a reference (the `use` or path that named the
//! type is), and paths inside macro arguments are found by their tokens.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Attribute, ImplItem, Item, Meta, Token, TraitItem, UseTree};

/// A module's place in its crate: the names from the crate root down (empty: the root).
type ModPath = Vec<String>;

/// Reads a source file; `None` when there is none at that path.
type Read<'a> = &'a dyn Fn(&Path) -> Option<String>;

/// How many imports a path is followed through before giving up (re-export loops).
const MAX_HOPS: u32 = 16;

/// Check the crates under `crates/` (or the ones named), print their cycles and a summary,
/// and return how many cycles there are.
pub fn run(ws: &Path, only: &[String], follow_reexports: bool, verbose: bool) -> Result<usize> {
    let mut targets = targets(ws)?;
    if !only.is_empty() {
        let known: BTreeSet<&str> = targets.iter().map(|t| t.package.as_str()).collect();
        if let Some(unknown) = only.iter().find(|n| !known.contains(n.as_str())) {
            let known: Vec<&str> = known.into_iter().collect();
            bail!(
                "no crate {unknown} under crates/ (there are: {})",
                known.join(", ")
            );
        }
        targets.retain(|t| only.contains(&t.package));
    }
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let mut per_crate: BTreeMap<&str, usize> = BTreeMap::new();
    for target in &targets {
        let mut krate = load(&target.root, &read)?;
        krate.follow_reexports = follow_reexports;
        let references = krate.references();
        let cycles = cycles(&references);
        print!(
            "{}",
            render(target, ws, &krate, references.len(), &cycles, verbose)
        );
        *per_crate.entry(target.package.as_str()).or_default() += cycles.len();
    }
    let total: usize = per_crate.values().sum();
    let with: Vec<String> = per_crate
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    let without: Vec<&str> = per_crate
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(c, _)| *c)
        .collect();
    let mut summary = format!("summary: {total} module cycle{}", plural(total));
    if !with.is_empty() {
        let _ = write!(summary, " ({})", with.join(", "));
    }
    if !without.is_empty() {
        let _ = write!(summary, "; no cycles in {}", without.join(", "));
    }
    println!("{summary}");
    Ok(total)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// One crate target: a library or a binary, and its root file.
struct Target {
    package: String,
    /// `None` for the library, else the binary's name.
    bin: Option<String>,
    root: PathBuf,
}

impl Target {
    fn label(&self) -> String {
        match &self.bin {
            None => format!("{} (lib)", self.package),
            Some(bin) if *bin == self.package => format!("{} (bin)", self.package),
            Some(bin) => format!("{} (bin {bin})", self.package),
        }
    }
}

/// The library and binary targets of every package under `crates/`: the manifest's `[lib]`
/// and `[[bin]]` paths, else `src/lib.rs`, `src/main.rs`, `src/bin/*.rs`, `src/bin/*/main.rs`.
fn targets(ws: &Path) -> Result<Vec<Target>> {
    let crates = ws.join("crates");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&crates)
        .with_context(|| format!("listing {}", crates.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|d| d.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    let mut targets = Vec::new();
    for dir in dirs {
        let manifest_path = dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let manifest: toml::Value = toml::from_str(&text)
            .with_context(|| format!("parsing {}", manifest_path.display()))?;
        let package = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
            .with_context(|| format!("{} has no package name", manifest_path.display()))?
            .to_string();
        let mut found: Vec<(Option<String>, PathBuf)> = Vec::new();
        let lib = manifest
            .get("lib")
            .and_then(|l| l.get("path"))
            .and_then(toml::Value::as_str)
            .map_or_else(|| dir.join("src/lib.rs"), |p| dir.join(p));
        if lib.is_file() {
            found.push((None, lib));
        }
        for bin in manifest
            .get("bin")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(name), Some(path)) = (
                bin.get("name").and_then(toml::Value::as_str),
                bin.get("path").and_then(toml::Value::as_str),
            ) {
                found.push((Some(name.to_string()), dir.join(path)));
            }
        }
        if dir.join("src/main.rs").is_file() {
            found.push((Some(package.clone()), dir.join("src/main.rs")));
        }
        let mut bins: Vec<PathBuf> = std::fs::read_dir(dir.join("src/bin"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        bins.sort();
        for path in bins {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            if path.extension().is_some_and(|e| e == "rs") {
                found.push((name, path));
            } else if path.join("main.rs").is_file() {
                found.push((name, path.join("main.rs")));
            }
        }
        for (bin, root) in found {
            if !targets.iter().any(|t: &Target| t.root == root) {
                targets.push(Target {
                    package: package.clone(),
                    bin,
                    root,
                });
            }
        }
    }
    Ok(targets)
}

/// One module: where it is and what its source names.
#[derive(Default)]
struct Module {
    /// The file its items are in (an inline module's is its parent's file).
    file: PathBuf,
    /// Its child modules, `#[cfg(test)]` ones left out.
    children: BTreeSet<String>,
    /// The names of the other items it defines (functions, types, constants, macros...).
    defined: BTreeSet<String>,
    /// What its `use` declarations bring into scope: the name and the path, as written.
    imports: BTreeMap<String, Vec<String>>,
    /// The paths of its `use x::*` declarations, as written.
    globs: Vec<Vec<String>>,
    /// Every `use` leaf and every path of two or more segments, with its line.
    paths: Vec<(Vec<String>, usize)>,
}

/// A crate's module tree.
struct Crate {
    modules: BTreeMap<ModPath, Module>,
    /// The modules each module's globs import from (resolved once, after loading).
    glob_targets: BTreeMap<ModPath, Vec<ModPath>>,
    /// `mod x;` declarations whose file is not there.
    warnings: Vec<String>,
    /// Whether `a::Item` counts as a use of `a`, as written (the default), or of the module
    /// `a` re-exports `Item` from.
    follow_reexports: bool,
}

/// A path in module `from` that names module `to` (not `from` itself).
#[derive(Clone, Debug)]
struct Reference {
    from: ModPath,
    to: ModPath,
    file: PathBuf,
    line: usize,
    /// The path as written (a `use` leaf with its prefix).
    path: String,
}

/// Load the module tree of the crate whose root file is `root`.
fn load(root: &Path, read: Read<'_>) -> Result<Crate> {
    let source = read(root).with_context(|| format!("reading {}", root.display()))?;
    let mut loader = Loader {
        read,
        krate: Crate {
            modules: BTreeMap::new(),
            glob_targets: BTreeMap::new(),
            warnings: Vec::new(),
            follow_reexports: false,
        },
    };
    let dir = root.parent().unwrap_or(Path::new("")).to_path_buf();
    loader.file(Vec::new(), root, &source, &dir)?;
    let mut krate = loader.krate;
    let mut glob_targets = BTreeMap::new();
    for (at, module) in &krate.modules {
        let targets: Vec<ModPath> = module
            .globs
            .iter()
            .filter_map(|g| krate.resolve(at, g, 0))
            .filter(|g| g != at)
            .collect();
        if !targets.is_empty() {
            glob_targets.insert(at.clone(), targets);
        }
    }
    krate.glob_targets = glob_targets;
    Ok(krate)
}

struct Loader<'a> {
    read: Read<'a>,
    krate: Crate,
}

impl Loader<'_> {
    /// A module whose items are the file's; its `mod x;` files are looked for in `child_dir`.
    fn file(&mut self, path: ModPath, file: &Path, source: &str, child_dir: &Path) -> Result<()> {
        let ast = syn::parse_file(source).with_context(|| format!("parsing {}", file.display()))?;
        self.items(path, file, child_dir, false, &ast.items)
    }

    /// A module made of `items` (in `file`; `inline` if they are in a `mod x { .. }` block).
    fn items(
        &mut self,
        path: ModPath,
        file: &Path,
        child_dir: &Path,
        inline: bool,
        items: &[Item],
    ) -> Result<()> {
        let mut module = Module {
            file: file.to_path_buf(),
            ..Module::default()
        };
        let mut collector = Collector::default();
        let mut mods = Vec::new();
        for item in items {
            if is_test_only(item_attrs(item)) {
                continue;
            }
            if let Item::Mod(m) = item {
                module.children.insert(m.ident.to_string());
                mods.push(m);
                continue;
            }
            if let Some(name) = defined_name(item) {
                module.defined.insert(name);
            }
            collector.visit_item(item);
        }
        module.imports = collector.imports;
        module.globs = collector.globs;
        module.paths = collector.paths;
        self.krate.modules.insert(path.clone(), module);

        for m in mods {
            let name = m.ident.to_string();
            let mut child = path.clone();
            child.push(name.clone());
            let dir = child_dir.join(&name);
            if let Some((_, items)) = &m.content {
                self.items(child, file, &dir, true, items)?;
                continue;
            }
            let (candidates, via_path) = match path_attr(&m.attrs) {
                Some(p) => {
                    // Outside inline blocks `#[path]` is relative to the file's folder, inside
                    // them to the folder the inline modules stand for.
                    let base = if inline {
                        child_dir.to_path_buf()
                    } else {
                        file.parent().unwrap_or(Path::new("")).to_path_buf()
                    };
                    (vec![base.join(p)], true)
                }
                None => (
                    vec![child_dir.join(format!("{name}.rs")), dir.join("mod.rs")],
                    false,
                ),
            };
            let found = candidates
                .iter()
                .find_map(|c| (self.read)(c).map(|s| (c.clone(), s)));
            match found {
                Some((child_file, source)) => {
                    // A file loaded through `#[path]` keeps its modules beside it.
                    let grandchild_dir = if via_path {
                        child_file.parent().unwrap_or(Path::new("")).to_path_buf()
                    } else {
                        dir
                    };
                    self.file(child, &child_file, &source, &grandchild_dir)?;
                }
                None => {
                    let line = m.ident.span().start().line;
                    let tried: Vec<String> =
                        candidates.iter().map(|c| c.display().to_string()).collect();
                    self.krate.warnings.push(format!(
                        "{}:{line}: `mod {name};` has no file (tried {})",
                        file.display(),
                        tried.join(", ")
                    ));
                    self.krate.modules.insert(
                        child,
                        Module {
                            file: file.to_path_buf(),
                            ..Module::default()
                        },
                    );
                }
            }
        }
        Ok(())
    }
}

fn item_attrs(item: &Item) -> &[Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// The name a non-module item defines in its module's namespace.
fn defined_name(item: &Item) -> Option<String> {
    let ident = match item {
        Item::Const(i) => &i.ident,
        Item::Enum(i) => &i.ident,
        Item::Fn(i) => &i.sig.ident,
        Item::Macro(i) => i.ident.as_ref()?,
        Item::Static(i) => &i.ident,
        Item::Struct(i) => &i.ident,
        Item::Trait(i) => &i.ident,
        Item::TraitAlias(i) => &i.ident,
        Item::Type(i) => &i.ident,
        Item::Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

/// The value of a `#[path = "..."]` attribute.
fn path_attr(attrs: &[Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// Whether a `#[cfg(..)]` among `attrs` holds only when testing: `test`, `all(.., test, ..)`
/// or `any(..)` of such predicates.
fn is_test_only(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.parse_args::<Meta>().is_ok_and(|m| needs_test(&m)))
}

fn needs_test(meta: &Meta) -> bool {
    let list = |m: &Meta| match m {
        Meta::List(l) => l
            .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            .ok(),
        _ => None,
    };
    match meta {
        Meta::Path(p) => p.is_ident("test"),
        Meta::List(l) if l.path.is_ident("all") => {
            list(meta).is_some_and(|ms| ms.iter().any(needs_test))
        }
        Meta::List(l) if l.path.is_ident("any") => {
            list(meta).is_some_and(|ms| !ms.is_empty() && ms.iter().all(needs_test))
        }
        _ => false,
    }
}

/// Collects a module's `use` declarations and paths, skipping `#[cfg(test)]` items.
#[derive(Default)]
struct Collector {
    imports: BTreeMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
    paths: Vec<(Vec<String>, usize)>,
}

impl Collector {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &UseTree) {
        match tree {
            UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            UseTree::Name(n) => {
                let line = n.ident.span().start().line;
                let (full, name) = if n.ident == "self" {
                    (prefix.clone(), prefix.last().cloned())
                } else {
                    let mut full = prefix.clone();
                    full.push(n.ident.to_string());
                    (full, Some(n.ident.to_string()))
                };
                self.import(full, name, line);
            }
            UseTree::Rename(r) => {
                let line = r.ident.span().start().line;
                let mut full = prefix.clone();
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                let name = (r.rename != "_").then(|| r.rename.to_string());
                self.import(full, name, line);
            }
            UseTree::Glob(g) => {
                let line = g.star_token.spans[0].start().line;
                self.paths.push((prefix.clone(), line));
                self.globs.push(prefix.clone());
            }
            UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }

    fn import(&mut self, full: Vec<String>, name: Option<String>, line: usize) {
        if full.is_empty() {
            return;
        }
        if let Some(name) = name {
            self.imports.entry(name).or_insert_with(|| full.clone());
        }
        self.paths.push((full, line));
    }

    /// Paths in a macro's tokens: `a::b` runs not preceded by `::` (`$crate::x` counts).
    fn tokens(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let colons = |i: usize| {
            matches!((tokens.get(i), tokens.get(i + 1)),
                (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                    if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':')
        };
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(g) => {
                    self.tokens(g.stream());
                    i += 1;
                }
                TokenTree::Ident(first) => {
                    let leading = i >= 2 && colons(i - 2);
                    let mut segments = vec![first.to_string()];
                    let mut j = i + 1;
                    while colons(j) {
                        let Some(TokenTree::Ident(next)) = tokens.get(j + 2) else {
                            break;
                        };
                        segments.push(next.to_string());
                        j += 3;
                    }
                    if !leading && segments.len() >= 2 {
                        self.paths.push((segments, first.span().start().line));
                    }
                    i = j;
                }
                _ => i += 1,
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item(&mut self, i: &'ast Item) {
        if !is_test_only(item_attrs(i)) {
            visit::visit_item(self, i);
        }
    }

    fn visit_item_use(&mut self, i: &'ast syn::ItemUse) {
        if i.leading_colon.is_none() {
            self.use_tree(&mut Vec::new(), &i.tree);
        }
    }

    fn visit_impl_item(&mut self, i: &'ast ImplItem) {
        let attrs: &[Attribute] = match i {
            ImplItem::Const(c) => &c.attrs,
            ImplItem::Fn(f) => &f.attrs,
            ImplItem::Type(t) => &t.attrs,
            ImplItem::Macro(m) => &m.attrs,
            _ => &[],
        };
        if !is_test_only(attrs) {
            visit::visit_impl_item(self, i);
        }
    }

    fn visit_trait_item(&mut self, i: &'ast TraitItem) {
        let attrs: &[Attribute] = match i {
            TraitItem::Const(c) => &c.attrs,
            TraitItem::Fn(f) => &f.attrs,
            TraitItem::Type(t) => &t.attrs,
            TraitItem::Macro(m) => &m.attrs,
            _ => &[],
        };
        if !is_test_only(attrs) {
            visit::visit_trait_item(self, i);
        }
    }

    fn visit_local(&mut self, i: &'ast syn::Local) {
        if !is_test_only(&i.attrs) {
            visit::visit_local(self, i);
        }
    }

    fn visit_stmt_macro(&mut self, i: &'ast syn::StmtMacro) {
        if !is_test_only(&i.attrs) {
            visit::visit_stmt_macro(self, i);
        }
    }

    fn visit_arm(&mut self, i: &'ast syn::Arm) {
        if !is_test_only(&i.attrs) {
            visit::visit_arm(self, i);
        }
    }

    fn visit_field(&mut self, i: &'ast syn::Field) {
        if !is_test_only(&i.attrs) {
            visit::visit_field(self, i);
        }
    }

    fn visit_variant(&mut self, i: &'ast syn::Variant) {
        if !is_test_only(&i.attrs) {
            visit::visit_variant(self, i);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() && p.segments.len() >= 2 {
            let segments = p.segments.iter().map(|s| s.ident.to_string()).collect();
            let line = p.segments[0].ident.span().start().line;
            self.paths.push((segments, line));
        }
        visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        self.tokens(m.tokens.clone());
    }

    // `pub(in crate::x)` limits who may see an item; it is not a use of `x`.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    // Attributes (`derive`, `cfg`, docs) name no module of ours.
    fn visit_attribute(&mut self, _: &'ast Attribute) {}
}

impl Crate {
    /// The module `segments`, written in module `from`, names (the deepest one it reaches), or
    /// `None` when it names nothing of this crate (another crate, a local, a type parameter).
    fn resolve(&self, from: &[String], segments: &[String], hops: u32) -> Option<ModPath> {
        if hops > MAX_HOPS {
            return None;
        }
        let (first, rest) = segments.split_first()?;
        match first.as_str() {
            "crate" => self.walk(Vec::new(), rest, hops),
            "self" => self.walk(from.to_vec(), rest, hops),
            "super" => {
                let mut at = from.to_vec();
                let mut rest = segments;
                while let Some((first, tail)) = rest.split_first() {
                    if first != "super" {
                        break;
                    }
                    at.pop()?;
                    rest = tail;
                }
                self.walk(at, rest, hops)
            }
            "Self" => None,
            _ => self.lookup(from, segments, hops),
        }
    }

    /// Follow `rest` down from module `at`: child modules, then the item it ends on (followed
    /// if `at` imports it from elsewhere, unless re-exports are not followed).
    fn walk(&self, mut at: ModPath, rest: &[String], hops: u32) -> Option<ModPath> {
        for (i, segment) in rest.iter().enumerate() {
            let module = self.modules.get(&at)?;
            if module.children.contains(segment) {
                at.push(segment.clone());
                continue;
            }
            if !self.follow_reexports {
                return Some(at);
            }
            return self.lookup(&at, &rest[i..], hops).or(Some(at));
        }
        Some(at)
    }

    /// `segments` whose first is a name in scope in module `at`: a child module, an item of
    /// `at`, a name it imports (followed), or one of its globs provides.
    fn lookup(&self, at: &[String], segments: &[String], hops: u32) -> Option<ModPath> {
        let module = self.modules.get(at)?;
        let (name, rest) = segments.split_first()?;
        if module.children.contains(name) {
            return self.walk(at.to_vec(), segments, hops);
        }
        if module.defined.contains(name) {
            return Some(at.to_vec());
        }
        if let Some(target) = module.imports.get(name) {
            let full = [target.as_slice(), rest].concat();
            return self.resolve(at, &full, hops + 1);
        }
        for glob in self.glob_targets.get(at).into_iter().flatten() {
            let Some(g) = self.modules.get(glob) else {
                continue;
            };
            if g.children.contains(name) || g.defined.contains(name) || g.imports.contains_key(name)
            {
                return self.lookup(glob, segments, hops + 1);
            }
        }
        None
    }

    /// Every path that names another module of this crate, in module then file order.
    fn references(&self) -> Vec<Reference> {
        let mut references = Vec::new();
        for (at, module) in &self.modules {
            for (segments, line) in &module.paths {
                let Some(to) = self.resolve(at, segments, 0) else {
                    continue;
                };
                if to != *at {
                    references.push(Reference {
                        from: at.clone(),
                        to,
                        file: module.file.clone(),
                        line: *line,
                        path: segments.join("::"),
                    });
                }
            }
        }
        references
    }
}

/// A dependency between two children of a module, with the references that make it.
struct Edge<'a> {
    from: String,
    to: String,
    references: Vec<&'a Reference>,
}

/// Children of `parent` that depend on each other, round and round.
struct Cycle<'a> {
    parent: ModPath,
    members: Vec<String>,
    /// Every edge between two members.
    edges: Vec<Edge<'a>>,
}

/// The cycles among the children of every module. A reference from module F to module T is
/// an edge between the children of their deepest common ancestor that F and T are in; none
/// when one is inside the other.
fn cycles(references: &[Reference]) -> Vec<Cycle<'_>> {
    type Graph<'a> = BTreeMap<(String, String), Vec<&'a Reference>>;
    let mut graphs: BTreeMap<ModPath, Graph<'_>> = BTreeMap::new();
    for r in references {
        let common = r.from.iter().zip(&r.to).take_while(|(a, b)| a == b).count();
        if common < r.from.len() && common < r.to.len() {
            graphs
                .entry(r.from[..common].to_vec())
                .or_default()
                .entry((r.from[common].clone(), r.to[common].clone()))
                .or_default()
                .push(r);
        }
    }
    let mut cycles = Vec::new();
    for (parent, graph) in graphs {
        let nodes: Vec<&String> = graph
            .keys()
            .flat_map(|(a, b)| [a, b])
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let index = |n: &String| nodes.binary_search(&n).expect("a node of the graph");
        let mut adjacent = vec![Vec::new(); nodes.len()];
        for (a, b) in graph.keys() {
            adjacent[index(a)].push(index(b));
        }
        for component in strongly_connected(&adjacent) {
            if component.len() < 2 {
                continue;
            }
            let members: BTreeSet<String> = component.iter().map(|&i| nodes[i].clone()).collect();
            let edges = graph
                .iter()
                .filter(|((a, b), _)| members.contains(a) && members.contains(b))
                .map(|((a, b), refs)| {
                    let mut references = refs.clone();
                    references.sort_by(|x, y| (&x.file, x.line).cmp(&(&y.file, y.line)));
                    Edge {
                        from: a.clone(),
                        to: b.clone(),
                        references,
                    }
                })
                .collect();
            cycles.push(Cycle {
                parent: parent.clone(),
                members: members.into_iter().collect(),
                edges,
            });
        }
    }
    cycles.sort_by(|a, b| (&a.parent, &a.members).cmp(&(&b.parent, &b.members)));
    cycles
}

/// Tarjan's strongly connected components of the graph `adjacent` (node -> successors).
fn strongly_connected(adjacent: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'g> {
        adjacent: &'g [Vec<usize>],
        next: usize,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        components: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &s.adjacent[v] {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            component.sort_unstable();
            s.components.push(component);
        }
    }
    let n = adjacent.len();
    let mut state = State {
        adjacent,
        next: 0,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        components: Vec::new(),
    };
    for v in 0..n {
        if state.index[v].is_none() {
            visit(&mut state, v);
        }
    }
    state.components
}

/// `a::b` for a module path, `crate` for the root.
fn module_name(path: &[String]) -> String {
    if path.is_empty() {
        "crate".to_string()
    } else {
        path.join("::")
    }
}

/// A target's report: its cycles (or that it has none) and the warnings from loading it.
fn render(
    target: &Target,
    ws: &Path,
    krate: &Crate,
    references: usize,
    cycles: &[Cycle<'_>],
    verbose: bool,
) -> String {
    let shown = |p: &Path| p.strip_prefix(ws).unwrap_or(p).display().to_string();
    let mut out = format!(
        "{} {}: {} module{}, {references} reference{} between them, ",
        target.label(),
        shown(&target.root),
        krate.modules.len(),
        plural(krate.modules.len()),
        plural(references),
    );
    if cycles.is_empty() {
        out.push_str("no cycles\n");
    } else {
        let _ = writeln!(out, "{} cycle{}", cycles.len(), plural(cycles.len()));
    }
    for cycle in cycles {
        let prefix = if cycle.parent.is_empty() {
            String::new()
        } else {
            format!("{}::", cycle.parent.join("::"))
        };
        let _ = writeln!(
            out,
            "  cycle in {}: {prefix}{{{}}}",
            module_name(&cycle.parent),
            cycle.members.join(", ")
        );
        for edge in &cycle.edges {
            let n = edge.references.len();
            let _ = write!(
                out,
                "    {} -> {} ({n} reference{})",
                edge.from,
                edge.to,
                plural(n)
            );
            let listed = if verbose {
                out.push_str(":\n");
                &edge.references[..]
            } else {
                out.push_str(", e.g.\n");
                &edge.references[..1]
            };
            for r in listed {
                let _ = writeln!(
                    out,
                    "      {}:{}  {}  ({} -> {})",
                    shown(&r.file),
                    r.line,
                    r.path,
                    module_name(&r.from),
                    module_name(&r.to)
                );
            }
        }
    }
    for warning in &krate.warnings {
        let _ = writeln!(out, "  warning: {warning}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(reference_names(&files)
            .contains(&"r -> outer::inner (crate::outer::inner::f)".to_string()));
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
}
