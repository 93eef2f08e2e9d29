//! RFC 6121 §8.5 (local user) routing decisions for `<message/>`, as pure
//! functions over the recipient's sessions.
//!
//! They live in the SDK rather than in the `message` plugin so that every
//! plugin which must predict or reproduce delivery (XEP-0079 `amp` asks
//! "would this be delivered, stored, to which resource?") routes exactly
//! like `message` without copying it. What to do with [`Route::Offline`]
//! (bounce now, store later) is left to the calling plugin.

use crate::types::{MessageType, ResourceInfo};

/// Where a message addressed to a local account goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Deliver to the sessions with these resourceparts (never empty).
    Deliver(Vec<String>),
    /// The account exists but no session may receive it now; §8.5.2.2.1
    /// lets `normal`/`chat` be stored offline or refused.
    Offline,
    /// Refuse with `<service-unavailable/>`: `groupchat` to a user (§8.5.2),
    /// or a message to an account that does not exist (§8.5.1).
    Refuse,
    /// Silently ignore: `error` messages, `headline` with nobody available.
    Ignore,
}

/// Routes a message of type `ty` to a local account.
///
/// `to_resource` is the addressee's resourcepart (full JID) or `None` (bare
/// JID); `account_exists` says whether the account is registered;
/// `sessions` are its bound sessions. Policy where the RFC leaves a choice:
/// "most available" means the highest non-negative priority (ties all
/// receive it), and a full JID without a matching session falls back to the
/// bare-JID rules except for `groupchat` (refused) and `error` (ignored).
pub fn route(ty: MessageType, to_resource: Option<&str>, account_exists: bool, sessions: &[ResourceInfo]) -> Route {
    if !account_exists {
        return refuse_unless_error(ty);
    }
    if let Some(resource) = to_resource {
        // §8.5.3.1: a matching session (available or merely connected) gets it.
        if session(sessions, resource).is_some() {
            return Route::Deliver(vec![resource.to_owned()]);
        }
        // §8.5.3.2.1 for groupchat and error; the rest use the bare rules.
        if matches!(ty, MessageType::Groupchat | MessageType::Error) {
            return refuse_unless_error(ty);
        }
    }
    route_bare(ty, sessions)
}

/// §8.5.2: a message to the bare JID of an existing account.
fn route_bare(ty: MessageType, sessions: &[ResourceInfo]) -> Route {
    match ty {
        MessageType::Error => Route::Ignore,
        MessageType::Groupchat => Route::Refuse,
        MessageType::Headline => deliver_or(non_negative(sessions).collect(), Route::Ignore),
        MessageType::Normal | MessageType::Chat => deliver_or(most_available(sessions), Route::Offline),
    }
}

fn refuse_unless_error(ty: MessageType) -> Route {
    match ty {
        MessageType::Error => Route::Ignore,
        _ => Route::Refuse,
    }
}

fn deliver_or(targets: Vec<&ResourceInfo>, otherwise: Route) -> Route {
    if targets.is_empty() { otherwise } else { Route::Deliver(targets.iter().map(|r| r.resource.clone()).collect()) }
}

/// The session bound to `resource`, whether or not it sent presence.
pub fn session<'a>(sessions: &'a [ResourceInfo], resource: &str) -> Option<&'a ResourceInfo> {
    sessions.iter().find(|r| r.resource == resource)
}

/// Available sessions with a non-negative priority: the only ones §8.5.2.1.1
/// allows a bare-JID message to reach.
pub fn non_negative(sessions: &[ResourceInfo]) -> impl Iterator<Item = &ResourceInfo> {
    sessions.iter().filter(|r| r.available && r.priority >= 0)
}

/// The "most available" sessions: those sharing the highest non-negative
/// priority among available ones, in input order. Empty when none qualifies.
pub fn most_available(sessions: &[ResourceInfo]) -> Vec<&ResourceInfo> {
    let Some(top) = non_negative(sessions).map(|r| r.priority).max() else {
        return Vec::new();
    };
    non_negative(sessions).filter(|r| r.priority == top).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageType::*;

    fn two() -> Vec<ResourceInfo> {
        vec![
            ResourceInfo::new("low", 1, true),
            ResourceInfo::new("high", 5, true),
            ResourceInfo::new("idle", 9, false),
            ResourceInfo::new("neg", -1, true),
        ]
    }

    fn deliver(rs: &[&str]) -> Route {
        Route::Deliver(rs.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn bare_normal_and_chat_go_to_highest_priority() {
        assert_eq!(route(Normal, None, true, &two()), deliver(&["high"]));
        assert_eq!(route(Chat, None, true, &two()), deliver(&["high"]));
    }

    #[test]
    fn ties_at_the_top_all_receive() {
        let s = vec![ResourceInfo::new("a", 3, true), ResourceInfo::new("b", 3, true)];
        assert_eq!(route(Chat, None, true, &s), deliver(&["a", "b"]));
    }

    #[test]
    fn headline_goes_to_every_non_negative_available_session() {
        assert_eq!(route(Headline, None, true, &two()), deliver(&["low", "high"]));
    }

    #[test]
    fn groupchat_to_user_is_refused_and_error_ignored() {
        assert_eq!(route(Groupchat, None, true, &two()), Route::Refuse);
        assert_eq!(route(Error, None, true, &two()), Route::Ignore);
    }

    #[test]
    fn nobody_available_is_offline_for_chat_ignore_for_headline() {
        let s = vec![ResourceInfo::new("neg", -1, true), ResourceInfo::new("idle", 4, false)];
        assert_eq!(route(Normal, None, true, &s), Route::Offline);
        assert_eq!(route(Chat, None, true, &[]), Route::Offline);
        assert_eq!(route(Headline, None, true, &s), Route::Ignore);
        assert_eq!(route(Groupchat, None, true, &[]), Route::Refuse);
        assert_eq!(route(Error, None, true, &[]), Route::Ignore);
    }

    #[test]
    fn unknown_account_is_refused_except_errors() {
        for ty in [Normal, Chat, Groupchat, Headline] {
            assert_eq!(route(ty, None, false, &[]), Route::Refuse);
            assert_eq!(route(ty, Some("r"), false, &[]), Route::Refuse);
        }
        assert_eq!(route(Error, None, false, &[]), Route::Ignore);
    }

    #[test]
    fn full_jid_match_is_delivered_even_without_presence() {
        for ty in [Normal, Chat, Groupchat, Headline, Error] {
            assert_eq!(route(ty, Some("idle"), true, &two()), deliver(&["idle"]));
            assert_eq!(route(ty, Some("neg"), true, &two()), deliver(&["neg"]));
        }
    }

    #[test]
    fn full_jid_without_session_falls_back_to_bare_rules() {
        assert_eq!(route(Chat, Some("gone"), true, &two()), deliver(&["high"]));
        assert_eq!(route(Headline, Some("gone"), true, &two()), deliver(&["low", "high"]));
        assert_eq!(route(Normal, Some("gone"), true, &[]), Route::Offline);
        assert_eq!(route(Groupchat, Some("gone"), true, &two()), Route::Refuse);
        assert_eq!(route(Error, Some("gone"), true, &two()), Route::Ignore);
    }

    #[test]
    fn most_available_ignores_negative_and_unavailable() {
        let s = vec![ResourceInfo::new("neg", -3, true), ResourceInfo::new("off", 50, false)];
        assert!(most_available(&s).is_empty());
        assert_eq!(most_available(&two())[0].resource, "high");
    }
}
