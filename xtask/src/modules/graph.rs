//! The cycles among sibling modules: the dependency graph between the children of each
//! module, and its strongly connected components (Tarjan).

use std::collections::{BTreeMap, BTreeSet};

use super::tree::{ModPath, Reference};

/// A dependency between two children of a module, with the references that make it.
pub(super) struct Edge<'a> {
    pub(super) from: String,
    pub(super) to: String,
    pub(super) references: Vec<&'a Reference>,
}

/// Children of `parent` that depend on each other, round and round.
pub(super) struct Cycle<'a> {
    pub(super) parent: ModPath,
    pub(super) members: Vec<String>,
    /// Every edge between two members.
    pub(super) edges: Vec<Edge<'a>>,
}

/// The cycles among the children of every module. A reference from module F to module T is
/// an edge between the children of their deepest common ancestor that F and T are in; none
/// when one is inside the other.
pub(super) fn cycles(references: &[Reference]) -> Vec<Cycle<'_>> {
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
pub(super) fn strongly_connected(adjacent: &[Vec<usize>]) -> Vec<Vec<usize>> {
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
