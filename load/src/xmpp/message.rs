//! RFC 6121 §5 chat messages as the load tool writes and reads them, with an
//! optional XEP-0079 `<amp/>` rule set, and the replies the tool owes a server
//! that asks it something (RFC 6120 §8.2.3: every get/set IQ gets an answer).

use super::ns;
use super::stamp::Stamp;
use crate::xml::{El, Stanza, escape};

/// XEP-0079 §3.1: drop the message if it would be stored offline. Harmless for
/// an online recipient (its delivery is `direct`), yet it makes an AMP-aware
/// server evaluate a rule for every message.
pub const AMP_RULES: &str = "<rule condition='deliver' action='drop' value='stored'/>";

/// The fixed parts of every message one sender sends, so that writing one
/// costs a couple of copies and the id digits.
#[derive(Clone, Debug)]
pub struct Template {
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Template {
    /// `<message to=… type='chat' id='STAMP'><body>…</body>[<amp/>]</message>`.
    pub fn new(to: &str, body_size: usize, amp: bool) -> Template {
        let head = format!("<message to='{}' type='chat' id='", escape(to)).into_bytes();
        let mut tail = b"'><body>".to_vec();
        tail.extend((0..body_size).map(|i| b'a' + (i % 26) as u8));
        tail.extend_from_slice(b"</body>");
        if amp {
            tail.extend_from_slice(format!("<amp xmlns='{}'>{AMP_RULES}</amp>", ns::AMP).as_bytes());
        }
        tail.extend_from_slice(b"</message>");
        Template { head, tail }
    }

    /// Appends one message stamped `stamp`.
    pub fn write(&self, out: &mut Vec<u8>, stamp: Stamp) {
        out.extend_from_slice(&self.head);
        stamp.write(out);
        out.extend_from_slice(&self.tail);
    }

    /// Bytes of one message, for buffer sizing.
    pub fn len(&self) -> usize {
        self.head.len() + self.tail.len() + 60
    }

    /// Never empty; here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// What an incoming top-level element means to a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A message carrying one of our stamps.
    Message {
        /// Decoded id.
        stamp: Stamp,
        /// It carries a XEP-0203 `<delay/>` (came from offline storage).
        delayed: bool,
    },
    /// `<message type='error'/>`: one of ours came back (RFC 6120 §8.3).
    Bounce {
        /// The bounced message's id, if it was ours.
        stamp: Option<Stamp>,
        /// The defined condition (`service-unavailable`, …) or XEP-0079's
        /// `unsupported-conditions`/`unsupported-actions` when present.
        condition: String,
    },
    /// XEP-0079 §3.5: a notification from the server about a rule.
    AmpNotice,
    /// An IQ get/set the tool must answer; the bytes to send.
    Request(Vec<u8>),
    /// Presence, IQ results, foreign messages: ignored.
    Other,
}

/// Classifies one element with the byte scanner; only bounces, which should
/// be rare, are parsed into a tree.
pub fn classify(s: &Stanza<'_>) -> Incoming {
    match s.name() {
        b"message" => {
            if s.attr(b"type") == Some(b"error") {
                return Incoming::Bounce { stamp: s.attr(b"id").and_then(Stamp::parse), condition: condition(s) };
            }
            match s.attr(b"id").and_then(Stamp::parse) {
                Some(stamp) => Incoming::Message { stamp, delayed: s.contains(ns::DELAY.as_bytes()) },
                None if s.contains(ns::AMP.as_bytes()) => Incoming::AmpNotice,
                None => Incoming::Other,
            }
        }
        b"iq" if matches!(s.attr(b"type"), Some(b"get" | b"set")) => Incoming::Request(answer(s)),
        _ => Incoming::Other,
    }
}

fn condition(s: &Stanza<'_>) -> String {
    let Ok(el) = El::parse(s.bytes()) else { return "(unparsable error)".into() };
    let error = el.child("error");
    let amp = error.and_then(|e| e.children.iter().find(|c| c.name.starts_with("unsupported-")));
    match (amp, el.condition()) {
        (Some(a), _) => a.name.clone(),
        (None, Some(c)) => c.to_owned(),
        (None, None) => "(no condition)".into(),
    }
}

/// XEP-0199 pings get a result; anything else `service-unavailable`.
fn answer(s: &Stanza<'_>) -> Vec<u8> {
    let id = String::from_utf8_lossy(s.attr(b"id").unwrap_or_default()).into_owned();
    let to = s.attr(b"from").map(|f| format!(" to='{}'", String::from_utf8_lossy(f))).unwrap_or_default();
    // The raw values are already escaped as received; they are echoed as they are.
    if s.contains(ns::PING.as_bytes()) {
        format!("<iq type='result' id='{id}'{to}/>").into_bytes()
    } else {
        format!(
            "<iq type='error' id='{id}'{to}><error type='cancel'><service-unavailable xmlns='{}'/></error></iq>",
            ns::STANZAS
        )
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp { nonce: 9, seq: 3, nanos: 12345 }
    }

    #[test]
    fn a_written_message_reads_back_as_ours() {
        let t = Template::new("b@localhost", 200, false);
        let mut out = Vec::new();
        t.write(&mut out, stamp());
        assert!(out.len() <= t.len());
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("<message to='b@localhost' type='chat' id='9.3.12345'><body>abc"), "{text}");
        let body = El::parse(&out).unwrap().child("body").unwrap().text.clone();
        assert_eq!(body.len(), 200);
        assert_eq!(classify(&Stanza::new(&out)), Incoming::Message { stamp: stamp(), delayed: false });
    }

    #[test]
    fn amp_rules_are_well_formed() {
        let mut out = Vec::new();
        Template::new("b@localhost", 5, true).write(&mut out, stamp());
        let el = El::parse(&out).unwrap();
        let rule = el.child("amp").and_then(|a| a.child("rule")).unwrap();
        assert_eq!(rule.attr("condition"), Some("deliver"));
        assert_eq!(el.child("amp").unwrap().attr("xmlns"), Some(ns::AMP));
    }

    #[test]
    fn delayed_bounced_and_notices_are_told_apart() {
        let delayed = b"<message from='a@l/r' id='9.3.12345' type='chat'><body>x</body>\
            <delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/></message>";
        assert_eq!(classify(&Stanza::new(delayed)), Incoming::Message { stamp: stamp(), delayed: true });
        let bounce = b"<message type='error' id='9.3.12345'><body>x</body><error type='cancel'>\
            <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>";
        assert_eq!(
            classify(&Stanza::new(bounce)),
            Incoming::Bounce { stamp: Some(stamp()), condition: "service-unavailable".into() }
        );
        let amp_bounce = b"<message type='error' id='x'><error type='modify'><bad-request \
            xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><unsupported-conditions \
            xmlns='http://jabber.org/protocol/amp'><rule condition='deliver'/></unsupported-conditions>\
            </error></message>";
        assert_eq!(
            classify(&Stanza::new(amp_bounce)),
            Incoming::Bounce { stamp: None, condition: "unsupported-conditions".into() }
        );
        let notice = b"<message from='localhost' to='a@l/r'><amp xmlns='http://jabber.org/protocol/amp' \
            status='notify'/></message>";
        assert_eq!(classify(&Stanza::new(notice)), Incoming::AmpNotice);
        assert_eq!(classify(&Stanza::new(b"<presence from='x'/>")), Incoming::Other);
        assert_eq!(classify(&Stanza::new(b"<iq type='result' id='p'/>")), Incoming::Other);
    }

    #[test]
    fn requests_get_answers() {
        let ping = b"<iq type='get' id='s2c1' from='localhost'><ping xmlns='urn:xmpp:ping'/></iq>";
        let Incoming::Request(r) = classify(&Stanza::new(ping)) else { panic!("a request") };
        assert_eq!(r, b"<iq type='result' id='s2c1' to='localhost'/>");
        let other = b"<iq type='get' id='v'><query xmlns='jabber:iq:version'/></iq>";
        let Incoming::Request(r) = classify(&Stanza::new(other)) else { panic!("a request") };
        let el = El::parse(&r).unwrap();
        assert_eq!((el.attr("type"), el.condition()), (Some("error"), Some("service-unavailable")));
    }
}
