//! XEP-0079 §3 and §4.2: the `<rule/>` codec — actions, conditions and
//! their values as types, and the per-rule validation of §2.2.1 (R17, R53–R55,
//! D6).
//!
//! A rule is either understood completely (a typed [`Rule`] that keeps its
//! attributes as written, for echoing in events and errors) or rejected with
//! the one [`Offence`] that decides which error container lists it. The
//! whole-request checks (all rules, `per-hop`, `id`) are in
//! [`crate::request`].

use crate::datetime::{DateTimeError, Timestamp};
use crate::node::Node;

/// XEP-0079 §3.4: the defined actions (all four are supported, R28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// §3.4.1: tell the sender, then behave as `drop` (R41).
    Alert,
    /// §3.4.2: discard silently, never store (R42, R43).
    Drop,
    /// §3.4.3: answer with a `<failed-rules>` error, do not deliver (R44).
    Error,
    /// §3.4.4: tell the sender, then take the default disposition (R46, D4).
    Notify,
}

impl Action {
    /// Every action, in the order disco lists them.
    pub const ALL: [Action; 4] = [Action::Alert, Action::Drop, Action::Error, Action::Notify];

    /// The `action` attribute value, also the event's `status` (R50).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::Drop => "drop",
            Action::Error => "error",
            Action::Notify => "notify",
        }
    }

    /// The action named `s` (case-sensitive, like every XML value).
    pub fn parse(s: &str) -> Option<Self> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// XEP-0079 §3.3: the names of the defined conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionName {
    /// §3.3.1 `deliver`.
    Deliver,
    /// §3.3.2 `expire-at`.
    ExpireAt,
    /// §3.3.3 `match-resource`.
    MatchResource,
}

impl ConditionName {
    /// Every defined condition, in the order disco lists them.
    pub const DEFINED: [ConditionName; 3] =
        [ConditionName::Deliver, ConditionName::ExpireAt, ConditionName::MatchResource];

    /// The `condition` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionName::Deliver => "deliver",
            ConditionName::ExpireAt => "expire-at",
            ConditionName::MatchResource => "match-resource",
        }
    }

    /// The defined condition named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        ConditionName::DEFINED.into_iter().find(|c| c.as_str() == s)
    }
}

/// §3.3.1 (R30): how the server would deliver the message at receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliverValue {
    /// Delivered at once to the recipient, or routed on to the next hop.
    Direct,
    /// Redirected to another XMPP address (D17: no shipped routing does this).
    Forward,
    /// Sent through a gateway to a non-XMPP address (D17: likewise).
    Gateway,
    /// Not delivered at all.
    None,
    /// Put into offline storage for later delivery.
    Stored,
}

impl DeliverValue {
    /// Every value of the §3.3.1 table.
    pub const ALL: [DeliverValue; 5] =
        [DeliverValue::Direct, DeliverValue::Forward, DeliverValue::Gateway, DeliverValue::None, DeliverValue::Stored];

    /// The `value` attribute text.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliverValue::Direct => "direct",
            DeliverValue::Forward => "forward",
            DeliverValue::Gateway => "gateway",
            DeliverValue::None => "none",
            DeliverValue::Stored => "stored",
        }
    }

    /// The value named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        DeliverValue::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// §3.3.3 (R38): which destination resources match the addressed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchResource {
    /// Any resource at all.
    Any,
    /// Exactly the addressed resource (or, for a bare JID, none: R39).
    Exact,
    /// A resource other than the addressed one.
    Other,
}

impl MatchResource {
    /// Every value of the §3.3.3 table.
    pub const ALL: [MatchResource; 3] = [MatchResource::Any, MatchResource::Exact, MatchResource::Other];

    /// The `value` attribute text.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchResource::Any => "any",
            MatchResource::Exact => "exact",
            MatchResource::Other => "other",
        }
    }

    /// The value named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        MatchResource::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// R29: what a condition added by an `amp-condition` component declares
/// about itself (issue 4 item 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Declaration {
    /// Whether the condition can reveal the recipient's presence (D15);
    /// a component that does not say so is assumed to.
    pub reveals_presence: bool,
    /// Whether intermediate hops evaluate it under `per-hop='true'` (R15).
    pub per_hop: bool,
}

/// The custom conditions loaded besides the defined ones. The glue backs
/// this with the `amp-condition` components; tests use small tables.
pub trait CustomConditions {
    /// The declaration of condition `name`, or `None` when unknown (then the
    /// rule gets `<unsupported-conditions>`).
    fn declaration(&self, name: &str) -> Option<Declaration>;
    /// Whether `value` is well-formed for `name` (R17); asked only for
    /// non-empty values of known conditions.
    fn accepts(&self, name: &str, value: &str) -> bool;
}

/// No custom conditions: only XEP-0079's own.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCustomConditions;

impl CustomConditions for NoCustomConditions {
    fn declaration(&self, _: &str) -> Option<Declaration> {
        None
    }
    fn accepts(&self, _: &str, _: &str) -> bool {
        false
    }
}

/// A condition with its parsed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// §3.3.1 `deliver`.
    Deliver(DeliverValue),
    /// §3.3.2 `expire-at`.
    ExpireAt(Timestamp),
    /// §3.3.3 `match-resource`.
    MatchResource(MatchResource),
    /// A condition from an `amp-condition` component.
    Custom {
        /// The `condition` attribute.
        name: String,
        /// The `value` attribute, accepted by the component.
        value: String,
        /// What the component declared.
        declaration: Declaration,
    },
}

impl Condition {
    /// D15: every defined condition reveals presence (R59); a custom one
    /// only if it does not declare itself presence-safe.
    pub fn reveals_presence(&self) -> bool {
        match self {
            Condition::Custom { declaration, .. } => declaration.reveals_presence,
            _ => true,
        }
    }

    /// §11.4.1 registry, R31/R36/R40: `deliver` and `expire-at` may be
    /// applied per hop, `match-resource` never; custom ones as declared.
    pub fn per_hop(&self) -> bool {
        match self {
            Condition::Deliver(_) | Condition::ExpireAt(_) => true,
            Condition::MatchResource(_) => false,
            Condition::Custom { declaration, .. } => declaration.per_hop,
        }
    }
}

/// A `<rule/>`'s attributes exactly as received, echoed in events (R25) and
/// errors (R19a) so that the sender recognises its own rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawRule {
    /// Attributes in document order.
    pub attrs: Vec<(String, String)>,
}

impl RawRule {
    /// The rule as a `<rule/>` element in namespace `ns` (the container's:
    /// `amp` or `amp#errors`, so it serialises without its own `xmlns`).
    pub fn to_node(&self, ns: &str) -> Node {
        Node { attrs: self.attrs.clone(), ..Node::new("rule", ns) }
    }
}

/// One understood rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The condition and its value.
    pub condition: Condition,
    /// The action to take when the condition is met.
    pub action: Action,
    /// The attributes as written.
    pub raw: RawRule,
}

/// Why a rule is refused; the variant picks the error container (D6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offence {
    /// An `action` that is neither defined nor supported.
    UnsupportedAction,
    /// A `condition` that is neither defined nor a loaded custom one.
    UnsupportedCondition,
    /// Understood, but malformed or not acceptable.
    Invalid(Invalidity),
}

/// The details of an [`Offence::Invalid`] (all → `<invalid-rules>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidity {
    /// The `action` attribute is absent or empty (R53).
    MissingAction,
    /// The `condition` attribute is absent or empty (R54).
    MissingCondition,
    /// The `value` attribute is absent or empty (R55).
    MissingValue,
    /// A value outside the condition's table, or refused by a custom one.
    BadValue,
    /// An `expire-at` value that is not an XEP-0082 UTC DateTime (R33, R34).
    BadDateTime(DateTimeError),
    /// Well-formed, but refused by the security level (D15, R61c).
    Refused,
}

/// Which error container lists a rule (XEP-0079 §6, R56).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OffenceKind {
    /// `<unsupported-actions/>` under `<bad-request/>`.
    UnsupportedActions,
    /// `<unsupported-conditions/>` under `<bad-request/>`.
    UnsupportedConditions,
    /// `<invalid-rules/>` under `<not-acceptable/>`.
    InvalidRules,
}

impl Offence {
    /// The container this offence is reported in.
    pub fn kind(&self) -> OffenceKind {
        match self {
            Offence::UnsupportedAction => OffenceKind::UnsupportedActions,
            Offence::UnsupportedCondition => OffenceKind::UnsupportedConditions,
            Offence::Invalid(_) => OffenceKind::InvalidRules,
        }
    }
}

impl Rule {
    /// Validates one `<rule/>` element (R17). The checks run in a fixed
    /// order and the first failure decides: an unknown action, then an
    /// unknown condition (so a sender learns what the server lacks even if
    /// the rule is also malformed), then absent or empty attributes, then
    /// the value's syntax for its condition.
    pub fn parse(node: &Node, custom: &dyn CustomConditions) -> Result<Rule, Offence> {
        Rule::check(node, custom).map(|rule| Rule { raw: RawRule { attrs: node.attrs.clone() }, ..rule })
    }

    /// [`Rule::parse`] without copying the attributes: the rule's `raw` is
    /// left empty for a caller that moves the element's attributes in
    /// (request validation, which runs for every AMP message).
    pub(crate) fn check(node: &Node, custom: &dyn CustomConditions) -> Result<Rule, Offence> {
        let action_attr = node.attr("action").unwrap_or("");
        let condition_attr = node.attr("condition").unwrap_or("");
        let action = Action::parse(action_attr);
        if action.is_none() && !action_attr.is_empty() {
            return Err(Offence::UnsupportedAction);
        }
        let defined = ConditionName::parse(condition_attr);
        let declaration = if defined.is_none() { custom.declaration(condition_attr) } else { None };
        if defined.is_none() && declaration.is_none() && !condition_attr.is_empty() {
            return Err(Offence::UnsupportedCondition);
        }
        let Some(action) = action else { return Err(Offence::Invalid(Invalidity::MissingAction)) };
        if condition_attr.is_empty() {
            return Err(Offence::Invalid(Invalidity::MissingCondition));
        }
        let value = node.attr("value").unwrap_or("");
        if value.is_empty() {
            return Err(Offence::Invalid(Invalidity::MissingValue));
        }
        let condition = match (defined, declaration) {
            (Some(name), _) => parse_value(name, value)?,
            (None, Some(declaration)) if custom.accepts(condition_attr, value) => {
                Condition::Custom { name: condition_attr.to_owned(), value: value.to_owned(), declaration }
            }
            (None, _) => return Err(Offence::Invalid(Invalidity::BadValue)),
        };
        Ok(Rule { condition, action, raw: RawRule::default() })
    }
}

/// The value syntax of each defined condition (§3.3.1–§3.3.3).
fn parse_value(name: ConditionName, value: &str) -> Result<Condition, Offence> {
    let bad = Offence::Invalid(Invalidity::BadValue);
    match name {
        ConditionName::Deliver => DeliverValue::parse(value).map(Condition::Deliver).ok_or(bad),
        ConditionName::MatchResource => MatchResource::parse(value).map(Condition::MatchResource).ok_or(bad),
        ConditionName::ExpireAt => {
            Timestamp::parse(value).map(Condition::ExpireAt).map_err(|e| Offence::Invalid(Invalidity::BadDateTime(e)))
        }
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
