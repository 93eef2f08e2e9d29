//! `<iq/>` from a local client (RFC 6120 §8.2.3, RFC 6121 §8.5): requests to
//! the server or the own account are answered here (ping, disco, session);
//! requests to another user's session are forwarded; everything else gets
//! the error the RFC prescribes, so every get/set has exactly one answer.

use super::{Session, offer_to_plugins, roster};
use crate::router;
use crate::services::Services;
use crate::xml::Element;
use crate::xmpp::iq::{self, IqType};
use crate::xmpp::{Condition, Stanza, StanzaError, ns};

/// Handles one IQ stanza.
pub async fn handle(svc: &Services, session: &Session, stanza: Stanza) {
    let Some(stanza) = offer_to_plugins(svc, stanza).await else { return };
    let Some(kind) = IqType::of(&stanza.el) else {
        return router::bounce(svc, &stanza, StanzaError::new(Condition::BadRequest).with_text("unknown IQ type"))
            .await;
    };
    let own_bare = session.key.jid.to_bare();
    match &stanza.to {
        None => answer_here(svc, session, &stanza, kind, Addressee::Account).await,
        Some(to) if !svc.is_local_domain(to.domain().as_str()) => {
            router::bounce(svc, &stanza, StanzaError::new(Condition::RemoteServerNotFound)).await
        }
        Some(to) if to.node().is_none() => answer_here(svc, session, &stanza, kind, Addressee::Server).await,
        Some(to) => match to.try_as_full() {
            Err(bare) if *bare == own_bare => answer_here(svc, session, &stanza, kind, Addressee::Account).await,
            Ok(full) => {
                if !router::send_stanza(svc, full, &stanza).await && kind.is_request() {
                    router::bounce(svc, &stanza, StanzaError::new(Condition::ServiceUnavailable)).await;
                }
            }
            // RFC 6121 §2.1.5: only the account itself may touch its roster.
            Err(_) if kind.is_request() && stanza.el.child("query", ns::ROSTER).is_some() => {
                router::bounce(svc, &stanza, StanzaError::new(Condition::Forbidden)).await
            }
            // RFC 6121 §8.5.2.1.3: the server answers for a bare JID; no
            // handler for other accounts' IQs exists yet.
            Err(_) if kind.is_request() => {
                router::bounce(svc, &stanza, StanzaError::new(Condition::ServiceUnavailable)).await
            }
            Err(_) => {}
        },
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Addressee {
    Server,
    Account,
}

async fn answer_here(svc: &Services, session: &Session, stanza: &Stanza, kind: IqType, to: Addressee) {
    if !kind.is_request() {
        return; // results and errors addressed to us end here
    }
    let roster_query = iq::payload(&stanza.el).ok().filter(|p| p.is("query", ns::ROSTER));
    if let Some(query) = roster_query.filter(|_| to == Addressee::Account) {
        return roster::handle_iq(svc, session, stanza, query, kind).await;
    }
    let reply = match iq::payload(&stanza.el).and_then(|p| answer(svc, p, kind, to)) {
        Ok(payload) => iq::result(&stanza.el, payload),
        Err(err) => iq::error(&stanza.el, &err),
    };
    session.send(&reply).await;
}

fn answer(svc: &Services, payload: &Element, kind: IqType, to: Addressee) -> Result<Option<Element>, StanzaError> {
    match (kind, payload.ns.as_str(), payload.name.as_str()) {
        (IqType::Get, ns::PING, "ping") => Ok(None),
        (IqType::Get, ns::VERSION, "query") if to == Addressee::Server => Ok(Some(
            Element::new("query", ns::VERSION)
                .with_child(Element::new("name", ns::VERSION).with_text("wasmpp"))
                .with_child(Element::new("version", ns::VERSION).with_text(env!("CARGO_PKG_VERSION"))),
        )),
        (IqType::Set, ns::SESSION, "session") => Ok(None),
        (IqType::Get, ns::DISCO_INFO, "query") if payload.attr("node").is_none() => Ok(Some(disco_info(svc, to))),
        (IqType::Get, ns::DISCO_ITEMS, "query") if payload.attr("node").is_none() => {
            Ok(Some(Element::new("query", ns::DISCO_ITEMS)))
        }
        (IqType::Get, ns::DISCO_INFO | ns::DISCO_ITEMS, "query") => Err(StanzaError::new(Condition::ItemNotFound)),
        _ => Err(StanzaError::new(Condition::ServiceUnavailable)),
    }
}

/// XEP-0030 §3.1: the server's identity and features, including those the
/// enabled plugins declare (a disabled plugin's features disappear).
fn disco_info(svc: &Services, to: Addressee) -> Element {
    let mut q = Element::new("query", ns::DISCO_INFO);
    let identity = match to {
        Addressee::Server => Element::new("identity", ns::DISCO_INFO)
            .with_attr("category", "server")
            .with_attr("type", "im")
            .with_attr("name", "wasmpp"),
        Addressee::Account => {
            Element::new("identity", ns::DISCO_INFO).with_attr("category", "account").with_attr("type", "registered")
        }
    };
    q.push_child(identity);
    let mut features: Vec<String> = vec![ns::DISCO_INFO.into(), ns::DISCO_ITEMS.into()];
    if to == Addressee::Server {
        features.push(ns::PING.into());
        features.push(ns::VERSION.into());
        if svc.config.registration {
            features.push(ns::REGISTER.into());
        }
        for p in svc.plugins.chain().plugins() {
            features.extend(p.features.iter().cloned());
        }
    }
    features.sort();
    features.dedup();
    for f in features {
        q.push_child(Element::new("feature", ns::DISCO_INFO).with_attr("var", f));
    }
    q
}
