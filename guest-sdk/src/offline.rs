//! XEP-0160 offline-message policy shared by every plugin that stores
//! (`msgoffline`, and `amp` which replaces it): what is worth keeping and
//! which presence releases the stored messages. Kept here so both behave
//! identically without copying each other.

use crate::stanza::{JABBER_CLIENT, Stanza};
use crate::types::{Effect, MessageType, Verdict};

const CHATSTATES: &str = "http://jabber.org/protocol/chatstates";
const CHATSTATE_NAMES: [&str; 5] = ["active", "composing", "paused", "inactive", "gone"];
const HINTS: &str = "urn:xmpp:hints";

/// XEP-0160 §3: `normal` and `chat` messages are stored; `headline`,
/// `groupchat` and `error` are not.
pub fn storable(ty: MessageType) -> bool {
    matches!(ty, MessageType::Normal | MessageType::Chat)
}

/// A message nobody will want later: no body and only a chat state
/// (XEP-0085), or marked `<no-store/>` (XEP-0334).
pub fn disposable(stanza: &Stanza) -> bool {
    if stanza.has_child("no-store", HINTS) {
        return true;
    }
    !stanza.has_child("body", JABBER_CLIENT) && CHATSTATE_NAMES.iter().any(|n| stanza.has_child(n, CHATSTATES))
}

/// RFC 6121 §4.2: an initial (or any broadcast) available presence with a
/// non-negative priority (§4.7.2.3) releases the stored messages.
pub fn releases(directed: bool, presence_type: Option<&str>, priority: Option<&str>) -> bool {
    let priority: i8 = priority.and_then(|p| p.trim().parse().ok()).unwrap_or(0);
    !directed && presence_type.is_none() && priority >= 0
}

/// The verdict for a `<presence/>`: pass, with a flush when it releases
/// the stored messages (performed after the host has processed it, so the
/// session is available by then).
pub fn presence_verdict(stanza: &Stanza) -> Verdict {
    let priority = stanza.child_text("priority", JABBER_CLIENT);
    if releases(stanza.to().is_some(), stanza.attr("type").as_deref(), priority.as_deref()) {
        Verdict::PassWith(vec![Effect::FlushOffline])
    } else {
        Verdict::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_non_negative_broadcast_presence_releases() {
        assert!(releases(false, None, None));
        assert!(releases(false, None, Some(" 5 ")));
        assert!(!releases(false, None, Some("-1")));
        assert!(!releases(true, None, None));
        assert!(!releases(false, Some("unavailable"), None));
        assert!(!releases(false, Some("subscribe"), None));
    }

    #[test]
    fn only_normal_and_chat_are_storable() {
        assert!(storable(MessageType::Normal) && storable(MessageType::Chat));
        for ty in [MessageType::Headline, MessageType::Groupchat, MessageType::Error] {
            assert!(!storable(ty));
        }
    }
}
