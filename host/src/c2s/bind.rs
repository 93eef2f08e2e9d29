//! RFC 6120 §7 resource binding: the client's full JID, server-generated
//! when not asked for, with the configured conflict policy (§7.7.2.2).

use super::C2sError;
use super::stream::{Stream, random_id};
use crate::services::Services;
use crate::sm::registry::{Outbound, SessionKey};
use crate::xml::Element;
use crate::xmpp::iq::{self, IqType};
use crate::xmpp::{BareJid, Condition, StanzaError, ns};
use tokio::sync::mpsc;

/// Outbound queue length per session: deep enough to absorb bursts, bounded
/// so one slow reader cannot grow memory without limit (senders wait).
pub const OUTBOUND_QUEUE: usize = 1024;

/// A bound session, ready to run.
pub struct Bound {
    /// Registry key (full JID + binding id).
    pub key: SessionKey,
    /// The session's own queue, for replies to itself.
    pub tx: mpsc::Sender<Outbound>,
    /// The writer task's end of the queue.
    pub rx: mpsc::Receiver<Outbound>,
}

/// Handles one IQ after authentication: a bind request binds; anything else
/// is answered with an error (RFC 6120 §7.1: bind comes first).
pub async fn bind(
    stream: &mut Stream,
    svc: &Services,
    el: &Element,
    account: &BareJid,
) -> Result<Option<Bound>, C2sError> {
    match try_bind(svc, el, account) {
        Ok(bound) => {
            let jid = Element::new("jid", ns::BIND).with_text(bound.key.jid.as_str());
            stream.send_el(&iq::result(el, Some(Element::new("bind", ns::BIND).with_child(jid)))).await?;
            tracing::info!(jid = %bound.key.jid, "resource bound");
            Ok(Some(bound))
        }
        Err(err) => {
            if IqType::of(el).is_some_and(IqType::is_request) {
                stream.send_el(&iq::error(el, &err)).await?;
            }
            Ok(None)
        }
    }
}

fn try_bind(svc: &Services, el: &Element, account: &BareJid) -> Result<Bound, StanzaError> {
    let req = el
        .child("bind", ns::BIND)
        .filter(|_| IqType::of(el) == Some(IqType::Set))
        .ok_or_else(|| StanzaError::new(Condition::NotAllowed).with_text("bind a resource first"))?;
    let asked = req.child("resource", ns::BIND).map(|r| r.text().trim().to_owned()).filter(|r| !r.is_empty());
    let resource = asked.unwrap_or_else(random_id);
    // §7.7.2.1: a resource that fails resourceprep is bad-request.
    let jid = account.with_resource_str(&resource).map_err(|_| StanzaError::new(Condition::BadRequest))?;
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
    let key = svc.registry.bind(jid, tx.clone(), svc.conflict).map_err(|_| StanzaError::new(Condition::Conflict))?;
    Ok(Bound { key, tx, rx })
}
