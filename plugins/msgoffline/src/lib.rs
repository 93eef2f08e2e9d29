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
use wasmpp_guest_sdk::{
    Capability, Denied, Effect, Manifest, MessageType, Plugin, Stanza, StanzaKind, Verdict, log, offline, sessions,
};

/// The plugin; stateless, so any warm instance can serve any stanza.
pub struct MsgOffline;

impl Plugin for MsgOffline {
    /// Deciding "nobody available" needs the sessions; storing and
    /// flushing need the offline store. XEP-0160 §5: servers advertise
    /// "msgoffline".
    fn manifest() -> Manifest {
        Manifest::new("msgoffline", env!("CARGO_PKG_VERSION"), &[StanzaKind::Message, StanzaKind::Presence])
            .with_capabilities(&[Capability::Sessions, Capability::OfflineStore])
            .with_feature("msgoffline")
    }

    fn process(stanza: &Stanza) -> Verdict {
        match stanza.kind() {
            StanzaKind::Message => message(stanza).unwrap_or_else(|denied| {
                log::warn(&format!("cannot tell whether to store: {denied}"));
                Verdict::Pass
            }),
            StanzaKind::Presence => offline::presence_verdict(stanza),
            StanzaKind::Iq => Verdict::Pass,
        }
    }
}

wasmpp_guest_sdk::export_plugin!(MsgOffline);

fn message(stanza: &Stanza) -> Result<Verdict, Denied> {
    // One host call for the address, the account and its sessions.
    let to = sessions::addressee()?;
    if to.to_bare.is_none() || !to.exists {
        return Ok(Verdict::Pass);
    }
    let route = routing::route(stanza.message_type(), to.to_resource.as_deref(), to.exists, &to.sessions);
    if route != Route::Offline {
        return Ok(Verdict::Pass);
    }
    Ok(decide_offline(stanza.message_type(), || offline::disposable(stanza)))
}

/// What to do with a message `routing` found storable. `disposable` is only
/// asked then (it costs host calls).
pub fn decide_offline(ty: MessageType, disposable: impl FnOnce() -> bool) -> Verdict {
    match (offline::storable(ty), offline::storable(ty) && disposable()) {
        (false, _) => Verdict::Pass,
        (true, true) => Verdict::Drop,
        (true, false) => Verdict::Handled(vec![Effect::StoreOffline]),
    }
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
        assert_eq!(m.capabilities, [Capability::Sessions, Capability::OfflineStore]);
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
}
