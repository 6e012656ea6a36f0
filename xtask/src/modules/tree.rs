//! A crate's module tree (`Crate`, `Module`) and what a path written in one of its modules
//! names: path resolution, which turns the paths a module's source holds into `Reference`s.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A module's place in its crate: the names from the crate root down (empty: the root).
pub(super) type ModPath = Vec<String>;

/// How many imports a path is followed through before giving up (re-export loops).
const MAX_HOPS: u32 = 16;

/// One module: where it is and what its source names.
#[derive(Default)]
pub(super) struct Module {
    /// The file its items are in (an inline module's is its parent's file).
    pub(super) file: PathBuf,
    /// Its child modules, `#[cfg(test)]` ones left out.
    pub(super) children: BTreeSet<String>,
    /// The names of the other items it defines (functions, types, constants, macros...).
    pub(super) defined: BTreeSet<String>,
    /// What its `use` declarations bring into scope: the name and the path, as written.
    pub(super) imports: BTreeMap<String, Vec<String>>,
    /// The paths of its `use x::*` declarations, as written.
    pub(super) globs: Vec<Vec<String>>,
    /// Every `use` leaf and every path of two or more segments, with its line.
    pub(super) paths: Vec<(Vec<String>, usize)>,
}

/// A crate's module tree.
pub(super) struct Crate {
    pub(super) modules: BTreeMap<ModPath, Module>,
    /// The modules each module's globs import from (resolved once, after loading).
    pub(super) glob_targets: BTreeMap<ModPath, Vec<ModPath>>,
    /// `mod x;` declarations whose file is not there.
    pub(super) warnings: Vec<String>,
    /// Whether `a::Item` counts as a use of `a`, as written (the default), or of the module
    /// `a` re-exports `Item` from.
    pub(super) follow_reexports: bool,
}

/// A path in module `from` that names module `to` (not `from` itself).
#[derive(Clone, Debug)]
pub(super) struct Reference {
    pub(super) from: ModPath,
    pub(super) to: ModPath,
    pub(super) file: PathBuf,
    pub(super) line: usize,
    /// The path as written (a `use` leaf with its prefix).
    pub(super) path: String,
}

impl Crate {
    /// The module `segments`, written in module `from`, names (the deepest one it reaches), or
    /// `None` when it names nothing of this crate (another crate, a local, a type parameter).
    pub(super) fn resolve(
        &self,
        from: &[String],
        segments: &[String],
        hops: u32,
    ) -> Option<ModPath> {
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
    pub(super) fn references(&self) -> Vec<Reference> {
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
