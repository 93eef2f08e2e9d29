//! XEP-0079 §2.2.5, §3.4 and §6 (R3, R24–R27, R41, R44–R46, R49–R52, R56,
//! R57; D1, D2, D16): the messages the server sends back to the sender —
//! alert and notify events, the error action's `<failed-rules>`, and the
//! validation and service-unavailable errors — in the exact shapes of
//! amp.md §2.
//!
//! They are built as [`Node`] trees; [`Node::to_xml_within`] with
//! [`ns::CLIENT`] gives the stanza as it goes on a c2s stream.

use wasmpp_guest_sdk::{Condition, ErrorType};

use crate::node::Node;
use crate::ns;
use crate::request::{Reason, Rejection};
use crate::rules::{Action, OffenceKind, RawRule};

/// The R56 table: every error an AMP server sends, with its general
/// condition, type, legacy code and specific element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AmpError {
    /// An unknown action (D6).
    UnsupportedActions,
    /// An unknown condition (D6).
    UnsupportedConditions,
    /// A malformed or refused rule (D6, D15).
    InvalidRules,
    /// A malformed request as a whole: no id (D10), no rules (D11), bad
    /// `per-hop` (D12). No specific element: no rule is at fault.
    BadRequest,
    /// The next server lacks AMP (R24).
    ServiceUnavailable,
    /// An `error` action fired (R44, R45, D2).
    FailedRules,
}

impl AmpError {
    /// The RFC 6120 defined condition.
    pub fn condition(self) -> Condition {
        match self {
            AmpError::UnsupportedActions | AmpError::UnsupportedConditions | AmpError::BadRequest => {
                Condition::BadRequest
            }
            AmpError::InvalidRules => Condition::NotAcceptable,
            AmpError::ServiceUnavailable => Condition::ServiceUnavailable,
            AmpError::FailedRules => Condition::UndefinedCondition,
        }
    }

    /// The element name of [`AmpError::condition`].
    pub fn condition_element(self) -> &'static str {
        match self.condition() {
            Condition::BadRequest => "bad-request",
            Condition::NotAcceptable => "not-acceptable",
            Condition::ServiceUnavailable => "service-unavailable",
            _ => "undefined-condition",
        }
    }

    /// The error type: `cancel` for service-unavailable, `modify` for the
    /// rest (R45, R56 — also for undefined-condition, unlike RFC 6120's
    /// usual `cancel`).
    pub fn error_type(self) -> ErrorType {
        match self {
            AmpError::ServiceUnavailable => ErrorType::Cancel,
            _ => ErrorType::Modify,
        }
    }

    /// The legacy `code` of XEP-0079's examples (405 for not-acceptable is
    /// the XEP's, kept verbatim for interop; XEP-0086 would say 406).
    pub fn code(self) -> u16 {
        match self {
            AmpError::UnsupportedActions | AmpError::UnsupportedConditions | AmpError::BadRequest => 400,
            AmpError::InvalidRules => 405,
            AmpError::ServiceUnavailable => 503,
            AmpError::FailedRules => 500,
        }
    }

    /// The specific element (name, namespace) wrapping the rules, if any.
    pub fn container(self) -> Option<(&'static str, &'static str)> {
        match self {
            AmpError::UnsupportedActions => Some(("unsupported-actions", ns::AMP)),
            AmpError::UnsupportedConditions => Some(("unsupported-conditions", ns::AMP)),
            AmpError::InvalidRules => Some(("invalid-rules", ns::AMP)),
            AmpError::FailedRules => Some(("failed-rules", ns::AMP_ERRORS)),
            AmpError::BadRequest | AmpError::ServiceUnavailable => None,
        }
    }

    /// The `<error/>` element listing `rules` in the specific element.
    pub fn to_node(self, rules: &[RawRule]) -> Node {
        let kind = match self.error_type() {
            ErrorType::Cancel => "cancel",
            _ => "modify",
        };
        let mut error = Node::new("error", ns::CLIENT)
            .with_attr("type", kind)
            .with_attr("code", &self.code().to_string())
            .with_child(Node::new(self.condition_element(), ns::STANZAS));
        if let Some((name, container_ns)) = self.container() {
            let container = Node::new(name, container_ns);
            error
                .children
                .push(Node { children: rules.iter().map(|r| r.to_node(container_ns)).collect(), ..container });
        }
        error
    }
}

impl From<&Reason> for AmpError {
    fn from(reason: &Reason) -> Self {
        match reason {
            Reason::MissingId | Reason::NoRules | Reason::BadPerHop => AmpError::BadRequest,
            Reason::Rules { kind: OffenceKind::UnsupportedActions, .. } => AmpError::UnsupportedActions,
            Reason::Rules { kind: OffenceKind::UnsupportedConditions, .. } => AmpError::UnsupportedConditions,
            Reason::Rules { kind: OffenceKind::InvalidRules, .. } => AmpError::InvalidRules,
        }
    }
}

/// The envelope of a reply (D1): from the server's domain to the sender,
/// repeating the original `id` (R3, R26).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The server's domain.
    pub server: &'a str,
    /// The sender's full JID, or its bare JID when the event is stored for
    /// an offline sender (D16).
    pub to: &'a str,
    /// The original message's `id` (absent only for D10).
    pub id: Option<&'a str>,
}

impl Reply<'_> {
    fn message(&self, error: bool) -> Node {
        let mut m = Node::new("message", ns::CLIENT).with_attr("from", self.server).with_attr("to", self.to);
        if let Some(id) = self.id {
            m.attrs.push(("id".to_owned(), id.to_owned()));
        }
        if error {
            m.attrs.push(("type".to_owned(), "error".to_owned()));
        }
        m
    }
}

/// The original message's addresses, echoed in an event's `<amp>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Original<'a> {
    /// R51: the sender's full JID.
    pub from: &'a str,
    /// R52, D1: the original `to`, verbatim (bare or full).
    pub to: &'a str,
}

/// R25, R41, R44, R46, D1, D2: the event for a fired rule — alert and notify
/// as `<amp status>` messages, error as a `type='error'` message with
/// `<failed-rules>`; `None` for drop, which answers nobody (R43). Only the
/// fired rule is included, never the original payload (R27).
pub fn event(reply: Reply<'_>, action: Action, original: Original<'_>, rule: &RawRule) -> Option<Node> {
    if action == Action::Drop {
        return None;
    }
    let amp = Node::new("amp", ns::AMP)
        .with_attr("status", action.as_str())
        .with_attr("from", original.from)
        .with_attr("to", original.to)
        .with_child(rule.to_node(ns::AMP));
    let message = reply.message(action == Action::Error).with_child(amp);
    Some(match action {
        Action::Error => message.with_child(AmpError::FailedRules.to_node(std::slice::from_ref(rule))),
        _ => message,
    })
}

/// R19a, R57, D6, D7, D10–D12: the error for a refused request, echoing its
/// `<amp>` (without status/from/to) and listing the offending rules.
pub fn rejection(reply: Reply<'_>, rejection: &Rejection) -> Node {
    let listed: &[RawRule] = match &rejection.reason {
        Reason::Rules { listed, .. } => listed,
        _ => &[],
    };
    reply.message(true).with_child(rejection.echo.clone()).with_child(AmpError::from(&rejection.reason).to_node(listed))
}

/// R24: the next server lacks AMP; `echo` is the request's `<amp>`.
pub fn service_unavailable(reply: Reply<'_>, echo: &Node) -> Node {
    reply.message(true).with_child(echo.clone()).with_child(AmpError::ServiceUnavailable.to_node(&[]))
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
