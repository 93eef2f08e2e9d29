//! Every row of RFC 6121 Tables 2–9, written out as the RFC prints them, plus
//! the §3.4 pre-approval rules.

use super::State::*;
use super::*;

/// `(existing state, route/deliver?, new state)`; "no state change" is the
/// existing state again.
type Row = (State, bool, State);

fn check_outbound(kind: Kind, table: [Row; 9]) {
    for (state, route, new) in table {
        let out = outbound(state, false, kind);
        assert_eq!((out.route, out.state), (route, new), "outbound {kind:?} in {state:?}");
    }
    let covered: Vec<State> = table.iter().map(|r| r.0).collect();
    assert_eq!(covered, State::ALL, "every state once, in RFC order");
}

fn check_inbound(kind: Kind, table: [Row; 9]) {
    for (state, deliver, new) in table {
        let got = inbound(state, false, kind);
        assert_eq!((got.deliver, got.state), (deliver, new), "inbound {kind:?} in {state:?}");
    }
    let covered: Vec<State> = table.iter().map(|r| r.0).collect();
    assert_eq!(covered, State::ALL, "every state once, in RFC order");
}

#[test]
fn table_2_outbound_subscribe() {
    check_outbound(
        Kind::Subscribe,
        [
            (None, true, NonePendingOut),
            (NonePendingOut, true, NonePendingOut),
            (NonePendingIn, true, NonePendingOutIn),
            (NonePendingOutIn, true, NonePendingOutIn),
            (To, true, To),
            (ToPendingIn, true, ToPendingIn),
            (From, true, FromPendingOut),
            (FromPendingOut, true, FromPendingOut),
            (Both, true, Both),
        ],
    );
}

#[test]
fn table_3_outbound_unsubscribe() {
    check_outbound(
        Kind::Unsubscribe,
        [
            (None, true, None),
            (NonePendingOut, true, None),
            (NonePendingIn, true, NonePendingIn),
            (NonePendingOutIn, true, NonePendingIn),
            (To, true, None),
            (ToPendingIn, true, NonePendingIn),
            (From, true, From),
            (FromPendingOut, true, From),
            (Both, true, From),
        ],
    );
}

#[test]
fn table_4_outbound_subscribed() {
    check_outbound(
        Kind::Subscribed,
        [
            (None, false, None),
            (NonePendingOut, false, NonePendingOut),
            (NonePendingIn, true, From),
            (NonePendingOutIn, true, FromPendingOut),
            (To, false, To),
            (ToPendingIn, true, Both),
            (From, false, From),
            (FromPendingOut, false, FromPendingOut),
            (Both, false, Both),
        ],
    );
}

#[test]
fn table_5_outbound_unsubscribed() {
    check_outbound(
        Kind::Unsubscribed,
        [
            (None, false, None),
            (NonePendingOut, false, NonePendingOut),
            (NonePendingIn, true, None),
            (NonePendingOutIn, true, NonePendingOut),
            (To, false, To),
            (ToPendingIn, true, To),
            (From, true, None),
            (FromPendingOut, true, NonePendingOut),
            (Both, true, To),
        ],
    );
}

#[test]
fn table_6_inbound_subscribe() {
    check_inbound(
        Kind::Subscribe,
        [
            (None, true, NonePendingIn),
            (NonePendingOut, true, NonePendingOutIn),
            (NonePendingIn, false, NonePendingIn),
            (NonePendingOutIn, false, NonePendingOutIn),
            (To, true, ToPendingIn),
            (ToPendingIn, false, ToPendingIn),
            (From, false, From),
            (FromPendingOut, false, FromPendingOut),
            (Both, false, Both),
        ],
    );
    // Footnote [2]: already subscribed contacts get an automatic "subscribed".
    for s in [From, FromPendingOut, Both] {
        assert_eq!(inbound(s, false, Kind::Subscribe).reply, Some(Kind::Subscribed), "{s:?}");
    }
    for s in [None, NonePendingOut, NonePendingIn, NonePendingOutIn, To, ToPendingIn] {
        assert_eq!(inbound(s, false, Kind::Subscribe).reply, Option::None, "{s:?}");
    }
}

#[test]
fn table_7_inbound_unsubscribe() {
    check_inbound(
        Kind::Unsubscribe,
        [
            (None, false, None),
            (NonePendingOut, false, NonePendingOut),
            (NonePendingIn, true, None),
            (NonePendingOutIn, true, NonePendingOut),
            (To, false, To),
            (ToPendingIn, true, To),
            (From, true, None),
            (FromPendingOut, true, NonePendingOut),
            (Both, true, To),
        ],
    );
    // Footnote [1]: every delivered unsubscribe is answered with "unsubscribed".
    for s in State::ALL {
        let got = inbound(s, false, Kind::Unsubscribe);
        assert_eq!(got.reply.is_some(), got.deliver, "{s:?}");
    }
}

#[test]
fn table_8_inbound_subscribed() {
    check_inbound(
        Kind::Subscribed,
        [
            (None, false, None),
            (NonePendingOut, true, To),
            (NonePendingIn, false, NonePendingIn),
            (NonePendingOutIn, true, ToPendingIn),
            (To, false, To),
            (ToPendingIn, false, ToPendingIn),
            (From, false, From),
            (FromPendingOut, true, Both),
            (Both, false, Both),
        ],
    );
}

#[test]
fn table_9_inbound_unsubscribed() {
    check_inbound(
        Kind::Unsubscribed,
        [
            (None, false, None),
            (NonePendingOut, true, None),
            (NonePendingIn, false, NonePendingIn),
            (NonePendingOutIn, true, NonePendingIn),
            (To, true, None),
            (ToPendingIn, true, NonePendingIn),
            (From, false, From),
            (FromPendingOut, true, From),
            (Both, true, From),
        ],
    );
}

#[test]
fn pre_approval_is_noted_not_routed_and_answers_the_later_request() {
    // §3.4.2 rule 3/4: "subscribed" before any request sets the flag.
    for s in [None, NonePendingOut, To] {
        let out = outbound(s, false, Kind::Subscribed);
        assert_eq!((out.route, out.state, out.approved), (false, s, true), "{s:?}");
        // §3.4: the later request is answered, not delivered.
        let got = inbound(s, true, Kind::Subscribe);
        assert!(!got.deliver && got.reply == Some(Kind::Subscribed) && !got.approved, "{s:?}");
        assert!(got.state.from(), "{s:?} becomes a subscription from the contact");
    }
    assert_eq!(inbound(None, true, Kind::Subscribe).state, From);
    assert_eq!(inbound(NonePendingOut, true, Kind::Subscribe).state, FromPendingOut);
    assert_eq!(inbound(To, true, Kind::Subscribe).state, Both);
    // §3.2.2 rule 2: "unsubscribed" cancels it without routing.
    for s in [None, NonePendingOut, To] {
        let out = outbound(s, true, Kind::Unsubscribed);
        assert_eq!((out.route, out.state, out.approved), (false, s, false), "{s:?}");
    }
    // A pre-approval survives the owner's own subscribe, and ends once the
    // contact is subscribed.
    assert!(outbound(None, true, Kind::Subscribe).approved);
    assert!(!outbound(NonePendingIn, true, Kind::Subscribed).approved);
}

#[test]
fn projections_match_appendix_a1() {
    let visible: Vec<(&str, bool)> = State::ALL.iter().map(|s| (s.subscription(), s.ask())).collect();
    assert_eq!(
        visible,
        [
            ("none", false),
            ("none", true),
            ("none", false),
            ("none", true),
            ("to", false),
            ("to", false),
            ("from", false),
            ("from", true),
            ("both", false),
        ]
    );
    for s in State::ALL {
        assert_eq!(State::from_code(s.code()), Some(s));
        assert_eq!(s.to(), matches!(s.subscription(), "to" | "both"));
        assert_eq!(s.from(), matches!(s.subscription(), "from" | "both"));
    }
    assert_eq!(State::from_code("bogus"), Option::None);
    for k in [Kind::Subscribe, Kind::Subscribed, Kind::Unsubscribe, Kind::Unsubscribed] {
        assert_eq!(Kind::parse(k.as_str()), Some(k));
    }
}
