//! `<iq/>` from a local client (RFC 6120 §8.2.3, RFC 6121 §8.5): requests to
//! the server or the own account are answered here (ping, disco, session,
//! the admins' XEP-0050 commands in `adhoc`);
//! requests to another user's session are forwarded; everything else gets
//! the error the RFC prescribes, so every get/set has exactly one answer.

use super::{Session, adhoc, offer_to_plugins, roster};
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
        // The AMP service answers where the configuration puts it, even on
        // a domain this server does not otherwise host (the seeds' example
        // `amp@your-domain.tld`), since disco#items lists it there.
        Some(to) if amp_service(svc).is_some_and(|jid| jid == to.to_bare().as_str()) => {
            answer_here(svc, session, &stanza, kind, Addressee::AmpService).await
        }
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
    /// The XEP-0079 service at `sess-man/plugins-conf/amp/amp-jid`.
    AmpService,
}

/// The AMP service's address while a plugin provides XEP-0079.
fn amp_service(svc: &Services) -> Option<&str> {
    if !svc.plugins.chain().has_feature(ns::AMP) {
        return None;
    }
    svc.plugins.env().settings.get("amp")?.get("amp-jid").map(String::as_str)
}

async fn answer_here(svc: &Services, session: &Session, stanza: &Stanza, kind: IqType, to: Addressee) {
    if !kind.is_request() {
        return; // results and errors addressed to us end here
    }
    let roster_query = iq::payload(&stanza.el).ok().filter(|p| p.is("query", ns::ROSTER));
    if let Some(query) = roster_query.filter(|_| to == Addressee::Account) {
        return roster::handle_iq(svc, session, stanza, query, kind).await;
    }
    if let (Addressee::Server, Ok(payload)) = (to, iq::payload(&stanza.el))
        && let Some(reply) = adhoc::handle(svc, session, &stanza.el, kind, payload).await
    {
        return session.send(&reply).await;
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
        (IqType::Get, ns::DISCO_INFO, "query") if to != Addressee::Account => {
            node_info(svc, payload.attr("node").unwrap_or_default())
                .map(Some)
                .ok_or(StanzaError::new(Condition::ItemNotFound))
        }
        (IqType::Get, ns::DISCO_ITEMS, "query") if payload.attr("node").is_none() => {
            let mut items = Element::new("query", ns::DISCO_ITEMS);
            if let (Addressee::Server, Some(jid)) = (to, amp_service(svc)) {
                items.push_child(
                    Element::new("item", ns::DISCO_ITEMS)
                        .with_attr("jid", jid)
                        .with_attr("name", "Advanced Message Processing"),
                );
            }
            Ok(Some(items))
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
        Addressee::AmpService => Element::new("identity", ns::DISCO_INFO)
            .with_attr("category", "component")
            .with_attr("type", "generic")
            .with_attr("name", "Advanced Message Processing"),
    };
    q.push_child(identity);
    if to == Addressee::AmpService {
        // The service answers like the AMP node, plus disco itself.
        let mut features = node_features(svc, ns::AMP);
        features.extend([ns::DISCO_INFO.to_owned(), ns::DISCO_ITEMS.to_owned()]);
        return with_features(q, features);
    }
    let mut features: Vec<String> = vec![ns::DISCO_INFO.into(), ns::DISCO_ITEMS.into()];
    if to == Addressee::Server {
        features.push(ns::PING.into());
        features.push(ns::VERSION.into());
        if svc.config.registration {
            features.push(ns::REGISTER.into());
        }
        if !svc.config.admins.is_empty() {
            features.push(ns::COMMANDS.into());
        }
        // `{node}?…` features (XEP-0079 R12) belong to their node.
        for p in svc.plugins.chain().plugins() {
            features.extend(p.features.iter().filter(|f| !f.contains('?')).cloned());
        }
    }
    with_features(q, features)
}

fn with_features(mut q: Element, mut features: Vec<String>) -> Element {
    features.sort();
    features.dedup();
    for f in features {
        q.push_child(Element::new("feature", ns::DISCO_INFO).with_attr("var", f));
    }
    q
}

/// The features plugins declare for `node`: the node itself and every
/// `{node}?…` feature (XEP-0079 §2.1.1: the `…/amp` node lists the
/// supported actions and conditions, R8, R10, R12).
fn node_features(svc: &Services, node: &str) -> Vec<String> {
    let chain = svc.plugins.chain();
    let all = chain.plugins().iter().flat_map(|p| p.features.iter());
    all.filter(|f| f.strip_prefix(node).is_some_and(|rest| rest.is_empty() || rest.starts_with('?'))).cloned().collect()
}

/// XEP-0030 §3.2 info for a node a plugin provides; `None` (item-not-found)
/// for any other node, so with AMP disabled its node disappears too.
fn node_info(svc: &Services, node: &str) -> Option<Element> {
    let features = node_features(svc, node);
    if !features.iter().any(|f| f.contains('?')) {
        return None;
    }
    let q = Element::new("query", ns::DISCO_INFO)
        .with_attr("node", node)
        .with_child(Element::new("identity", ns::DISCO_INFO).with_attr("category", "server").with_attr("type", "im"));
    Some(with_features(q, features))
}
