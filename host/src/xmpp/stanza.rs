//! RFC 6120 §8: the three stanza kinds, parsed once at ingress.
//!
//! A [`Stanza`] keeps its [`Element`] (the plugin chain and the router work on
//! it) next to the typed addresses, which are parsed exactly once here.

use super::error::{Condition, StanzaError};
use super::ns;
use crate::xml::Element;
use jid::Jid;

/// Which of the three stanzas this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StanzaKind {
    /// `<message/>`
    Message,
    /// `<presence/>`
    Presence,
    /// `<iq/>`
    Iq,
}

/// RFC 6121 §5.2.2 message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// `normal`, also the default when the attribute is absent.
    Normal,
    /// `chat`
    Chat,
    /// `groupchat`
    Groupchat,
    /// `headline`
    Headline,
    /// `error`
    Error,
}

impl MessageType {
    /// Parses the `type` attribute; RFC 6121 §5.2.2: unknown values are `normal`.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("chat") => MessageType::Chat,
            Some("groupchat") => MessageType::Groupchat,
            Some("headline") => MessageType::Headline,
            Some("error") => MessageType::Error,
            _ => MessageType::Normal,
        }
    }
}

/// A top-level stanza with its addresses parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Stanza {
    /// Which kind of stanza.
    pub kind: StanzaKind,
    /// The element itself; `from`/`to` attributes mirror the fields below.
    pub el: Element,
    /// The sender, as stamped by the server (RFC 6120 §8.1.2.1).
    pub from: Option<Jid>,
    /// The addressee; `None` means the sender's own account or the server.
    pub to: Option<Jid>,
}

impl Stanza {
    /// Parses a top-level element in `jabber:client`. Unknown elements are
    /// `None` (the caller answers with `unsupported-stanza-type`); a bad
    /// address is a `jid-malformed` stanza error.
    pub fn from_element(el: Element) -> Option<Result<Stanza, (Element, StanzaError)>> {
        if el.ns != ns::CLIENT {
            return None;
        }
        let kind = match el.name.as_str() {
            "message" => StanzaKind::Message,
            "presence" => StanzaKind::Presence,
            "iq" => StanzaKind::Iq,
            _ => return None,
        };
        let parse = |name: &str| el.attr(name).map(super::address::parse).transpose();
        let (to, from) = match (parse("to"), parse("from")) {
            (Ok(to), Ok(from)) => (to, from),
            _ => return Some(Err((el, StanzaError::new(Condition::JidMalformed)))),
        };
        Some(Ok(Stanza { kind, el, from, to }))
    }

    /// The `id` attribute.
    pub fn id(&self) -> Option<&str> {
        self.el.attr("id")
    }

    /// The `type` attribute.
    pub fn type_attr(&self) -> Option<&str> {
        self.el.attr("type")
    }

    /// The message type (meaningful for messages only).
    pub fn message_type(&self) -> MessageType {
        MessageType::parse(self.type_attr())
    }

    /// True for stanzas of type `error`, which are never answered with an
    /// error (RFC 6120 §8.3.1).
    pub fn is_error(&self) -> bool {
        self.type_attr() == Some("error")
    }

    /// Sets the sender, keeping the attribute in step.
    pub fn set_from(&mut self, from: Jid) {
        self.el.set_attr("from", from.as_str());
        self.from = Some(from);
    }

    /// Sets the addressee, keeping the attribute in step.
    pub fn set_to(&mut self, to: Jid) {
        self.el.set_attr("to", to.as_str());
        self.to = Some(to);
    }

    /// The error reply RFC 6120 §8.3.1 asks for: same kind and id, addresses
    /// swapped, `type='error'`, the original payload kept, and the `<error/>`
    /// appended. `None` for a stanza that is itself an error.
    pub fn error_reply(&self, err: &StanzaError) -> Option<Stanza> {
        if self.is_error() {
            return None;
        }
        let mut el = self.el.clone();
        el.attrs.retain(|(k, _)| k != "to" && k != "from" && k != "type");
        el.set_attr("type", "error");
        el.push_child(err.to_element());
        let mut reply = Stanza { kind: self.kind, el, from: None, to: None };
        if let Some(to) = self.to.clone() {
            reply.set_from(to);
        }
        if let Some(from) = self.from.clone() {
            reply.set_to(from);
        }
        Some(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(to: &str) -> Element {
        Element::new("message", ns::CLIENT).with_attr("to", to).with_attr("id", "m1")
    }

    #[test]
    fn parses_kind_and_addresses() {
        let s = Stanza::from_element(message("juliet@example.com/balcony")).unwrap().unwrap();
        assert_eq!(s.kind, StanzaKind::Message);
        assert_eq!(s.to.as_ref().unwrap().as_str(), "juliet@example.com/balcony");
        assert_eq!(s.message_type(), MessageType::Normal);
    }

    #[test]
    fn malformed_address_is_jid_malformed() {
        let (_, err) = Stanza::from_element(message("@@bad@")).unwrap().unwrap_err();
        assert_eq!(err.condition, Condition::JidMalformed);
    }

    #[test]
    fn unknown_element_is_not_a_stanza() {
        assert!(Stanza::from_element(Element::new("foo", ns::CLIENT)).is_none());
        assert!(Stanza::from_element(Element::new("message", "jabber:server")).is_none());
    }

    #[test]
    fn error_reply_swaps_addresses_and_never_answers_errors() {
        let mut s = Stanza::from_element(message("juliet@example.com")).unwrap().unwrap();
        s.set_from(Jid::new("romeo@example.com/orchard").unwrap());
        let reply = s.error_reply(&StanzaError::new(Condition::ServiceUnavailable)).unwrap();
        assert_eq!(reply.el.attr("to"), Some("romeo@example.com/orchard"));
        assert_eq!(reply.el.attr("from"), Some("juliet@example.com"));
        assert_eq!(reply.el.attr("id"), Some("m1"));
        let err = reply.el.child("error", ns::CLIENT).unwrap();
        assert_eq!(err.attr("type"), Some("cancel"));
        assert!(err.child("service-unavailable", ns::STANZAS).is_some());
        assert!(reply.error_reply(&StanzaError::new(Condition::BadRequest)).is_none());
    }
}
