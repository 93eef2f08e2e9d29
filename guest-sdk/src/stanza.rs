//! The stanza being processed (RFC 6120 §8), borrowed from the host.
//!
//! Each accessor is one host call; those returning strings cost a copy
//! across the boundary, so prefer [`Stanza::has_child`] and typed accessors
//! over [`Stanza::to_xml`].

use crate::host::stanza as wit;
use crate::types::{ElementView, MessageType, PackedAttrs, StanzaKind};

/// Read access to the host-owned stanza for the duration of one `process`
/// call. It cannot be kept: the host takes it back when the call returns.
pub struct Stanza<'a> {
    inner: &'a wit::Stanza,
}

impl<'a> Stanza<'a> {
    pub(crate) fn new(inner: &'a wit::Stanza) -> Self {
        Stanza { inner }
    }

    /// Which of the three stanza kinds this is.
    pub fn kind(&self) -> StanzaKind {
        self.inner.kind()
    }

    /// The message type (`Normal` for other kinds and unknown values).
    pub fn message_type(&self) -> MessageType {
        self.inner.message_type()
    }

    /// The sender's full JID as stamped by the server.
    pub fn from(&self) -> String {
        self.inner.from()
    }

    /// The addressee as written; `None` addresses the sender's own account.
    pub fn to(&self) -> Option<String> {
        self.inner.to()
    }

    /// The addressee's bare JID.
    pub fn to_bare(&self) -> Option<String> {
        self.inner.to_bare()
    }

    /// The addressee's resourcepart when the address is a full JID.
    pub fn to_resource(&self) -> Option<String> {
        self.inner.to_resource()
    }

    /// The `id` attribute.
    pub fn id(&self) -> Option<String> {
        self.inner.id()
    }

    /// Any attribute of the top-level element, by name as written.
    pub fn attr(&self, name: &str) -> Option<String> {
        self.inner.attr(name)
    }

    /// Whether a direct child `name` in namespace `ns` exists.
    pub fn has_child(&self, name: &str, ns: &str) -> bool {
        self.inner.has_child(name, ns)
    }

    /// The text of the first direct child `name` in namespace `ns`.
    pub fn child_text(&self, name: &str, ns: &str) -> Option<String> {
        self.inner.child_text(name, ns)
    }

    /// A shallow copy (two levels) of the first direct child `name` in
    /// namespace `ns`, e.g. XEP-0079's `<amp>` with its `<rule/>`s.
    pub fn child_element(&self, name: &str, ns: &str) -> Option<ElementView> {
        self.inner.child_element(name, ns)
    }

    /// The attributes of the first direct child `name` in namespace `ns` and
    /// of its own children named `children` in that namespace, e.g.
    /// XEP-0079's `<amp>` and its `<rule/>`s: three copies across the
    /// boundary where [`Stanza::child_element`] makes one per string. Other
    /// children and all text are left out; read it with
    /// [`PackedAttrs::elements`].
    pub fn child_attrs(&self, name: &str, ns: &str, children: &str) -> Option<PackedAttrs> {
        self.inner.child_attrs(name, ns, children)
    }

    /// The first direct child `name` in namespace `ns`, serialised by the
    /// host with only its children named `children` in that namespace (each
    /// emptied), without the attributes in `drop` and with `add` appended
    /// (each an NCName of letters, digits, `-`, `.`, `_`, with a value XML
    /// can carry; anything else traps). Returned unchanged in this call's
    /// [`Effect::ReplaceChild`](crate::Effect::ReplaceChild), the host uses
    /// the element it built instead of parsing the string: XEP-0079's
    /// delivered `<amp>` costs neither side any XML work.
    pub fn child_copy(
        &self,
        name: &str,
        ns: &str,
        children: &str,
        drop: &[String],
        add: &[(String, String)],
    ) -> Option<String> {
        self.inner.child_copy(name, ns, children, drop, add)
    }

    /// The `<body/>` text in `jabber:client` (RFC 6121 §5.2.3).
    pub fn body(&self) -> Option<String> {
        self.child_text("body", JABBER_CLIENT)
    }

    /// The whole stanza serialised; an escape hatch, not for the hot path.
    pub fn to_xml(&self) -> String {
        self.inner.to_xml()
    }
}

/// The client namespace of RFC 6120 §4.8.3, in which stanza children like
/// `<body/>` live.
pub const JABBER_CLIENT: &str = "jabber:client";
