//! Label selectors of `List`: `key`, `key=value` and `key!=value`, all of which must hold.

use std::collections::HashMap;

use tonic::Status;

/// One requirement on a container's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// The label is set (to anything).
    Exists(String),
    /// The label is set to this value.
    Equals(String, String),
    /// The label is not set to this value (an unset label matches).
    NotEquals(String, String),
}

/// Every requirement of a `List` call (ANDed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(Vec<Requirement>);

fn key_ok(k: &str) -> bool {
    !k.is_empty() && !k.chars().any(|c| c.is_whitespace() || c == '=' || c == '!')
}

impl Requirement {
    fn parse(text: &str) -> Result<Requirement, String> {
        let bad = || {
            format!(
                "{text:?} is not a label requirement: use key, key=value or key!=value (a key has no spaces, '=' or '!')"
            )
        };
        let req = if let Some((k, v)) = text.split_once("!=") {
            Requirement::NotEquals(k.to_string(), v.to_string())
        } else if let Some((k, v)) = text.split_once('=') {
            Requirement::Equals(k.to_string(), v.to_string())
        } else {
            Requirement::Exists(text.to_string())
        };
        let key = match &req {
            Requirement::Exists(k) | Requirement::Equals(k, _) | Requirement::NotEquals(k, _) => k,
        };
        if !key_ok(key) {
            return Err(bad());
        }
        Ok(req)
    }

    fn matches(&self, labels: &HashMap<String, String>) -> bool {
        match self {
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
        }
    }
}

impl Selector {
    /// Parse a request's `label_selector`; INVALID_ARGUMENT names the requirement at fault.
    pub fn parse(requirements: &[String]) -> Result<Selector, Status> {
        requirements
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Requirement::parse(r)
                    .map_err(|e| Status::invalid_argument(format!("label_selector[{i}]: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Selector)
    }

    /// True if `labels` meet every requirement (always, with none).
    pub fn matches(&self, labels: &HashMap<String, String>) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sel(parts: &[&str]) -> Selector {
        Selector::parse(&parts.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn the_three_forms_and_their_conjunction() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("empty", "")]);
        assert!(sel(&[]).matches(&l));
        assert!(sel(&["app"]).matches(&l));
        assert!(!sel(&["db"]).matches(&l));
        assert!(sel(&["app=web"]).matches(&l));
        assert!(!sel(&["app=db"]).matches(&l));
        assert!(sel(&["empty="]).matches(&l));
        assert!(sel(&["app!=db"]).matches(&l));
        assert!(!sel(&["app!=web"]).matches(&l));
        // An unset label is "not equal" to any value.
        assert!(sel(&["zone!=eu"]).matches(&l));
        assert!(sel(&["app=web", "tier", "zone!=eu"]).matches(&l));
        assert!(!sel(&["app=web", "tier=back"]).matches(&l));
        // Values may hold '='.
        assert!(sel(&["k=a=b"]).matches(&labels(&[("k", "a=b")])));
    }

    #[test]
    fn a_malformed_requirement_is_refused_naming_it() {
        for bad in ["", "=web", "!=web", "a b=c", "a!b"] {
            let e = Selector::parse(&["ok".into(), bad.into()]).unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "{bad:?}");
            assert!(
                e.message().starts_with("label_selector[1]:"),
                "{}",
                e.message()
            );
        }
    }
}
