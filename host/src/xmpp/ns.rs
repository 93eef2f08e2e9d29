//! Every namespace string, written once (RFC 6120, RFC 6121 and the XEPs).

/// RFC 6120 §4.8.1: the stream namespace.
pub const STREAM: &str = "http://etherx.jabber.org/streams";
/// RFC 6120 §4.8.2: the content namespace of client-to-server streams.
pub const CLIENT: &str = "jabber:client";
/// RFC 6120 §4.9.3: stream error conditions.
pub const STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
/// RFC 6120 §8.3.3: stanza error conditions.
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// RFC 6120 §5: STARTTLS.
pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// RFC 6120 §6: SASL.
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// RFC 6120 §7: resource binding.
pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// RFC 3921 §3 (draft-cridland-xmpp-session): legacy session establishment.
pub const SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// XEP-0077: in-band registration (IQ namespace).
pub const REGISTER: &str = "jabber:iq:register";
/// XEP-0077 §8: the stream feature for in-band registration.
pub const REGISTER_FEATURE: &str = "http://jabber.org/features/iq-register";
/// XEP-0030: disco#info.
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// XEP-0030: disco#items.
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// XEP-0092: software version.
pub const VERSION: &str = "jabber:iq:version";
/// XEP-0199: XMPP ping.
pub const PING: &str = "urn:xmpp:ping";
/// XEP-0203: delayed delivery stamps.
pub const DELAY: &str = "urn:xmpp:delay";
/// The `xml:` prefix's fixed namespace (XML Namespaces §3).
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";
/// RFC 6121 §2: the roster (IQ namespace).
pub const ROSTER: &str = "jabber:iq:roster";
/// RFC 6121 §2.6.1: the roster versioning stream feature.
pub const ROSTER_VER: &str = "urn:xmpp:features:rosterver";
/// RFC 6121 §3.4: the subscription pre-approval stream feature.
pub const PRE_APPROVAL: &str = "urn:xmpp:features:pre-approval";
/// XEP-0079 Advanced Message Processing: the `<amp/>` element and disco feature.
pub const AMP: &str = "http://jabber.org/protocol/amp";
/// XEP-0079 §8: the stream feature `<amp/>`.
pub const AMP_FEATURE: &str = "http://jabber.org/features/amp";
/// XEP-0050: ad-hoc commands (IQ namespace, disco node and feature).
pub const COMMANDS: &str = "http://jabber.org/protocol/commands";
/// XEP-0004: data forms.
pub const DATA_FORMS: &str = "jabber:x:data";
