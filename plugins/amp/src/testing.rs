//! Test helpers shared by the unit tests: element builders and a table of
//! custom conditions standing in for `amp-condition` components.

use crate::node::Node;
use crate::ns;
use crate::rules::{CustomConditions, Declaration};

/// A `<rule/>` in the AMP namespace with these attributes, in order.
pub fn rule(attrs: &[(&str, &str)]) -> Node {
    attrs.iter().fold(Node::new("rule", ns::AMP), |n, (k, v)| n.with_attr(k, v))
}

/// A `<rule condition value action/>`, the attribute order of amp.md §2.
pub fn cva(condition: &str, value: &str, action: &str) -> Node {
    rule(&[("condition", condition), ("value", value), ("action", action)])
}

/// An `<amp>` with these attributes and children.
pub fn amp(attrs: &[(&str, &str)], rules: Vec<Node>) -> Node {
    let n = attrs.iter().fold(Node::new("amp", ns::AMP), |n, (k, v)| n.with_attr(k, v));
    Node { children: rules, ..n }
}

/// Custom conditions by name and `reveals_presence`; every one applies per
/// hop and accepts any value without whitespace.
pub struct Customs(Vec<(String, bool)>);

impl Customs {
    pub fn new(table: &[(&str, bool)]) -> Self {
        Customs(table.iter().map(|(n, r)| (n.to_string(), *r)).collect())
    }

    /// The example condition of issue 4 item 7, declared presence-safe.
    pub fn body_contains() -> Self {
        Customs::new(&[("body-contains", false)])
    }
}

impl CustomConditions for Customs {
    fn declaration(&self, name: &str) -> Option<Declaration> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, r)| Declaration { reveals_presence: *r, per_hop: true })
    }

    fn accepts(&self, _: &str, value: &str) -> bool {
        !value.contains(char::is_whitespace)
    }
}
