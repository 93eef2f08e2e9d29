//! XEP-0079 §2.2.1 and §4.1: validating a whole `<amp>` request before
//! anything else happens (R17, R19a/b), with the rulings on `id` (D10),
//! empty `<amp/>` (D11), `per-hop` (D12), several offenders (D6, D7),
//! loops and forged attributes (D13) and the security levels (D15).

use std::cell::OnceCell;
use std::fmt;

use crate::node::{self, Node};
use crate::ns;
use crate::rules::{CustomConditions, Invalidity, Offence, OffenceKind, RawRule, Rule};
use crate::security::{self, SecurityLevel};

/// A validated request: every rule understood and acceptable.
///
/// The rules own their attributes as written; the cleaned `<amp>` tree is
/// rebuilt from them only when asked for ([`AmpRequest::clean`]), because
/// the common path (direct delivery) needs just its serialisation, and
/// keeping both would copy every rule attribute of every AMP message.
#[derive(Debug, Clone)]
pub struct AmpRequest {
    /// R14/R16/D3: whether intermediate hops evaluate the rules too.
    pub per_hop: bool,
    /// The rules in document order (R4), never empty (R47).
    pub rules: Vec<Rule>,
    /// The `<amp>`'s attributes as received without `status`, `from` and
    /// `to` (D13).
    attrs: Vec<(String, String)>,
    /// [`AmpRequest::clean`], built on first use.
    clean: OnceCell<Node>,
}

impl PartialEq for AmpRequest {
    fn eq(&self, other: &Self) -> bool {
        (self.per_hop, &self.rules, &self.attrs) == (other.per_hop, &other.rules, &other.attrs)
    }
}

impl Eq for AmpRequest {}

impl AmpRequest {
    /// A request of already understood rules, e.g. those kept with a
    /// stored message (X7); its `<amp>` holds the rules as written.
    pub fn from_rules(per_hop: bool, rules: Vec<Rule>) -> Self {
        let attrs = if per_hop { vec![("per-hop".to_owned(), "true".to_owned())] } else { Vec::new() };
        AmpRequest { per_hop, rules, attrs, clean: OnceCell::new() }
    }

    /// The request's `<amp>` without client-supplied `status`/`from`/`to`.
    pub fn clean(&self) -> &Node {
        self.clean.get_or_init(|| Node {
            attrs: self.attrs.clone(),
            children: self.rules.iter().map(|r| r.raw.to_node(ns::AMP)).collect(),
            ..Node::new("amp", ns::AMP)
        })
    }

    /// D9, R51, R52: the `<amp>` the recipient gets with the delivered
    /// message, `from` the sender's full JID and `to` the original `to`.
    pub fn delivered_copy(&self, from: &str, to: &str) -> Node {
        let mut amp = self.clean().clone();
        amp.attrs.extend([("from".to_owned(), from.to_owned()), ("to".to_owned(), to.to_owned())]);
        amp
    }

    /// [`AmpRequest::delivered_copy`] serialised with its own `xmlns`,
    /// written straight from the rules: the common (direct delivery) path
    /// of every AMP message, so it builds no tree.
    pub fn delivered_copy_xml(&self, from: &str, to: &str) -> String {
        let own = self.attrs.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let children = self.rules.iter().map(|r| r.raw.attrs.as_slice());
        node::write_flat(("amp", ns::AMP), own.chain([("from", from), ("to", to)]), "rule", children)
    }
}

/// Who put the `<amp>` on the wire, as far as the server can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A client session of this server (its `from` was stamped by c2s).
    LocalClient,
    /// A server: ours (events, D16) or a remote one (s2s).
    Server,
}

/// D13: whether an `<amp>` is a request to evaluate. Never on a message of
/// type `error` nor on an event a server produced (it has `status`), so
/// events cannot loop; a local client's `status` is stripped instead of
/// honoured, so setting it cannot bypass processing (Tigase's defect).
pub fn should_evaluate(message_is_error: bool, amp: &Node, origin: Origin) -> bool {
    match origin {
        _ if message_is_error => false,
        Origin::Server => amp.attr("status").is_none(),
        Origin::LocalClient => true,
    }
}

/// How the security check of D15 is configured for this message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `--amp-security-level`.
    pub level: SecurityLevel,
    /// Whether sender and recipient are the same account.
    pub same_account: bool,
}

/// A request refused at validation; the message is not processed further
/// (R19a). `echo` is the `<amp>` to repeat in the error reply (R57).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The request's `<amp>` without `status`/`from`/`to`.
    pub echo: Node,
    /// Why it was refused.
    pub reason: Reason,
}

/// The reasons of [`Rejection`], each one error reply of amp.md §2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// D10, R1, R2: the message has no `id`, or an empty one.
    MissingId,
    /// D11, R47: `<amp>` holds no `<rule/>`.
    NoRules,
    /// D12, R16: `per-hop` is not one of true/false/1/0.
    BadPerHop,
    /// D6, D7, R19a/b: some rules are refused. `kind` is the category of
    /// the first offender in document order; `listed` holds every rule of
    /// that category (the error's container); `offenders` every offending
    /// rule of any category, by index, for logs and tests.
    Rules {
        /// The container element of the reply.
        kind: OffenceKind,
        /// The rules the container lists, as written.
        listed: Vec<RawRule>,
        /// Every offender, in document order.
        offenders: Vec<(usize, Offence)>,
    },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            Reason::MissingId => f.write_str("AMP message without a non-empty id"),
            Reason::NoRules => f.write_str("<amp/> without rules"),
            Reason::BadPerHop => f.write_str("per-hop is not a boolean"),
            Reason::Rules { kind, offenders, .. } => {
                write!(f, "{} offending rule(s), reported as {kind:?}", offenders.len())
            }
        }
    }
}

impl std::error::Error for Rejection {}

/// Validates the `<amp>` of a message whose `id` attribute is `id`.
/// (The rejection is boxed: it is the rare path and carries a tree.)
/// The `<amp>` is taken by value: its cleaned form becomes the request's
/// without copying a string (this runs for every AMP message).
///
/// Every rule is checked before any is evaluated, and every offender is
/// found (R19b): first each rule on its own ([`Rule::parse`]), then the
/// understood ones against the security level (D15, asking
/// `sender_authorized` at most once). Client-supplied `status`, `from` and
/// `to` are dropped (D13).
pub fn validate(
    id: Option<&str>,
    amp: Node,
    custom: &dyn CustomConditions,
    policy: Policy,
    sender_authorized: impl FnOnce() -> bool,
) -> Result<AmpRequest, Box<Rejection>> {
    let clean = clean(amp);
    if id.is_none_or(str::is_empty) {
        return reject(clean, Reason::MissingId);
    }
    let per_hop = match clean.attr("per-hop") {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return reject(clean, Reason::BadPerHop),
    };
    // `clean` kept exactly the `<rule/>` children, in document order.
    if clean.children.is_empty() {
        return reject(clean, Reason::NoRules);
    }
    let mut offenders = Vec::new();
    let (mut understood, mut at) = (Vec::with_capacity(clean.children.len()), Vec::new());
    for (i, element) in clean.children.iter().enumerate() {
        match Rule::check(element, custom) {
            Ok(rule) => {
                understood.push(rule);
                at.push(i);
            }
            Err(offence) => offenders.push((i, offence)),
        }
    }
    for j in security::refused(policy.level, &understood, policy.same_account, sender_authorized) {
        offenders.push((at[j], Offence::Invalid(Invalidity::Refused)));
    }
    if offenders.is_empty() {
        // Every rule understood: each takes its element's attributes over.
        let Node { attrs, children, .. } = clean;
        let rules = understood
            .into_iter()
            .zip(children)
            .map(|(rule, element)| Rule { raw: RawRule { attrs: element.attrs }, ..rule })
            .collect();
        return Ok(AmpRequest { per_hop, rules, attrs, clean: OnceCell::new() });
    }
    offenders.sort_by_key(|(i, _)| *i);
    let kind = offenders[0].1.kind();
    let listed = offenders
        .iter()
        .filter(|(_, o)| o.kind() == kind)
        .map(|(i, _)| RawRule { attrs: clean.children[*i].attrs.clone() })
        .collect();
    reject(clean, Reason::Rules { kind, listed, offenders })
}

fn reject(echo: Node, reason: Reason) -> Result<AmpRequest, Box<Rejection>> {
    Err(Box::new(Rejection { echo, reason }))
}

/// The `<amp>` with only its rules (as written) and attributes other than
/// `status`, `from` and `to`.
fn clean(mut amp: Node) -> Node {
    amp.attrs.retain(|(n, _)| !matches!(n.as_str(), "status" | "from" | "to"));
    amp.children.retain(|c| c.is("rule", ns::AMP));
    for rule in &mut amp.children {
        rule.children.clear();
        rule.text.clear();
    }
    amp.text.clear();
    amp
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
