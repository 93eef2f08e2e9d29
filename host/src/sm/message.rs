//! `<message/>` from a local client (RFC 6121 §8.5): the host settles what
//! needs no policy — the address, foreign domains, the server itself — and
//! the WASM plugin chain decides delivery. The host then performs the
//! plugins' effects.

use super::inflight::InFlight;
use super::recipient_exists;
use crate::plugin::{ChainOutcome, Effect, StanzaContext};
use crate::router::{self, offline};
use crate::services::Services;
use crate::xmpp::{Condition, Jid, Stanza, StanzaError, ns};

/// Routes one message through the plugin chain. A message whose whole
/// outcome is `store-offline` is only queued in the offline writer and
/// left in `inflight`; every other outcome first settles what is there,
/// so nothing it writes to the sender overtakes those (see [`InFlight`]).
pub async fn handle(svc: &Services, inflight: &mut InFlight, mut stanza: Stanza) {
    // RFC 6121 §8.1.1.1: no 'to' means the sender's own bare JID.
    if stanza.to.is_none() {
        let own = Jid::from(stanza.from.as_ref().expect("stamped by dispatch").to_bare());
        stanza.set_to(own);
    }
    // Borrowed, not cloned: the stanza only moves into the chain below.
    let to = stanza.to.as_ref().expect("set above");
    if !svc.is_local_domain(to.domain().as_str()) {
        inflight.settle(svc).await;
        return remote(svc, stanza).await;
    }
    if to.node().is_none() {
        inflight.settle(svc).await;
        return router::bounce(svc, &stanza, StanzaError::new(Condition::ServiceUnavailable)).await;
    }
    let mut ctx = StanzaContext::new(svc.sessions_view.clone(), recipient_exists(svc, to).await);
    if stanza.el.child("amp", ns::AMP).is_some() {
        ctx.sender_may_see_presence = sender_may_see_presence(svc, &stanza, to).await;
    }
    match svc.plugins.chain().run(stanza, &ctx) {
        ChainOutcome::Handled(s, effects) if matches!(effects.as_slice(), [Effect::StoreOffline]) => {
            match offline::submit(svc, &s).await {
                Ok(committed) => inflight.push(svc, s, committed).await,
                Err(err) => {
                    inflight.settle(svc).await;
                    router::bounce(svc, &s, err).await;
                }
            }
        }
        outcome => {
            inflight.settle(svc).await;
            router::apply(svc, outcome).await;
        }
    }
}

/// XEP-0079 §9 / ruling D15 (STRICT): the sender may learn the addressee's
/// presence if it is the same account, or if the addressee's roster gives
/// it a `from` or `both` subscription. Only asked for messages carrying
/// `<amp>`; an online addressee's roster is cached, so the common case
/// costs no database round trip. A failed lookup counts as "may not": the
/// rule is then refused, never leaked.
async fn sender_may_see_presence(svc: &Services, stanza: &Stanza, to: &Jid) -> bool {
    let Some(from) = stanza.from.as_ref() else { return false };
    match svc.rosters.may_see_presence(&svc.registry, &to.to_bare(), &from.to_bare()).await {
        Ok(may) => may,
        Err(e) => {
            tracing::error!(error = %e, "roster lookup for an AMP security check failed");
            false
        }
    }
}

/// A message for another domain. There are no server-to-server links, so it
/// cannot go on; but XEP-0079 still applies at the sender's server (R13): a
/// plugin that provides AMP validates and evaluates the rules and answers
/// for the next hop (R23, R24). Anything the chain leaves gets
/// `remote-server-not-found`.
async fn remote(svc: &Services, stanza: Stanza) {
    let chain = svc.plugins.chain();
    if stanza.el.child("amp", ns::AMP).is_none() || !chain.has_feature(ns::AMP) {
        return router::bounce(svc, &stanza, StanzaError::new(Condition::RemoteServerNotFound)).await;
    }
    let ctx = StanzaContext { recipient_is_remote: true, ..StanzaContext::new(svc.sessions_view.clone(), false) };
    match chain.run(stanza, &ctx) {
        ChainOutcome::Unhandled(s, after) => {
            router::bounce(svc, &s, StanzaError::new(Condition::RemoteServerNotFound)).await;
            router::perform(svc, &s, after).await;
        }
        outcome => router::apply(svc, outcome).await,
    }
}
