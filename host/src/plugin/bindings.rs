//! The host side of the `xmpp:sm@0.2.1` WIT contract (`wit/`): the one
//! `bindgen!` site, plus conversions between the generated WIT types and the
//! host's typed RFC 6120/6121 values.
//!
//! Keeping the macro here alone means only this file changes when the WIT
//! does; everything else works with `crate::xmpp` types.

use crate::xmpp::{Condition, ErrorType, MessageType, StanzaError, StanzaKind};

wasmtime::component::bindgen!({
    world: "sm-plugin",
    path: "../wit",
    // Host functions may trap (a dangling stanza handle is a guest bug).
    imports: { default: trappable },
    with: { "xmpp:sm/stanza.stanza": super::host_api::StanzaSlot },
});

pub(super) use xmpp::sm::types as wit;

/// The WIT package of the contract, as component import names spell it
/// (`xmpp:sm/log@0.2.1`).
pub const WIT_PACKAGE: &str = "xmpp:sm";

/// The contract version this host provides: `wit/*.wit` declare it, and a
/// component must be built for it or an earlier patch release of it
/// (checked before linking, `manifest::api_version`).
pub const WIT_VERSION: &str = "0.2.1";

pub(super) fn kind_to_wit(kind: StanzaKind) -> wit::StanzaKind {
    match kind {
        StanzaKind::Message => wit::StanzaKind::Message,
        StanzaKind::Presence => wit::StanzaKind::Presence,
        StanzaKind::Iq => wit::StanzaKind::Iq,
    }
}

pub(super) fn kind_from_wit(kind: wit::StanzaKind) -> StanzaKind {
    match kind {
        wit::StanzaKind::Message => StanzaKind::Message,
        wit::StanzaKind::Presence => StanzaKind::Presence,
        wit::StanzaKind::Iq => StanzaKind::Iq,
    }
}

pub(super) fn message_type_to_wit(ty: MessageType) -> wit::MessageType {
    match ty {
        MessageType::Normal => wit::MessageType::Normal,
        MessageType::Chat => wit::MessageType::Chat,
        MessageType::Groupchat => wit::MessageType::Groupchat,
        MessageType::Headline => wit::MessageType::Headline,
        MessageType::Error => wit::MessageType::Error,
    }
}

pub(super) fn error_from_wit(e: wit::StanzaError) -> StanzaError {
    StanzaError { condition: condition_from_wit(e.condition), kind: error_type_from_wit(e.kind), text: e.text }
}

fn error_type_from_wit(t: wit::ErrorType) -> ErrorType {
    match t {
        wit::ErrorType::Auth => ErrorType::Auth,
        wit::ErrorType::Cancel => ErrorType::Cancel,
        wit::ErrorType::Continue => ErrorType::Continue,
        wit::ErrorType::Modify => ErrorType::Modify,
        wit::ErrorType::Wait => ErrorType::Wait,
    }
}

fn condition_from_wit(c: wit::ErrorCondition) -> Condition {
    use wit::ErrorCondition as W;
    match c {
        W::BadRequest => Condition::BadRequest,
        W::Conflict => Condition::Conflict,
        W::FeatureNotImplemented => Condition::FeatureNotImplemented,
        W::Forbidden => Condition::Forbidden,
        W::Gone => Condition::Gone,
        W::InternalServerError => Condition::InternalServerError,
        W::ItemNotFound => Condition::ItemNotFound,
        W::JidMalformed => Condition::JidMalformed,
        W::NotAcceptable => Condition::NotAcceptable,
        W::NotAllowed => Condition::NotAllowed,
        W::NotAuthorized => Condition::NotAuthorized,
        W::PolicyViolation => Condition::PolicyViolation,
        W::RecipientUnavailable => Condition::RecipientUnavailable,
        W::Redirect => Condition::Redirect,
        W::RegistrationRequired => Condition::RegistrationRequired,
        W::RemoteServerNotFound => Condition::RemoteServerNotFound,
        W::RemoteServerTimeout => Condition::RemoteServerTimeout,
        W::ResourceConstraint => Condition::ResourceConstraint,
        W::ServiceUnavailable => Condition::ServiceUnavailable,
        W::SubscriptionRequired => Condition::SubscriptionRequired,
        W::UndefinedCondition => Condition::UndefinedCondition,
        W::UnexpectedRequest => Condition::UnexpectedRequest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wit_condition_maps_to_the_same_name() {
        use wit::ErrorCondition as W;
        let all = [
            (W::BadRequest, "bad-request"),
            (W::Gone, "gone"),
            (W::InternalServerError, "internal-server-error"),
            (W::RemoteServerNotFound, "remote-server-not-found"),
            (W::ServiceUnavailable, "service-unavailable"),
            (W::UnexpectedRequest, "unexpected-request"),
        ];
        for (w, name) in all {
            assert_eq!(condition_from_wit(w).as_str(), name);
        }
    }

    #[test]
    fn every_wit_file_declares_the_version_the_host_checks() {
        let package = format!("package {WIT_PACKAGE}@{WIT_VERSION};");
        let files = [
            include_str!("../../../wit/condition.wit"),
            include_str!("../../../wit/log.wit"),
            include_str!("../../../wit/plugin.wit"),
            include_str!("../../../wit/server.wit"),
            include_str!("../../../wit/sessions.wit"),
            include_str!("../../../wit/stanza.wit"),
            include_str!("../../../wit/types.wit"),
            include_str!("../../../wit/worlds.wit"),
        ];
        for text in files {
            assert_eq!(text.lines().next(), Some(package.as_str()));
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), files.len(), "a WIT file is missing from this test");
    }

    #[test]
    fn kinds_round_trip() {
        for k in [StanzaKind::Message, StanzaKind::Presence, StanzaKind::Iq] {
            assert_eq!(kind_from_wit(kind_to_wit(k)), k);
        }
    }

    #[test]
    fn stanza_error_keeps_type_and_text() {
        let e = error_from_wit(wit::StanzaError {
            condition: wit::ErrorCondition::NotAllowed,
            kind: wit::ErrorType::Continue,
            text: Some("why".into()),
        });
        assert_eq!(e.condition, Condition::NotAllowed);
        assert_eq!(e.kind, ErrorType::Continue);
        assert_eq!(e.text.as_deref(), Some("why"));
    }
}
