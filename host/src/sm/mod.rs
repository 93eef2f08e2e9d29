//! The session manager: what happens to a stanza once a bound client sent it.
//! The sender's address is stamped (RFC 6120 §8.1.2.1), then messages go
//! through the WASM plugin chain, and presence and IQs to the native handlers
//! unless a plugin claims them.

mod adhoc;
pub mod inflight;
mod iq;
mod message;
mod presence;
pub mod registry;
pub mod roster;
pub mod subscription;

pub use presence::session_ended;

use crate::plugin::{ChainOutcome, Effect, StanzaContext};
use crate::router;
use crate::services::Services;
use crate::xml::Element;
use crate::xmpp::iq as iqs;
use crate::xmpp::{Jid, Stanza, StanzaKind, StreamCondition, StreamError, ns};
use inflight::InFlight;
use registry::{Outbound, OutboundTx, SessionKey};
use std::cell::RefCell;
use tracing::Instrument;

tokio::task_local! {
    /// Effects plugins deferred with `pass-with` while the current stanza is
    /// processed; `dispatch` performs them once the host is done with it
    /// (e.g. the offline flush after the presence made the session available).
    static DEFERRED: RefCell<Vec<(Stanza, Vec<Effect>)>>;
}

/// The bound session a stanza came from.
pub struct Session {
    /// Its full JID and binding id.
    pub key: SessionKey,
    /// Its own outbound queue (replies to itself).
    pub tx: OutboundTx,
}

impl Session {
    /// Queues an element for this session's client.
    pub async fn send(&self, el: &Element) {
        let mut out = Vec::with_capacity(256);
        el.write_to(&mut out, ns::CLIENT);
        let _ = self.tx.send(Outbound::Data(out)).await;
    }
}

/// Handles one top-level element from a bound client. A stream error ends
/// the session; everything else is answered on the stanza level. A plain
/// message to an offline account may be left in `inflight` (see
/// [`inflight`]); anything else settles those first.
pub async fn dispatch(
    svc: &Services,
    session: &Session,
    inflight: &mut InFlight,
    el: Element,
) -> Result<(), StreamError> {
    let mut stanza = match Stanza::from_element(el) {
        Some(Ok(s)) => s,
        Some(Err((el, err))) => {
            inflight.settle(svc).await;
            // The addresses cannot be parsed, so reply to the sender directly.
            let mut reply = iqs::error(&el, &err);
            reply.name = el.name.clone();
            reply.attrs.retain(|(k, _)| k != "to");
            if el.attr("type") != Some("error") {
                session.send(&reply).await;
            }
            return Ok(());
        }
        None => {
            return Err(StreamError::new(StreamCondition::UnsupportedStanzaType)
                .with_text("only message, presence and iq are allowed here"));
        }
    };
    stanza.set_from(Jid::from(session.key.jid.clone()));
    svc.metrics.stanza_in(stanza.kind);
    let span = tracing::debug_span!("stanza", kind = ?stanza.kind, id = stanza.id().unwrap_or(""));
    async {
        let deferred = DEFERRED
            .scope(RefCell::new(Vec::new()), async {
                match stanza.kind {
                    StanzaKind::Message => message::handle(svc, inflight, stanza).await,
                    StanzaKind::Presence => {
                        inflight.settle(svc).await;
                        presence::handle(svc, session, stanza).await
                    }
                    StanzaKind::Iq => {
                        inflight.settle(svc).await;
                        iq::handle(svc, session, stanza).await
                    }
                }
                DEFERRED.with(RefCell::take)
            })
            .await;
        for (stanza, effects) in deferred {
            router::perform(svc, &stanza, effects).await;
        }
    }
    .instrument(span)
    .await;
    Ok(())
}

/// Offers a presence or IQ stanza to the plugins that declare they handle its
/// kind; gives it back when none does (or all pass).
async fn offer_to_plugins(svc: &Services, stanza: Stanza) -> Option<Stanza> {
    let chain = svc.plugins.chain();
    if !chain.plugins().iter().any(|p| p.handles.contains(&stanza.kind)) {
        return Some(stanza);
    }
    let recipient_exists = match &stanza.to {
        Some(to) => recipient_exists(svc, to).await,
        None => true,
    };
    let ctx = StanzaContext::new(svc.sessions_view.clone(), recipient_exists);
    match chain.run(stanza, &ctx) {
        ChainOutcome::Unhandled(s, after) => {
            if !after.is_empty() {
                let deferred = (s.clone(), after);
                if DEFERRED.try_with(|d| d.borrow_mut().push(deferred)).is_err() {
                    tracing::warn!("plugin effects deferred outside a stanza dispatch were dropped");
                }
            }
            Some(s)
        }
        outcome => {
            router::apply(svc, outcome).await;
            None
        }
    }
}

/// Whether `to` names an account here: online users exist without asking
/// the database. A database failure counts as "exists" so that the stanza is
/// routed (and bounced later if nobody is there) rather than answered with a
/// false "no such user".
async fn recipient_exists(svc: &Services, to: &Jid) -> bool {
    let bare = crate::xmpp::address::bare_str(to);
    if to.node().is_none() || svc.registry.is_online_str(bare) {
        return true;
    }
    svc.users.exists(bare).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "account lookup failed");
        true
    })
}
