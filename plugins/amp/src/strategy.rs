//! XEP-0079 §2.2.2 (R20, R30): the default disposition — what the server
//! would do with the message without AMP, worked out at receipt (D14)
//! without doing it yet.
//!
//! Local recipients are routed by the SDK's [`routing::route`] (RFC 6121
//! §8.5, exactly as the `message` plugin delivers), and what happens to an
//! offline message is the store's answer (XEP-0160, as `msgoffline`
//! stores). One match arm per situation, as in MongooseIM's
//! `amp_strategy`; the table is in the README.
//!
//! [`routing::route`]: wasmpp_guest_sdk::routing::route

use wasmpp_guest_sdk::routing::Route;

use crate::rules::DeliverValue;

/// What the offline store would do with a message nobody can take now
/// (RFC 6121 §8.5.2.2.1 with XEP-0160 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offline {
    /// Keep it for the next login.
    Store,
    /// Drop it silently: not worth keeping (only a chat state, or a
    /// XEP-0334 `<no-store/>` hint), as `msgoffline` does.
    Discard,
    /// No storage: answer `<service-unavailable/>`.
    Refuse,
}

impl Offline {
    /// The store's answer from whether offline storage is enabled and
    /// whether the message is disposable (asked only when it matters).
    pub fn decide(storage_enabled: bool, disposable: impl FnOnce() -> bool) -> Self {
        match (storage_enabled, storage_enabled && disposable()) {
            (false, _) => Offline::Refuse,
            (true, true) => Offline::Discard,
            (true, false) => Offline::Store,
        }
    }
}

/// How an undelivered message ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undelivered {
    /// The sender gets `<service-unavailable/>` (unknown account, groupchat
    /// to a user, offline without storage).
    Bounce,
    /// Nobody hears of it (headline with nobody available, disposable
    /// offline message).
    Silent,
}

/// Where the message goes by default; [`Disposition::deliver`] gives the
/// `deliver` condition's view of it (R30).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Delivered at once to these sessions of a local account (their
    /// resourceparts, never empty).
    Direct(Vec<String>),
    /// Routed on to the next server; the final resource is decided there.
    NextHop,
    /// Redirected to another XMPP address (D17: only a routing plugin can
    /// report this, and none in the shipped set does).
    Forward,
    /// Sent through a gateway to a non-XMPP address (D17, likewise).
    Gateway,
    /// Put into offline storage.
    Stored,
    /// Not delivered at all.
    None(Undelivered),
}

impl Disposition {
    /// R30: the `deliver` value this disposition meets. Routing on to the
    /// next hop counts as `direct`.
    pub fn deliver(&self) -> DeliverValue {
        match self {
            Disposition::Direct(_) | Disposition::NextHop => DeliverValue::Direct,
            Disposition::Forward => DeliverValue::Forward,
            Disposition::Gateway => DeliverValue::Gateway,
            Disposition::Stored => DeliverValue::Stored,
            Disposition::None(_) => DeliverValue::None,
        }
    }
}

/// Who the message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient<'a> {
    /// An account of a local domain, routed by the SDK, and what the offline
    /// store would do if nobody can take it now.
    Local {
        /// `routing::route(type, to_resource, exists, sessions)`.
        route: &'a Route,
        /// The store's answer for [`Route::Offline`].
        offline: Offline,
    },
    /// An address on another server (s2s).
    Remote,
}

/// R20: the default disposition of a message for `recipient`.
pub fn default_disposition(recipient: Recipient<'_>) -> Disposition {
    match recipient {
        Recipient::Remote => Disposition::NextHop,
        Recipient::Local { route, offline } => match (route, offline) {
            (Route::Deliver(resources), _) => Disposition::Direct(resources.clone()),
            (Route::Offline, Offline::Store) => Disposition::Stored,
            (Route::Offline, Offline::Discard) => Disposition::None(Undelivered::Silent),
            (Route::Offline, Offline::Refuse) => Disposition::None(Undelivered::Bounce),
            (Route::Refuse, _) => Disposition::None(Undelivered::Bounce),
            (Route::Ignore, _) => Disposition::None(Undelivered::Silent),
        },
    }
}

#[cfg(test)]
mod tests {
    use wasmpp_guest_sdk::routing;
    use wasmpp_guest_sdk::{MessageType, ResourceInfo};

    use super::*;

    fn local(route: &Route, offline: Offline) -> Disposition {
        default_disposition(Recipient::Local { route, offline })
    }

    fn sessions() -> Vec<ResourceInfo> {
        vec![ResourceInfo::new("desk", 5, true), ResourceInfo::new("phone", 1, true)]
    }

    /// R30 `direct`, X6: an available recipient gets it now, at the
    /// resources routing picks (highest priority for a bare JID).
    #[test]
    fn r30_x6_online_recipient_is_direct_to_the_routed_resources() {
        let route = routing::route(MessageType::Chat, None, true, &sessions());
        let d = local(&route, Offline::Store);
        assert_eq!(d, Disposition::Direct(vec!["desk".into()]));
        assert_eq!(d.deliver(), DeliverValue::Direct);
        let full = routing::route(MessageType::Normal, Some("phone"), true, &sessions());
        assert_eq!(local(&full, Offline::Store), Disposition::Direct(vec!["phone".into()]));
    }

    /// R30 `stored`, X1, X6: nobody available and storage keeps it.
    #[test]
    fn r30_x1_offline_recipient_with_storage_is_stored() {
        let away = [ResourceInfo::new("phone", -1, true)];
        let route = routing::route(MessageType::Chat, None, true, &away);
        assert_eq!(local(&route, Offline::Store), Disposition::Stored);
        assert_eq!(local(&route, Offline::Store).deliver(), DeliverValue::Stored);
        // A full JID without a session falls back to the bare JID (RFC 6121 §8.5.3.2.1).
        let gone = routing::route(MessageType::Chat, Some("laptop"), true, &[]);
        assert_eq!(local(&gone, Offline::Store), Disposition::Stored);
    }

    /// R30 `none`: offline without storage bounces; disposable messages and
    /// headlines vanish; unknown accounts and groupchat bounce (X6).
    #[test]
    fn r30_x6_undelivered_cases_are_none() {
        let offline = routing::route(MessageType::Normal, None, true, &[]);
        assert_eq!(local(&offline, Offline::Refuse), Disposition::None(Undelivered::Bounce));
        assert_eq!(local(&offline, Offline::Discard), Disposition::None(Undelivered::Silent));
        let headline = routing::route(MessageType::Headline, None, true, &[]);
        assert_eq!(local(&headline, Offline::Store), Disposition::None(Undelivered::Silent));
        let unknown = routing::route(MessageType::Chat, None, false, &[]);
        assert_eq!(local(&unknown, Offline::Store), Disposition::None(Undelivered::Bounce));
        let groupchat = routing::route(MessageType::Groupchat, None, true, &sessions());
        assert_eq!(local(&groupchat, Offline::Store), Disposition::None(Undelivered::Bounce));
        for d in [Disposition::None(Undelivered::Bounce), Disposition::None(Undelivered::Silent)] {
            assert_eq!(d.deliver(), DeliverValue::None);
        }
    }

    /// R30: routing on to another server is `direct`; D17: forward and
    /// gateway only come from a routing plugin, never from `route`.
    #[test]
    fn r30_d17_next_hop_is_direct_and_forward_gateway_are_distinct() {
        assert_eq!(default_disposition(Recipient::Remote), Disposition::NextHop);
        assert_eq!(Disposition::NextHop.deliver(), DeliverValue::Direct);
        assert_eq!(Disposition::Forward.deliver(), DeliverValue::Forward);
        assert_eq!(Disposition::Gateway.deliver(), DeliverValue::Gateway);
    }

    /// X4/XEP-0160: the store's answer; `disposable` is only asked when
    /// storage is on.
    #[test]
    fn offline_decision() {
        assert_eq!(Offline::decide(true, || false), Offline::Store);
        assert_eq!(Offline::decide(true, || true), Offline::Discard);
        assert_eq!(Offline::decide(false, || panic!("not asked")), Offline::Refuse);
    }
}
