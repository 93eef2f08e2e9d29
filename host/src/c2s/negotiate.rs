//! RFC 6120 §4.3 stream negotiation as a state machine: each restart of the
//! stream re-offers the features the client may still use, in the order the
//! RFC fixes — STARTTLS, then SASL (or XEP-0077 registration), then binding.

use super::auth::{self, AuthOutcome};
use super::bind::{self, Bound};
use super::stream::Stream;
use super::{C2sError, register, stream_err};
use crate::services::Services;
use crate::xml::{Element, StreamEvent, StreamHeader};
use crate::xmpp::{BareJid, StreamCondition, ns};

/// How far the connection has come; only ever moves forward.
enum Stage {
    /// Before authentication.
    Open,
    /// SASL succeeded for this account.
    Authenticated(BareJid),
}

/// Runs negotiation until a resource is bound.
pub async fn negotiate(stream: &mut Stream, svc: &Services, domain: &mut String) -> Result<Bound, C2sError> {
    let mut stage = Stage::Open;
    let mut failures = 0u32;
    loop {
        let header = match stream.next_event().await? {
            StreamEvent::Open(h) => h,
            _ => return Err(stream_err(StreamCondition::NotWellFormed, "expected a stream header")),
        };
        *domain = check_header(svc, &header, domain)?;
        stream.send_header(domain, None).await?;
        stream.send_el(&features(svc, stream.tls, &stage)).await?;
        // Elements of this stream until it restarts (TLS, SASL) or binds.
        loop {
            let el = stream.next_element().await?;
            match (&stage, el.ns.as_str(), el.name.as_str()) {
                (Stage::Open, ns::TLS, "starttls") => {
                    starttls(stream, svc).await?;
                    break;
                }
                (Stage::Open, ns::SASL, "auth") => {
                    if svc.config.tls_required && !stream.tls {
                        stream
                            .send_el(&super::sasl::failure_element(super::sasl::SaslFailure::EncryptionRequired, None))
                            .await?;
                        continue;
                    }
                    match auth::authenticate(stream, svc, &el, domain).await? {
                        AuthOutcome::Success(jid) => {
                            tracing::info!(%jid, "authenticated");
                            stage = Stage::Authenticated(jid);
                            stream.restart();
                            break;
                        }
                        AuthOutcome::Failed => {
                            failures += 1;
                            if failures >= svc.config.sasl_max_attempts {
                                return Err(stream_err(
                                    StreamCondition::PolicyViolation,
                                    "too many failed authentication attempts",
                                ));
                            }
                        }
                    }
                }
                (Stage::Open, ns::CLIENT, "iq") if register::is_register_iq(&el) => {
                    register::handle(stream, svc, &el, domain).await?;
                }
                (Stage::Authenticated(jid), ns::CLIENT, "iq") => {
                    if let Some(bound) = bind::bind(stream, svc, &el, jid).await? {
                        return Ok(bound);
                    }
                }
                (Stage::Open, _, _) => {
                    return Err(stream_err(StreamCondition::NotAuthorized, "authenticate first"));
                }
                (Stage::Authenticated(_), _, _) => {
                    return Err(stream_err(StreamCondition::NotAuthorized, "bind a resource first"));
                }
            }
        }
    }
}

/// RFC 6120 §4.7: the header must be in `jabber:client`, address one of our
/// hosts (the first header fixes the host for later restarts), and speak 1.0.
fn check_header(svc: &Services, h: &StreamHeader, current: &str) -> Result<String, C2sError> {
    if h.default_ns.as_deref() != Some(ns::CLIENT) {
        return Err(stream_err(StreamCondition::InvalidNamespace, "the content namespace must be jabber:client"));
    }
    let to = h.to.as_deref().unwrap_or(current);
    if !svc.is_local_domain(to) {
        return Err(stream_err(StreamCondition::HostUnknown, "this server does not serve that domain"));
    }
    if !current.is_empty() && !to.eq_ignore_ascii_case(current) {
        return Err(stream_err(StreamCondition::HostUnknown, "the domain changed on stream restart"));
    }
    let major = h.version.as_deref().and_then(|v| v.split('.').next()).and_then(|m| m.parse::<u32>().ok());
    if major.unwrap_or(0) < 1 {
        return Err(stream_err(StreamCondition::UnsupportedVersion, "XMPP 1.0 streams only"));
    }
    Ok(to.to_ascii_lowercase())
}

/// The features offered at this point of negotiation (RFC 6120 §4.3.2).
fn features(svc: &Services, tls: bool, stage: &Stage) -> Element {
    let cfg = &svc.config;
    let mut f = Element::new("features", ns::STREAM);
    match stage {
        Stage::Open => {
            if !tls && svc.tls.is_some() {
                let mut starttls = Element::new("starttls", ns::TLS);
                if cfg.tls_required {
                    starttls.push_child(Element::new("required", ns::TLS));
                }
                f.push_child(starttls);
            }
            if tls || !cfg.tls_required {
                let mut mechs = Element::new("mechanisms", ns::SASL);
                for m in auth::offered(cfg, tls) {
                    mechs.push_child(Element::new("mechanism", ns::SASL).with_text(m.name()));
                }
                f.push_child(mechs);
                if cfg.registration {
                    f.push_child(Element::new("register", ns::REGISTER_FEATURE));
                }
            }
        }
        Stage::Authenticated(_) => {
            f.push_child(Element::new("bind", ns::BIND));
            f.push_child(Element::new("session", ns::SESSION).with_child(Element::new("optional", ns::SESSION)));
            // RFC 6121 §2.6.1 and §3.4: informative, never negotiated.
            f.push_child(Element::new("ver", ns::ROSTER_VER));
            f.push_child(Element::new("sub", ns::PRE_APPROVAL));
            // XEP-0079 §8 (R58): only while a plugin provides AMP.
            if svc.plugins.chain().has_feature(ns::AMP) {
                f.push_child(Element::new("amp", ns::AMP_FEATURE));
            }
        }
    }
    f
}

/// RFC 6120 §5.4.2: `<proceed/>`, then the TLS handshake and a new stream.
async fn starttls(stream: &mut Stream, svc: &Services) -> Result<(), C2sError> {
    let Some(acceptor) = svc.tls.as_ref().filter(|_| !stream.tls) else {
        // §5.4.2.2: failure, then close without a stream error.
        stream.send_el(&Element::new("failure", ns::TLS)).await?;
        return Err(C2sError::Closed);
    };
    stream.send_el(&Element::new("proceed", ns::TLS)).await?;
    stream.upgrade(acceptor).await
}
