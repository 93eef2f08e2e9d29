//! RFC 6120 §4.3.2 stream features, as far as the tests need to inspect them.

use super::ns;
use crate::xml::El;

/// The `<stream:features/>` of the current stream, with the parts tests branch on.
#[derive(Clone, Debug, Default)]
pub struct Features {
    /// STARTTLS offered (RFC 6120 §5.4.1).
    pub starttls: bool,
    /// STARTTLS offered with `<required/>`.
    pub starttls_required: bool,
    /// SASL mechanism names in the server's order (RFC 6120 §6.4.1).
    pub mechanisms: Vec<String>,
    /// Resource binding offered (RFC 6120 §7.2).
    pub bind: bool,
    /// XEP-0077 in-band registration advertised as a stream feature.
    pub register: bool,
    /// The whole element, for assertions on anything else.
    pub raw: El,
}

impl Features {
    /// Reads the known features out of a `<stream:features/>` element.
    pub fn parse(raw: El) -> Features {
        let tls = raw.child("starttls", ns::TLS);
        let mechanisms = raw
            .child("mechanisms", ns::SASL)
            .map(|m| {
                m.children.iter().filter(|c| c.is("mechanism", ns::SASL)).map(|c| c.text.trim().to_owned()).collect()
            })
            .unwrap_or_default();
        Features {
            starttls: tls.is_some(),
            starttls_required: tls.is_some_and(|t| t.child("required", ns::TLS).is_some()),
            mechanisms,
            bind: raw.child("bind", ns::BIND).is_some(),
            register: raw.child("register", ns::REGISTER_FEATURE).is_some(),
            raw,
        }
    }

    /// Whether a legacy session must be established after binding: offered and not
    /// marked `<optional/>` (RFC 6121 errata / draft-cridland-xmpp-session).
    pub fn session_required(&self) -> bool {
        self.raw.child("session", ns::SESSION).is_some_and(|s| s.child("optional", ns::SESSION).is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Item, StreamReader};

    fn features(xml: &str) -> Features {
        let mut r = StreamReader::new();
        r.push(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
        r.push(xml.as_bytes());
        r.next_item().unwrap();
        match r.next_item().unwrap() {
            Some(Item::Element(el)) => Features::parse(el),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pre_tls_features() {
        let f = features(
            "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
             <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-256</mechanism>\
             <mechanism>PLAIN</mechanism></mechanisms>\
             <register xmlns='http://jabber.org/features/iq-register'/></stream:features>",
        );
        assert!(f.starttls && f.starttls_required && f.register && !f.bind);
        assert_eq!(f.mechanisms, ["SCRAM-SHA-256", "PLAIN"]);
        assert!(!f.session_required());
    }

    #[test]
    fn post_auth_features() {
        let f = features(
            "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
             <session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>",
        );
        assert!(f.bind && !f.starttls && f.mechanisms.is_empty());
        assert!(f.session_required());
        let f = features(
            "<stream:features><session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>\
             </stream:features>",
        );
        assert!(!f.session_required());
    }
}
