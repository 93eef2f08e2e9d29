//! XEP-0077 in-band registration before authentication: a new account from
//! username and password on the stream's domain. Off unless configured.

use super::C2sError;
use super::stream::Stream;
use crate::services::Services;
use crate::store::StoreError;
use crate::xml::Element;
use crate::xmpp::iq::{self, IqType};
use crate::xmpp::{BareJid, Condition, StanzaError, ns};

/// True for an IQ whose payload is a `jabber:iq:register` query.
pub fn is_register_iq(el: &Element) -> bool {
    el.child("query", ns::REGISTER).is_some()
}

/// Answers one registration IQ (XEP-0077 §3.1).
pub async fn handle(stream: &mut Stream, svc: &Services, el: &Element, domain: &str) -> Result<(), C2sError> {
    let reply = match answer(stream.tls, svc, el, domain).await {
        Ok(payload) => iq::result(el, payload),
        Err(err) => iq::error(el, &err),
    };
    stream.send_el(&reply).await
}

async fn answer(tls: bool, svc: &Services, el: &Element, domain: &str) -> Result<Option<Element>, StanzaError> {
    let cfg = &svc.config;
    if !cfg.registration {
        return Err(StanzaError::new(Condition::ServiceUnavailable));
    }
    if cfg.tls_required && !tls {
        // The password would cross the network in clear text.
        return Err(StanzaError::new(Condition::Forbidden).with_text("registration requires TLS"));
    }
    let query = el.child("query", ns::REGISTER).expect("checked by is_register_iq");
    match IqType::of(el) {
        Some(IqType::Get) => Ok(Some(
            Element::new("query", ns::REGISTER)
                .with_child(Element::new("instructions", ns::REGISTER).with_text("Choose a username and password."))
                .with_child(Element::new("username", ns::REGISTER))
                .with_child(Element::new("password", ns::REGISTER)),
        )),
        Some(IqType::Set) => {
            if query.child("remove", ns::REGISTER).is_some() {
                return Err(
                    StanzaError::new(Condition::NotAuthorized).with_text("authenticate to cancel a registration")
                );
            }
            let field = |name| query.child(name, ns::REGISTER).map(|e| e.text()).filter(|t| !t.is_empty());
            let (Some(user), Some(password)) = (field("username"), field("password")) else {
                return Err(StanzaError::new(Condition::NotAcceptable).with_text("username and password are required"));
            };
            let jid = BareJid::new(&format!("{user}@{domain}"))
                .ok()
                .filter(|j| j.node().is_some())
                .ok_or_else(|| StanzaError::new(Condition::NotAcceptable).with_text("invalid username"))?;
            match svc.users.create(jid.as_str(), &password, cfg.scram_iterations).await {
                Ok(()) => {
                    tracing::info!(%jid, "account registered in-band");
                    Ok(None)
                }
                Err(StoreError::Conflict) => Err(StanzaError::new(Condition::Conflict)),
                Err(e) => {
                    tracing::error!(error = %e, "registration failed");
                    Err(StanzaError::new(Condition::InternalServerError))
                }
            }
        }
        _ => Err(StanzaError::new(Condition::BadRequest)),
    }
}
