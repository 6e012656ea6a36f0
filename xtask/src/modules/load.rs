//! Reading a crate's module tree from its files: from the root, `mod x;` to `x.rs`,
//! `x/mod.rs` or a `#[path]`, and into inline `mod x { .. }` blocks.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use syn::visit::Visit;
use syn::{Attribute, Item, Meta};

use super::collect::{is_test_only, item_attrs, Collector};
use super::tree::{Crate, ModPath, Module};

/// Reads a source file; `None` when there is none at that path.
type Read<'a> = &'a dyn Fn(&Path) -> Option<String>;

/// Load the module tree of the crate whose root file is `root`.
pub(super) fn load(root: &Path, read: Read<'_>) -> Result<Crate> {
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
