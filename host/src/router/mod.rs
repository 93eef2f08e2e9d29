//! Local routing: serialised stanzas into the outbound queues of bound
//! sessions, error replies back to senders, and the effects the plugin chain
//! returns. Plugins never touch sockets; this is where their decisions land.

pub mod expiry;
pub mod offline;

use crate::plugin::{ChainOutcome, Effect};
use crate::services::Services;
use crate::sm::registry::Outbound;
use crate::xmpp::{Condition, FullJid, Jid, Stanza, StanzaError, ns};

pub(crate) fn serialise(stanza: &Stanza) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    stanza.el.write_to(&mut out, ns::CLIENT);
    out
}

/// Queues bytes for the session bound to `to`; false if there is none (or it
/// closed meanwhile). Waits when the queue is full: backpressure, not loss.
pub async fn to_session(svc: &Services, to: &FullJid, bytes: Vec<u8>) -> bool {
    match svc.registry.sender(to) {
        Some(tx) => tx.send(Outbound::Data(bytes)).await.is_ok(),
        None => false,
    }
}

/// Sends a stanza to one full JID.
pub async fn send_stanza(svc: &Services, to: &FullJid, stanza: &Stanza) -> bool {
    to_session(svc, to, serialise(stanza)).await
}

/// Sends the RFC 6120 §8.3 error reply for `stanza` back to its sender
/// (nothing for a stanza that is itself an error).
pub async fn bounce(svc: &Services, stanza: &Stanza, err: StanzaError) {
    let Some(reply) = stanza.error_reply(&err) else { return };
    tracing::debug!(error = %err, "bounced");
    if let Some(Ok(to)) = reply.to.as_ref().map(Jid::try_as_full) {
        send_stanza(svc, to, &reply).await;
    }
}

/// Directed presence to a local user: to one session, or to every available
/// resource of a bare JID (RFC 6121 §4.6.2, §8.5.2.1.2).
pub async fn deliver_presence(svc: &Services, stanza: &Stanza) {
    match stanza.to.as_ref().map(Jid::try_as_full) {
        Some(Ok(full)) => {
            send_stanza(svc, full, stanza).await;
        }
        Some(Err(bare)) => {
            let bytes = serialise(stanza);
            for tx in svc.registry.available_senders(bare) {
                let _ = tx.send(Outbound::Data(bytes.clone())).await;
            }
        }
        None => {}
    }
}

/// Performs what the plugin chain decided about a message.
pub async fn apply(svc: &Services, outcome: ChainOutcome) {
    match outcome {
        // No plugin took the message: with `-message` nobody delivers, and
        // without `msgoffline` nobody stores (RFC 6121 §8.5.2.2.1 (b)).
        ChainOutcome::Unhandled(s, after) => {
            bounce(svc, &s, StanzaError::new(Condition::ServiceUnavailable)).await;
            perform(svc, &s, after).await;
        }
        ChainOutcome::Handled(s, effects) => perform(svc, &s, effects).await,
        ChainOutcome::Dropped => {}
        ChainOutcome::Bounce(s, err) => bounce(svc, &s, err).await,
        ChainOutcome::Faulted { stanza, plugin, version, error } => {
            tracing::warn!(%plugin, %version, %error, "stanza bounced after a plugin fault");
            let err = StanzaError::new(Condition::InternalServerError).with_text("message processing failed");
            bounce(svc, &stanza, err).await;
        }
    }
}

/// Performs plugin effects for `stanza`, in order. The stanza is
/// serialised once; the last delivery takes those bytes, earlier ones copy.
/// A `ReplaceChild` changes the stanza for the effects after it.
///
/// A session may close between the chain's decision and its delivery.
/// The sender hears `service-unavailable` only when *no* delivery of the
/// stanza reached a session: a message fanned out to two resources of
/// which one just went away has still been delivered, and an error would
/// tell the sender otherwise. The bounce then comes after the other
/// effects, once that is known.
pub async fn perform(svc: &Services, s: &Stanza, effects: Vec<Effect>) {
    let mut bytes: Option<Vec<u8>> = None;
    let mut deliveries_left = effects.iter().filter(|e| matches!(e, Effect::Deliver(_))).count();
    let (mut delivered, mut missed) = (false, false);
    let mut current = std::borrow::Cow::Borrowed(s);
    for effect in effects {
        let s: &Stanza = &current;
        match effect {
            Effect::Deliver(to) => {
                deliveries_left -= 1;
                let data = match (deliveries_left, bytes.take()) {
                    (0, Some(b)) => b,
                    (0, None) => serialise(s),
                    (_, b) => {
                        let b = b.unwrap_or_else(|| serialise(s));
                        let copy = b.clone();
                        bytes = Some(b);
                        copy
                    }
                };
                if to_session(svc, &to, data).await {
                    delivered = true;
                } else {
                    missed = true;
                }
            }
            Effect::Bounce(err) => bounce(svc, s, err).await,
            Effect::StoreOffline => {
                if let Err(err) = offline::store(svc, s).await {
                    bounce(svc, s, err).await;
                }
            }
            Effect::FlushOffline => {
                if let Some(Ok(from)) = s.from.as_ref().map(Jid::try_as_full) {
                    offline::flush(svc, from).await;
                }
            }
            Effect::Send(built) => send_local(svc, &built).await,
            Effect::ReplaceChild(child) => {
                crate::plugin::replace_child(&mut current.to_mut().el, child);
                bytes = None;
            }
            Effect::StoreAmp { owner, expires_at_ms } => {
                if let Err(err) = offline::store_amp(svc, s, &owner, expires_at_ms).await {
                    bounce(svc, s, err).await;
                }
            }
        }
    }
    if missed && !delivered {
        bounce(svc, &current, StanzaError::new(Condition::ServiceUnavailable)).await;
    }
}

/// Routes a stanza a plugin built (an XEP-0079 event) to its local
/// addressee: the session `to` names, else kept offline for the account
/// (XEP-0160 §3 allows storing XEP-0079 messages; ruling D16), so an
/// event for a sender who went offline is read at the next login.
pub async fn send_local(svc: &Services, stanza: &Stanza) {
    let Some(to) = stanza.to.as_ref() else { return };
    if let Ok(full) = to.try_as_full()
        && send_stanza(svc, full, stanza).await
    {
        return;
    }
    let bare = to.to_bare();
    if bare.node().is_none() || !svc.is_local_domain(bare.domain().as_str()) {
        return tracing::warn!(to = %to, "a plugin sent a stanza to a non-local address; dropped");
    }
    if let Some(tx) = svc.registry.available_senders(&bare).into_iter().next() {
        let _ = tx.send(Outbound::Data(serialise(stanza))).await;
        return;
    }
    let mut kept = stanza.clone();
    kept.set_to(Jid::from(bare));
    if let Err(err) = offline::store(svc, &kept).await {
        tracing::warn!(to = %to, error = %err, "an event for an offline user could not be stored; dropped");
    }
}
