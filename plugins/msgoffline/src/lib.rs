//! XEP-0160 offline messages, as the `msgoffline` plugin of the
//! session-manager chain: it decides *what* is kept and *when* it is handed
//! out; the host's native offline store does the storing, the limits, the
//! XEP-0203 delay stamps and the crash-safe removal.
//!
//! Stages, in the default chain `message, msgoffline`:
//! - `<message/>`: `message` passes what it cannot deliver now. This plugin
//!   routes exactly like `message` (the SDK's [`routing::route`]) and stores
//!   `normal`/`chat` messages for an existing account with nobody available
//!   (RFC 6121 §8.5.2.2.1 option (a)). `headline`, `groupchat` and `error`
//!   never get here as storable (routing ignores or refuses them); messages
//!   carrying only a chat state (XEP-0085) or a `<no-store/>` hint
//!   (XEP-0334) are discarded instead, since nobody will read them later.
//! - `<presence/>`: an available presence with a non-negative priority,
//!   broadcast by the user (no `to`), passes with `flush-offline`, so the
//!   host hands the stored messages to that session once it has processed
//!   the presence (and the session is available for new messages too).

use wasmpp_guest_sdk::routing::{self, Route};
use wasmpp_guest_sdk::{Effect, Manifest, MessageType, Plugin, Stanza, StanzaKind, Verdict, sessions};

const CLIENT: &str = "jabber:client";
const CHATSTATES: &str = "http://jabber.org/protocol/chatstates";
const CHATSTATE_NAMES: [&str; 5] = ["active", "composing", "paused", "inactive", "gone"];
const HINTS: &str = "urn:xmpp:hints";

/// The plugin; stateless, so any warm instance can serve any stanza.
pub struct MsgOffline;

impl Plugin for MsgOffline {
    fn manifest() -> Manifest {
        let mut m =
            Manifest::new("msgoffline", env!("CARGO_PKG_VERSION"), &[StanzaKind::Message, StanzaKind::Presence]);
        // XEP-0160 §5: servers advertise "msgoffline".
        m.features.push("msgoffline".to_owned());
        m
    }

    fn process(stanza: &Stanza) -> Verdict {
        match stanza.kind() {
            StanzaKind::Message => message(stanza),
            StanzaKind::Presence => presence(stanza),
            StanzaKind::Iq => Verdict::Pass,
        }
    }
}

wasmpp_guest_sdk::export_plugin!(MsgOffline);

fn message(stanza: &Stanza) -> Verdict {
    let Some(bare) = stanza.to_bare() else { return Verdict::Pass };
    let exists = sessions::recipient_exists();
    if !exists {
        return Verdict::Pass;
    }
    let sessions = sessions::resources(&bare);
    let route = routing::route(stanza.message_type(), stanza.to_resource().as_deref(), exists, &sessions);
    if route != Route::Offline {
        return Verdict::Pass;
    }
    decide_offline(stanza.message_type(), || not_worth_keeping(stanza))
}

/// What to do with a message `routing` found storable. `disposable` is only
/// asked then (it costs host calls).
pub fn decide_offline(ty: MessageType, disposable: impl FnOnce() -> bool) -> Verdict {
    match ty {
        MessageType::Normal | MessageType::Chat => {
            if disposable() {
                Verdict::Drop
            } else {
                Verdict::Handled(vec![Effect::StoreOffline])
            }
        }
        _ => Verdict::Pass,
    }
}

/// A message with no body that carries only a chat state, or one the sender
/// marked `<no-store/>`.
fn not_worth_keeping(stanza: &Stanza) -> bool {
    if stanza.has_child("no-store", HINTS) {
        return true;
    }
    !stanza.has_child("body", CLIENT) && CHATSTATE_NAMES.iter().any(|n| stanza.has_child(n, CHATSTATES))
}

fn presence(stanza: &Stanza) -> Verdict {
    let priority = stanza.child_text("priority", CLIENT);
    decide_presence(stanza.to().is_some(), stanza.attr("type").as_deref(), priority.as_deref())
}

/// RFC 6121 §4.2 initial (or any broadcast) available presence with a
/// non-negative priority (§4.7.2.3) releases the stored messages.
pub fn decide_presence(directed: bool, presence_type: Option<&str>, priority: Option<&str>) -> Verdict {
    let priority: i8 = priority.and_then(|p| p.trim().parse().ok()).unwrap_or(0);
    if directed || presence_type.is_some() || priority < 0 {
        return Verdict::Pass;
    }
    Verdict::PassWith(vec![Effect::FlushOffline])
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmpp_guest_sdk::ResourceInfo;

    #[test]
    fn manifest_declares_both_kinds_and_the_disco_feature() {
        let m = MsgOffline::manifest();
        assert_eq!(
            (m.id.as_str(), m.handles.as_slice()),
            ("msgoffline", &[StanzaKind::Message, StanzaKind::Presence][..])
        );
        assert_eq!(m.features, ["msgoffline"]);
    }

    #[test]
    fn normal_and_chat_are_stored_unless_disposable() {
        for ty in [MessageType::Normal, MessageType::Chat] {
            assert_eq!(decide_offline(ty, || false), Verdict::Handled(vec![Effect::StoreOffline]));
            assert_eq!(decide_offline(ty, || true), Verdict::Drop);
        }
        for ty in [MessageType::Headline, MessageType::Groupchat, MessageType::Error] {
            assert_eq!(decide_offline(ty, || panic!("not asked")), Verdict::Pass);
        }
    }

    #[test]
    fn only_offline_routes_reach_storage() {
        let away = [ResourceInfo::new("phone", -1, true)];
        assert_eq!(routing::route(MessageType::Chat, None, true, &away), Route::Offline);
        assert_eq!(routing::route(MessageType::Chat, Some("gone"), true, &[]), Route::Offline);
        assert_eq!(routing::route(MessageType::Headline, None, true, &[]), Route::Ignore);
        assert_eq!(routing::route(MessageType::Groupchat, None, true, &[]), Route::Refuse);
        let here = [ResourceInfo::new("desk", 0, true)];
        assert!(matches!(routing::route(MessageType::Chat, None, true, &here), Route::Deliver(_)));
    }

    #[test]
    fn available_non_negative_broadcast_presence_flushes() {
        let flush = Verdict::PassWith(vec![Effect::FlushOffline]);
        assert_eq!(decide_presence(false, None, None), flush);
        assert_eq!(decide_presence(false, None, Some(" 5 ")), flush);
        assert_eq!(decide_presence(false, None, Some("-1")), Verdict::Pass);
        assert_eq!(decide_presence(true, None, None), Verdict::Pass);
        assert_eq!(decide_presence(false, Some("unavailable"), None), Verdict::Pass);
        assert_eq!(decide_presence(false, Some("subscribe"), None), Verdict::Pass);
    }
}
