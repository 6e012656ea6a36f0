//! The report: a target's cycles, each edge with an example reference (or all of them), and
//! the warnings from loading it.

use std::fmt::Write as _;
use std::path::Path;

use super::graph::Cycle;
use super::tree::Crate;
use super::Target;

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `a::b` for a module path, `crate` for the root.
pub(super) fn module_name(path: &[String]) -> String {
    if path.is_empty() {
        "crate".to_string()
    } else {
        path.join("::")
    }
}

/// A target's report: its cycles (or that it has none) and the warnings from loading it.
pub(super) fn render(
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
