//! RFC 6121 §8.5 (local user) delivery of `<message/>` stanzas, as the
//! `message` plugin of the session-manager chain.
//!
//! The host has already dealt with remote domains and the server's own
//! address, so everything that reaches this plugin is addressed to an
//! account of a local domain. The routing itself is the SDK's
//! [`routing::route`]; this crate turns each route into effects for the
//! host. A message for an account with nobody available is not this
//! plugin's to settle: it passes, so that `msgoffline` (next in the default
//! chain) can store it, and without `msgoffline` the host answers
//! `<service-unavailable/>` for an unhandled message (RFC 6121 §8.5.2.2.1
//! option (b)).

use wasmpp_guest_sdk::routing::{self, Route};
use wasmpp_guest_sdk::{
    Capability, Condition, Denied, Effect, Manifest, MessageType, Plugin, ResourceInfo, Stanza, StanzaKind, Verdict,
    log, sessions,
};

/// The plugin; stateless, so any warm instance can serve any stanza.
pub struct Message;

impl Plugin for Message {
    /// Routing needs the recipient's sessions and delivers to them.
    fn manifest() -> Manifest {
        Manifest::new("message", env!("CARGO_PKG_VERSION"), &[StanzaKind::Message])
            .with_capabilities(&[Capability::Sessions, Capability::Deliver])
    }

    fn process(stanza: &Stanza) -> Verdict {
        route(stanza).unwrap_or_else(|denied| {
            // The operator withheld `sessions`: routing is impossible, so
            // the rest of the chain (or the host) decides.
            log::warn(&format!("cannot route: {denied}"));
            Verdict::Pass
        })
    }
}

fn route(stanza: &Stanza) -> Result<Verdict, Denied> {
    // One host call for the address, the account and its sessions.
    let to = sessions::addressee()?;
    // No bare JID means the host would not have sent it here; let the
    // rest of the chain (or the host's fallback) decide.
    let Some(bare) = to.to_bare else { return Ok(Verdict::Pass) };
    Ok(decide(stanza.message_type(), &bare, to.to_resource.as_deref(), to.exists, &to.sessions))
}

#[cfg(feature = "export")]
wasmpp_guest_sdk::export_plugin!(Message);

/// The whole policy as a pure function: message type, addressee (bare JID
/// plus optional resourcepart), whether the account exists, its sessions.
///
/// Never returns a bounce for a message of type `error` (RFC 6120 §8.3.1):
/// the SDK's routing maps every such case to [`Route::Ignore`].
pub fn decide(
    ty: MessageType,
    bare: &str,
    to_resource: Option<&str>,
    account_exists: bool,
    sessions: &[ResourceInfo],
) -> Verdict {
    match routing::route(ty, to_resource, account_exists, sessions) {
        Route::Deliver(resources) => {
            Verdict::Handled(resources.iter().map(|r| Effect::Deliver(format!("{bare}/{r}"))).collect())
        }
        // Offline storage is the next plugin's decision (see the crate docs).
        Route::Offline => Verdict::Pass,
        Route::Refuse => Verdict::bounce(Condition::ServiceUnavailable),
        Route::Ignore => Verdict::Drop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageType::*;

    const JULIET: &str = "juliet@example.com";

    fn sessions() -> Vec<ResourceInfo> {
        vec![
            ResourceInfo::new("balcony", 1, true),
            ResourceInfo::new("chamber", 10, true),
            ResourceInfo::new("garden", -5, true),
        ]
    }

    fn delivered(v: Verdict) -> Vec<String> {
        match v {
            Verdict::Handled(effects) => effects
                .into_iter()
                .map(|e| match e {
                    Effect::Deliver(jid) => jid,
                    other => panic!("unexpected effect {other:?}"),
                })
                .collect(),
            other => panic!("expected delivery, got {other:?}"),
        }
    }

    fn is_service_unavailable(v: &Verdict) -> bool {
        matches!(v, Verdict::Bounce(e) if e.condition == Condition::ServiceUnavailable)
    }

    #[test]
    fn manifest_names_the_plugin() {
        let m = Message::manifest();
        assert_eq!(m.id, "message");
        assert_eq!(m.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(m.handles, vec![StanzaKind::Message]);
        assert!(m.features.is_empty());
        assert_eq!(m.capabilities, [Capability::Sessions, Capability::Deliver]);
    }

    #[test]
    fn chat_to_bare_jid_reaches_the_highest_priority_full_jid() {
        let v = decide(Chat, JULIET, None, true, &sessions());
        assert_eq!(delivered(v), ["juliet@example.com/chamber"]);
    }

    #[test]
    fn headline_reaches_all_non_negative_sessions() {
        let v = decide(Headline, JULIET, None, true, &sessions());
        assert_eq!(delivered(v), ["juliet@example.com/balcony", "juliet@example.com/chamber"]);
    }

    #[test]
    fn full_jid_is_delivered_to_that_session_only() {
        let v = decide(Normal, JULIET, Some("garden"), true, &sessions());
        assert_eq!(delivered(v), ["juliet@example.com/garden"]);
    }

    #[test]
    fn offline_users_pass_and_unknown_users_bounce_service_unavailable() {
        assert_eq!(decide(Chat, JULIET, None, true, &[]), Verdict::Pass);
        assert_eq!(decide(Normal, JULIET, Some("gone"), true, &[]), Verdict::Pass);
        assert!(is_service_unavailable(&decide(Normal, JULIET, None, false, &[])));
        assert!(is_service_unavailable(&decide(Groupchat, JULIET, None, true, &sessions())));
        assert_eq!(decide(Headline, JULIET, None, true, &[]), Verdict::Drop);
    }

    /// `process` itself, through the SDK's mock host: what the server lends
    /// and answers, natively.
    mod through_the_host {
        use super::*;
        use wasmpp_guest_sdk::log::Level;
        use wasmpp_guest_sdk::testing::MockHost;

        const CHAT: &str =
            "<message from='romeo@example.com/orchard' to='juliet@example.com' type='chat'><body>hi</body></message>";

        #[test]
        fn a_chat_reaches_the_highest_priority_session() {
            let host = MockHost::new().sessions(JULIET, &sessions()).stanza_xml(CHAT);
            assert_eq!(delivered(host.process::<Message>()), ["juliet@example.com/chamber"]);
            assert!(host.logs().is_empty());
        }

        #[test]
        fn a_full_jid_reaches_that_session_and_an_unknown_account_bounces() {
            let to_garden = CHAT.replace("juliet@example.com'", "juliet@example.com/garden'");
            let host = MockHost::new().sessions(JULIET, &sessions()).stanza_xml(&to_garden);
            assert_eq!(delivered(host.process::<Message>()), ["juliet@example.com/garden"]);
            let nobody = MockHost::new().stanza_xml(CHAT);
            assert!(is_service_unavailable(&nobody.process::<Message>()));
            let offline = MockHost::new().account(JULIET).stanza_xml(CHAT);
            assert_eq!(offline.process::<Message>(), Verdict::Pass, "msgoffline's to store");
        }

        #[test]
        fn without_the_sessions_capability_it_passes_and_says_why() {
            let host = MockHost::new().sessions(JULIET, &sessions()).deny(Capability::Sessions).stanza_xml(CHAT);
            assert_eq!(host.process::<Message>(), Verdict::Pass);
            let logs = host.logs();
            assert_eq!(logs.len(), 1);
            assert_eq!(logs[0].level, Level::Warn);
            assert!(logs[0].message.starts_with("cannot route"), "{logs:?}");
        }
    }

    #[test]
    fn error_messages_are_never_bounced() {
        for (to, exists, s) in
            [(None, true, sessions()), (None, true, vec![]), (Some("x"), true, vec![]), (None, false, vec![])]
        {
            assert_eq!(decide(Error, JULIET, to, exists, &s), Verdict::Drop);
        }
    }
}
