//! What plugins see of a stanza besides single accessors: the two-level
//! `element-view`, the packed attributes of `child-attrs`, the `to-xml` escape hatch, and the narrow `message-info`
//! custom AMP conditions get.

use super::bindings::{message_type_to_wit, wit};
use crate::xml::{Element, Node};
use crate::xmpp::Stanza;

/// The narrow view of a message custom AMP conditions get.
pub(super) fn message_info(stanza: &Stanza) -> wit::MessageInfo {
    let mut size = Vec::new();
    stanza.el.write_to(&mut size, crate::xmpp::ns::CLIENT);
    wit::MessageInfo {
        from: stanza.from.as_ref().map(|j| j.to_string()).unwrap_or_default(),
        to: stanza.to.as_ref().map(|j| j.to_string()).unwrap_or_default(),
        message_type: message_type_to_wit(stanza.message_type()),
        id: stanza.id().map(str::to_owned),
        body: stanza.el.child("body", crate::xmpp::ns::CLIENT).map(Element::text),
        size: u32::try_from(size.len()).unwrap_or(u32::MAX),
    }
}

/// Two levels of `el`, for the `child-element` accessor.
pub(super) fn element_view(el: &Element) -> wit::ElementView {
    let attrs = |e: &Element| e.attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    wit::ElementView {
        name: el.name.to_string(),
        ns: el.ns.to_string(),
        attrs: attrs(el),
        children: el
            .children
            .iter()
            .filter_map(|c| match c {
                Node::Element(c) => Some(wit::LeafView {
                    name: c.name.to_string(),
                    ns: c.ns.to_string(),
                    attrs: attrs(c),
                    text: c.text(),
                }),
                Node::Text(_) => None,
            })
            .collect(),
    }
}

/// The attributes of `el` and of its children `children` in `el`'s
/// namespace, packed for the `child-attrs` accessor: three copies into the
/// guest however many attributes there are.
pub(super) fn packed_attrs(el: &Element, children: &str) -> wit::PackedAttrs {
    let selected = el.children.iter().filter_map(|c| match c {
        Node::Element(c) if c.name == children && c.ns == el.ns => Some(c),
        _ => None,
    });
    let mut packed = wit::PackedAttrs { text: String::new(), ends: Vec::new(), counts: Vec::new() };
    for e in std::iter::once(el).chain(selected) {
        packed.counts.push(u32::try_from(e.attrs.len()).unwrap_or(u32::MAX));
        for (k, v) in &e.attrs {
            for s in [k.as_str(), v.as_str()] {
                packed.text.push_str(s);
                packed.ends.push(u32::try_from(packed.text.len()).unwrap_or(u32::MAX));
            }
        }
    }
    packed
}

/// `el` with only its children `children` in its namespace (emptied),
/// without the attributes in `drop` and with `add` appended: the element
/// behind the `child-copy` accessor.
pub(super) fn child_copy(el: &Element, children: &str, drop: &[String], add: Vec<(String, String)>) -> Element {
    let mut copy = Element::new(el.name.as_str(), el.ns.as_str());
    copy.attrs.extend(
        el.attrs.iter().filter(|(k, _)| !drop.iter().any(|d| d == k.as_str())).map(|(k, v)| (k.clone(), v.clone())),
    );
    for (k, v) in add {
        copy.set_attr(k, v);
    }
    copy.children.extend(el.children.iter().filter_map(|c| match c {
        Node::Element(c) if c.name == children && c.ns == el.ns => {
            let mut kept = Element::new(c.name.as_str(), c.ns.as_str());
            kept.attrs = c.attrs.clone();
            Some(Node::Element(kept))
        }
        _ => None,
    }));
    copy
}

/// An attribute name `child-copy` accepts: an NCName of letters, digits,
/// `-`, `.` and `_` (what a plugin may add without the host parsing it).
pub(super) fn plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// A character XML 1.0 can carry (its `Char` production).
pub(super) fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_copy_keeps_selected_children_and_edits_attributes() {
        let amp = Element::new("amp", "urn:amp")
            .with_attr("per-hop", "true")
            .with_attr("status", "alert")
            .with_attr("to", "forged")
            .with_text("t")
            .with_child(Element::new("rule", "urn:amp").with_attr("condition", "deliver").with_text("x"))
            .with_child(Element::new("rule", "urn:other").with_attr("x", "1"))
            .with_child(Element::new("rule", "urn:amp").with_child(Element::new("y", "urn:amp")));
        let drop = ["status".to_owned(), "from".to_owned()];
        let add = vec![("from".to_owned(), "a@b/c".to_owned()), ("to".to_owned(), "d@e".to_owned())];
        let want = Element::new("amp", "urn:amp")
            .with_attr("per-hop", "true")
            .with_attr("to", "d@e")
            .with_attr("from", "a@b/c")
            .with_child(Element::new("rule", "urn:amp").with_attr("condition", "deliver"))
            .with_child(Element::new("rule", "urn:amp"));
        let copy = child_copy(&amp, "rule", &drop, add);
        assert_eq!(copy, want);
        let xml = copy.to_xml("");
        assert_eq!(Element::from_xml(&xml, "jabber:client").unwrap(), copy, "the string is that element");
    }

    #[test]
    fn names_and_characters_child_copy_accepts() {
        for ok in ["from", "to", "x-y.z_1", "_a", "caf\u{e9}"] {
            assert!(plain_name(ok), "{ok}");
        }
        for bad in ["", "a b", "x:y", "1a", "-a", "a\"b", "a=b"] {
            assert!(!plain_name(bad), "{bad:?}");
        }
        assert!("a\tb\u{e9}\u{1F600}".chars().all(xml_char));
        for bad in ['\u{0}', '\u{1}', '\u{1b}', '\u{FFFE}', '\u{FFFF}'] {
            assert!(!xml_char(bad), "{bad:?}");
        }
    }

    #[test]
    fn packed_attrs_keep_order_and_select_children() {
        let amp = Element::new("amp", "urn:amp")
            .with_attr("per-hop", "true")
            .with_child(Element::new("rule", "urn:amp").with_attr("condition", "deliver").with_attr("value", "<&>"))
            .with_child(Element::new("rule", "urn:other").with_attr("x", "1"))
            .with_child(Element::new("other", "urn:amp").with_attr("y", "2"))
            .with_child(Element::new("rule", "urn:amp"));
        let p = packed_attrs(&amp, "rule");
        assert_eq!(p.text, "per-hoptrueconditiondelivervalue<&>");
        assert_eq!(p.ends, [7, 11, 20, 27, 32, 35]);
        assert_eq!(p.counts, [1, 2, 0]);
    }
}
