//! What a module's items name: the collector of its `use` declarations and paths, and the
//! `#[cfg(test)]` check that leaves test-only items out.

use std::collections::BTreeMap;

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Attribute, ImplItem, Item, Meta, Token, TraitItem, UseTree};

pub(super) fn item_attrs(item: &Item) -> &[Attribute] {
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

/// Whether a `#[cfg(..)]` among `attrs` holds only when testing: `test`, `all(.., test, ..)`
/// or `any(..)` of such predicates.
pub(super) fn is_test_only(attrs: &[Attribute]) -> bool {
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
pub(super) struct Collector {
    pub(super) imports: BTreeMap<String, Vec<String>>,
    pub(super) globs: Vec<Vec<String>>,
    pub(super) paths: Vec<(Vec<String>, usize)>,
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
