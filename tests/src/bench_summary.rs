//! The one machine-readable line per figure that every bench prints at its end.
//!
//! ```text
//! summary: <bench> <figure> containerd=<line> ours=<value><unit> [anchor=<value><unit> ratio=<r>] [goal=<op><g>] <ok|MISSED|info>
//! ```
//!
//! - `anchor` is the same figure measured with containerd's own tools (`ctr`) in the same
//!   run, and `ratio` is ours / anchor; both are left out where a figure has no anchor.
//! - `goal` is a bound on the ratio (`goal=<=0.80`) when the figure has an anchor, else an
//!   absolute bound on our value, with its unit (`goal=<=15MiB`).
//! - The last word is `ok` (goal met), `MISSED` (goal not met) or `info` (no goal).
//!
//! Figures and benches are single words (`[a-z0-9_]`), so a line splits on spaces.
//! `cargo xtask bench all` collects every line that starts with [`PREFIX`].

use std::fmt;
use std::time::Duration;

/// What every summary line starts with.
pub const PREFIX: &str = "summary:";

/// How a figure is compared with its goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// The figure must be at most the goal (times, memory, ratios).
    AtMost,
    /// The figure must be at least the goal.
    AtLeast,
}

impl Op {
    fn holds(self, value: f64, goal: f64) -> bool {
        match self {
            Op::AtMost => value <= goal,
            Op::AtLeast => value >= goal,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::AtMost => "<=",
            Op::AtLeast => ">=",
        })
    }
}

/// One figure of one bench: our value, optionally containerd's for the same thing, and
/// optionally a goal. Build it with the chained methods, then [`print`](Self::print) it.
#[derive(Debug, Clone)]
pub struct Summary {
    bench: String,
    figure: String,
    containerd: String,
    ours: f64,
    unit: &'static str,
    anchor: Option<f64>,
    goal: Option<(Op, f64)>,
}

impl Summary {
    /// Figure `figure` of bench `bench`, measured against containerd line `containerd`:
    /// our value `ours` in `unit` (`ms`, `MiB`, `%`, `s`, or empty for a count).
    pub fn new(
        bench: &str,
        figure: &str,
        containerd: &str,
        ours: f64,
        unit: &'static str,
    ) -> Summary {
        Summary {
            bench: word(bench),
            figure: word(figure),
            containerd: word(containerd),
            ours,
            unit,
            anchor: None,
            goal: None,
        }
    }

    /// A time, in milliseconds.
    pub fn time(bench: &str, figure: &str, containerd: &str, ours: Duration) -> Summary {
        Summary::new(bench, figure, containerd, millis(ours), "ms")
    }

    /// containerd's own value for the same figure (same unit as ours); the ratio is
    /// ours / anchor.
    pub fn anchor(mut self, anchor: f64) -> Summary {
        self.anchor = Some(anchor);
        self
    }

    /// containerd's own time for the same figure.
    pub fn anchor_time(self, anchor: Duration) -> Summary {
        self.anchor(millis(anchor))
    }

    /// The goal: the ratio (with an anchor) or our value (without one) compared by `op`
    /// with `goal`.
    pub fn goal(mut self, op: Op, goal: f64) -> Summary {
        self.goal = Some((op, goal));
        self
    }

    /// The goal `<= goal` (see [`goal`](Self::goal)).
    pub fn at_most(self, goal: f64) -> Summary {
        self.goal(Op::AtMost, goal)
    }

    /// Ours / anchor, if there is an anchor.
    pub fn ratio(&self) -> Option<f64> {
        self.anchor.map(|a| self.ours / a)
    }

    /// Whether the goal is met; `None` without a goal.
    pub fn met(&self) -> Option<bool> {
        let (op, goal) = self.goal?;
        Some(op.holds(self.ratio().unwrap_or(self.ours), goal))
    }

    /// Print the line to stdout.
    pub fn print(&self) {
        println!("{self}");
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX} {} {} containerd={} ours={}{}",
            self.bench,
            self.figure,
            self.containerd,
            number(self.ours),
            self.unit
        )?;
        if let (Some(anchor), Some(ratio)) = (self.anchor, self.ratio()) {
            write!(
                f,
                " anchor={}{} ratio={ratio:.2}",
                number(anchor),
                self.unit
            )?;
        }
        if let Some((op, goal)) = self.goal {
            if self.anchor.is_some() {
                write!(f, " goal={op}{goal:.2}")?;
            } else {
                write!(f, " goal={op}{}{}", number(goal), self.unit)?;
            }
        }
        f.write_str(match self.met() {
            Some(true) => " ok",
            Some(false) => " MISSED",
            None => " info",
        })
    }
}

/// Print `summaries`, one line each, after an empty line.
pub fn print_all(summaries: &[Summary]) {
    println!();
    for s in summaries {
        s.print();
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A whole number as such, else three significant digits or so; never in exponent form.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

/// `s` as one word: spaces and `=` become `_`.
fn word(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_whitespace() || c == '=' {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ratio_goal() {
        let s = Summary::time("warrend", "run_none", "2.1", Duration::from_micros(40_500))
            .anchor_time(Duration::from_millis(80))
            .at_most(0.8);
        assert_eq!(
            s.to_string(),
            "summary: warrend run_none containerd=2.1 ours=40.5ms anchor=80ms ratio=0.51 goal=<=0.80 ok"
        );
    }

    #[test]
    fn an_absolute_goal_and_none() {
        let s = Summary::new("warrend", "rss_after", "1.6", 16.3, "MiB").at_most(15.0);
        assert_eq!(
            s.to_string(),
            "summary: warrend rss_after containerd=1.6 ours=16.3MiB goal=<=15MiB MISSED"
        );
        let s = Summary::new("health", "threads", "1.7", 7.0, "");
        assert_eq!(
            s.to_string(),
            "summary: health threads containerd=1.7 ours=7 info"
        );
    }
}
