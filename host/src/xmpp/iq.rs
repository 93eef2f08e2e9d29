//! RFC 6120 §8.2.3 IQ semantics: every get/set gets exactly one result or
//! error, carrying the request's id. Built from the raw element so the same
//! helpers serve before binding (no JIDs yet) and after.

use super::error::{Condition, StanzaError};
use super::ns;
use crate::xml::Element;

/// The IQ `type`, when it is one of the four RFC 6120 values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IqType {
    /// A request for information.
    Get,
    /// A request to change something.
    Set,
    /// A successful response.
    Result,
    /// An error response.
    Error,
}

impl IqType {
    /// Parses the `type` attribute of an `<iq/>`.
    pub fn of(iq: &Element) -> Option<IqType> {
        match iq.attr("type")? {
            "get" => Some(IqType::Get),
            "set" => Some(IqType::Set),
            "result" => Some(IqType::Result),
            "error" => Some(IqType::Error),
            _ => None,
        }
    }

    /// True for get and set, which must be answered.
    pub fn is_request(self) -> bool {
        matches!(self, IqType::Get | IqType::Set)
    }
}

/// The single payload child of a get/set (RFC 6120 §8.2.3: exactly one).
pub fn payload(iq: &Element) -> Result<&Element, StanzaError> {
    let mut children = iq.elements();
    match (children.next(), children.next()) {
        (Some(p), None) => Ok(p),
        _ => Err(StanzaError::new(Condition::BadRequest).with_text("an IQ request carries exactly one payload")),
    }
}

fn reply(iq: &Element, kind: &str) -> Element {
    let mut el = Element::new("iq", ns::CLIENT).with_attr("type", kind);
    if let Some(id) = iq.attr("id") {
        el.set_attr("id", id);
    }
    if let Some(from) = iq.attr("to") {
        el.set_attr("from", from);
    }
    if let Some(to) = iq.attr("from") {
        el.set_attr("to", to);
    }
    el
}

/// A `result` for `iq`, with an optional payload.
pub fn result(iq: &Element, payload: Option<Element>) -> Element {
    let mut el = reply(iq, "result");
    if let Some(p) = payload {
        el.push_child(p);
    }
    el
}

/// An `error` for `iq`, echoing the request payload as RFC 6120 §8.3.1 allows.
pub fn error(iq: &Element, err: &StanzaError) -> Element {
    let mut el = reply(iq, "error");
    if let Some(p) = iq.elements().next() {
        el.push_child(p.clone());
    }
    el.push_child(err.to_element());
    el
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_and_error_swap_addresses_and_keep_the_id() {
        let iq = Element::new("iq", ns::CLIENT)
            .with_attr("type", "get")
            .with_attr("id", "q1")
            .with_attr("from", "a@x/r")
            .with_attr("to", "x")
            .with_child(Element::new("ping", ns::PING));
        assert_eq!(IqType::of(&iq), Some(IqType::Get));
        let r = result(&iq, None);
        assert_eq!((r.attr("id"), r.attr("to"), r.attr("from")), (Some("q1"), Some("a@x/r"), Some("x")));
        let e = error(&iq, &StanzaError::new(Condition::ServiceUnavailable));
        assert_eq!(e.attr("type"), Some("error"));
        assert!(e.child("ping", ns::PING).is_some());
        assert!(e.child("error", ns::CLIENT).unwrap().child("service-unavailable", ns::STANZAS).is_some());
    }

    #[test]
    fn payload_requires_exactly_one_child() {
        let empty = Element::new("iq", ns::CLIENT);
        assert_eq!(payload(&empty).unwrap_err().condition, Condition::BadRequest);
        let two = empty.clone().with_child(Element::new("a", "x")).with_child(Element::new("b", "x"));
        assert!(payload(&two).is_err());
    }
}
