//! Every namespace the load tool writes, written once.

/// RFC 6120 §4.8.2 client content namespace.
pub const CLIENT: &str = "jabber:client";
/// RFC 6120 §4.8.1 stream namespace.
pub const STREAM: &str = "http://etherx.jabber.org/streams";
/// RFC 6120 §5 STARTTLS.
pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// RFC 6120 §6 SASL.
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// RFC 6120 §7 resource binding.
pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// RFC 3921 §3 legacy session establishment.
pub const SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// XEP-0077 in-band registration.
pub const REGISTER: &str = "jabber:iq:register";
/// XEP-0199 ping.
pub const PING: &str = "urn:xmpp:ping";
/// XEP-0079 advanced message processing.
pub const AMP: &str = "http://jabber.org/protocol/amp";
/// XEP-0203 delayed delivery.
pub const DELAY: &str = "urn:xmpp:delay";
/// RFC 6120 §8.3 stanza error conditions.
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
