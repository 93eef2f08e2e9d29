//! RFC 6121 §2.1.2 roster items on the wire: reading a roster set's single
//! `<item/>` with the §2.3.3 checks, and writing items for results and pushes.

use crate::store::roster::RosterItem;
use crate::xml::Element;
use crate::xmpp::{Condition, Jid, StanzaError, ns};

/// Longest handle, in bytes (the "server-configured limit" of §2.3.3).
pub const MAX_NAME: usize = 1023;
/// Longest group name, in bytes.
pub const MAX_GROUP: usize = 1023;
/// Most groups one item may be in.
pub const MAX_GROUPS: usize = 64;

/// What a roster set asks for (§2.1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetRequest {
    /// Create or replace the item (§2.3, §2.4).
    Update {
        /// The contact, normalised.
        jid: Jid,
        /// The handle; empty means none (§2.4.1).
        name: String,
        /// Groups, in the client's order.
        groups: Vec<String>,
    },
    /// `subscription='remove'` (§2.5).
    Remove(Jid),
}

impl SetRequest {
    /// The contact the request is about.
    pub fn jid(&self) -> &Jid {
        match self {
            SetRequest::Update { jid, .. } | SetRequest::Remove(jid) => jid,
        }
    }
}

fn bad(text: &str) -> StanzaError {
    StanzaError::new(Condition::BadRequest).with_text(text)
}

fn unacceptable(text: &str) -> StanzaError {
    StanzaError::new(Condition::NotAcceptable).with_text(text)
}

/// A roster get's query must not carry items (§2.1.3).
pub fn check_get(query: &Element) -> Result<(), StanzaError> {
    match query.child("item", ns::ROSTER) {
        Some(_) => Err(bad("a roster get carries no items")),
        None => Ok(()),
    }
}

/// Reads a roster set: exactly one item (§2.1.5 rule 1) with a valid 'jid'
/// (§2.1.2.3); `subscription` other than "remove" and `ask`/`approved` are
/// ignored (§2.1.2.1, §2.1.2.2, §2.1.5 rule 2). Oversized handles, empty or
/// oversized groups are `not-acceptable`, duplicate groups `bad-request`.
pub fn parse_set(query: &Element) -> Result<SetRequest, StanzaError> {
    let mut items = query.elements().filter(|e| e.is("item", ns::ROSTER));
    let (Some(item), None) = (items.next(), items.next()) else {
        return Err(bad("a roster set carries exactly one item"));
    };
    let jid = item.attr("jid").ok_or_else(|| bad("the item has no 'jid'"))?;
    let jid = Jid::new(jid).map_err(|_| StanzaError::new(Condition::JidMalformed))?;
    if item.attr("subscription") == Some("remove") {
        return Ok(SetRequest::Remove(jid));
    }
    let name = item.attr("name").unwrap_or_default().to_owned();
    if name.len() > MAX_NAME {
        return Err(unacceptable("the name is too long"));
    }
    let mut groups: Vec<String> = Vec::new();
    for g in item.elements().filter(|e| e.is("group", ns::ROSTER)) {
        let g = g.text();
        if g.is_empty() {
            return Err(unacceptable("empty group name"));
        }
        if g.len() > MAX_GROUP {
            return Err(unacceptable("group name too long"));
        }
        if groups.contains(&g) {
            return Err(bad("duplicate group"));
        }
        groups.push(g);
    }
    if groups.len() > MAX_GROUPS {
        return Err(unacceptable("too many groups"));
    }
    Ok(SetRequest::Update { jid, name, groups })
}

/// An item as the server shows it (§2.1.2): subscription always, `ask` for
/// pending-out states, `approved` for pre-approvals.
pub fn to_element(item: &RosterItem) -> Element {
    let mut el = Element::new("item", ns::ROSTER)
        .with_attr("jid", item.contact.clone())
        .with_attr("subscription", item.state.subscription());
    if !item.name.is_empty() {
        el.set_attr("name", item.name.clone());
    }
    if item.state.ask() {
        el.set_attr("ask", "subscribe");
    }
    if item.approved {
        el.set_attr("approved", "true");
    }
    for g in &item.groups {
        el.push_child(Element::new("group", ns::ROSTER).with_text(g.clone()));
    }
    el
}

/// The item of a push announcing a removal (§2.5.2).
pub fn removed(contact: &str) -> Element {
    Element::new("item", ns::ROSTER).with_attr("jid", contact).with_attr("subscription", "remove")
}

/// The `<query/>` of a result or push, with its version (§2.1.1).
pub fn query(ver: i64, items: impl IntoIterator<Item = Element>) -> Element {
    let mut q = Element::new("query", ns::ROSTER).with_attr("ver", ver.to_string());
    for i in items {
        q.push_child(i);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm::subscription::State;

    fn set(item: Element) -> Result<SetRequest, StanzaError> {
        parse_set(&Element::new("query", ns::ROSTER).with_child(item))
    }

    fn item(jid: &str) -> Element {
        Element::new("item", ns::ROSTER).with_attr("jid", jid)
    }

    fn group(name: &str) -> Element {
        Element::new("group", ns::ROSTER).with_text(name)
    }

    fn condition(r: Result<SetRequest, StanzaError>) -> Condition {
        r.unwrap_err().condition
    }

    #[test]
    fn parses_name_groups_and_normalises_the_jid() {
        let req = set(item("Nurse@Example.COM").with_attr("name", "Nurse").with_child(group("Servants"))).unwrap();
        assert_eq!(
            req,
            SetRequest::Update {
                jid: Jid::new("nurse@example.com").unwrap(),
                name: "Nurse".into(),
                groups: vec!["Servants".into()]
            }
        );
        // Client-sent subscription values other than "remove", ask and approved are ignored.
        let req = set(item("a@b").with_attr("subscription", "both").with_attr("ask", "subscribe")).unwrap();
        assert!(matches!(req, SetRequest::Update { ref groups, .. } if groups.is_empty()));
        assert_eq!(
            set(item("a@b").with_attr("subscription", "remove")).unwrap(),
            SetRequest::Remove(Jid::new("a@b").unwrap())
        );
    }

    #[test]
    fn rejects_what_section_2_3_3_rejects() {
        let two = Element::new("query", ns::ROSTER).with_child(item("a@b")).with_child(item("c@d"));
        assert_eq!(parse_set(&two).unwrap_err().condition, Condition::BadRequest);
        assert_eq!(parse_set(&Element::new("query", ns::ROSTER)).unwrap_err().condition, Condition::BadRequest);
        assert_eq!(condition(set(Element::new("item", ns::ROSTER))), Condition::BadRequest);
        assert_eq!(condition(set(item("@@"))), Condition::JidMalformed);
        assert_eq!(condition(set(item("a@b").with_child(group("G")).with_child(group("G")))), Condition::BadRequest);
        assert_eq!(condition(set(item("a@b").with_child(group("")))), Condition::NotAcceptable);
        assert_eq!(condition(set(item("a@b").with_child(group(&"g".repeat(MAX_GROUP + 1))))), Condition::NotAcceptable);
        assert_eq!(condition(set(item("a@b").with_attr("name", "n".repeat(MAX_NAME + 1)))), Condition::NotAcceptable);
        let mut many = item("a@b");
        for n in 0..=MAX_GROUPS {
            many.push_child(group(&n.to_string()));
        }
        assert_eq!(condition(set(many)), Condition::NotAcceptable);
        assert!(set(item("a@b").with_attr("name", "n".repeat(MAX_NAME))).is_ok());
        let get = Element::new("query", ns::ROSTER).with_child(item("a@b"));
        assert_eq!(check_get(&get).unwrap_err().condition, Condition::BadRequest);
    }

    #[test]
    fn writes_subscription_ask_and_approved() {
        let mut it = RosterItem::new("romeo@example.net");
        it.name = "Romeo".into();
        it.groups = vec!["Friends".into()];
        it.state = State::FromPendingOut;
        let el = to_element(&it);
        assert_eq!(el.attr("subscription"), Some("from"));
        assert_eq!(el.attr("ask"), Some("subscribe"));
        assert_eq!(el.attr("name"), Some("Romeo"));
        assert_eq!(el.attr("approved"), None);
        assert_eq!(el.child("group", ns::ROSTER).unwrap().text(), "Friends");
        it.state = State::To;
        it.approved = true;
        it.name.clear();
        let el = to_element(&it);
        assert_eq!((el.attr("ask"), el.attr("approved"), el.attr("name")), (None, Some("true"), None));
        assert_eq!(query(7, [removed("x@y")]).attr("ver"), Some("7"));
    }
}
