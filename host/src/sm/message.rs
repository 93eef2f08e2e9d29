//! `<message/>` from a local client (RFC 6121 §8.5): the host settles what
//! needs no policy — the address, foreign domains, the server itself — and
//! the WASM plugin chain decides delivery. The host then performs the
//! plugins' effects.

use super::recipient_exists;
use crate::plugin::StanzaContext;
use crate::router;
use crate::services::Services;
use crate::xmpp::{Condition, Jid, Stanza, StanzaError};

/// Routes one message through the plugin chain.
pub async fn handle(svc: &Services, mut stanza: Stanza) {
    // RFC 6121 §8.1.1.1: no 'to' means the sender's own bare JID.
    let to = match stanza.to.clone() {
        Some(to) => to,
        None => {
            let own = Jid::from(stanza.from.as_ref().expect("stamped by dispatch").to_bare());
            stanza.set_to(own.clone());
            own
        }
    };
    if !svc.is_local_domain(to.domain().as_str()) {
        // No server-to-server links in this server.
        return router::bounce(svc, &stanza, StanzaError::new(Condition::RemoteServerNotFound)).await;
    }
    if to.node().is_none() {
        return router::bounce(svc, &stanza, StanzaError::new(Condition::ServiceUnavailable)).await;
    }
    let ctx = StanzaContext { sessions: svc.sessions_view.clone(), recipient_exists: recipient_exists(svc, &to).await };
    let outcome = svc.plugins.chain().run(stanza, &ctx);
    router::apply(svc, outcome).await;
}
