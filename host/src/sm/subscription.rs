//! RFC 6121 Appendix A: the nine subscription states and how the four
//! subscription stanzas move a roster item between them, as pure functions.
//!
//! Everything is seen from the side of the roster's owner (the "user"): an
//! *outbound* stanza is one the owner sends to the contact (Tables 2–5), an
//! *inbound* one arrives from the contact (Tables 6–9). The functions decide
//! the new state and whether the stanza travels on; the caller performs that.
//! Pre-approval (§3.4) is the separate `approved` flag, meaningful only while
//! the contact has no subscription to the owner.

/// The nine states of Appendix A.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Neither is subscribed, nothing pending.
    None,
    /// The owner asked for the contact's presence.
    NonePendingOut,
    /// The contact asked for the owner's presence.
    NonePendingIn,
    /// Both asked, neither answered.
    NonePendingOutIn,
    /// The owner receives the contact's presence.
    To,
    /// `To`, and the contact asked for the owner's presence.
    ToPendingIn,
    /// The contact receives the owner's presence.
    From,
    /// `From`, and the owner asked for the contact's presence.
    FromPendingOut,
    /// Mutual subscription.
    Both,
}

/// The four subscription-related presence types (RFC 6121 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Ask for the receiver's presence.
    Subscribe,
    /// Allow the receiver to see the sender's presence.
    Subscribed,
    /// Stop receiving the receiver's presence.
    Unsubscribe,
    /// Deny or cancel the receiver's subscription.
    Unsubscribed,
}

impl Kind {
    /// Parses a presence `type` attribute.
    pub fn parse(value: &str) -> Option<Kind> {
        match value {
            "subscribe" => Some(Kind::Subscribe),
            "subscribed" => Some(Kind::Subscribed),
            "unsubscribe" => Some(Kind::Unsubscribe),
            "unsubscribed" => Some(Kind::Unsubscribed),
            _ => None,
        }
    }

    /// The presence `type` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Subscribe => "subscribe",
            Kind::Subscribed => "subscribed",
            Kind::Unsubscribe => "unsubscribe",
            Kind::Unsubscribed => "unsubscribed",
        }
    }
}

impl State {
    /// Every state, for exhaustive tests.
    pub const ALL: [State; 9] = [
        State::None,
        State::NonePendingOut,
        State::NonePendingIn,
        State::NonePendingOutIn,
        State::To,
        State::ToPendingIn,
        State::From,
        State::FromPendingOut,
        State::Both,
    ];

    /// The roster item's `subscription` attribute (§2.1.2.5).
    pub fn subscription(self) -> &'static str {
        match self {
            State::None | State::NonePendingOut | State::NonePendingIn | State::NonePendingOutIn => "none",
            State::To | State::ToPendingIn => "to",
            State::From | State::FromPendingOut => "from",
            State::Both => "both",
        }
    }

    /// Whether the item carries `ask='subscribe'` (§2.1.2.2: "Pending Out").
    pub fn ask(self) -> bool {
        matches!(self, State::NonePendingOut | State::NonePendingOutIn | State::FromPendingOut)
    }

    /// Whether an inbound request waits for the owner's answer.
    pub fn pending_in(self) -> bool {
        matches!(self, State::NonePendingIn | State::NonePendingOutIn | State::ToPendingIn)
    }

    /// Whether the owner receives the contact's presence (probes go out).
    pub fn to(self) -> bool {
        matches!(self, State::To | State::ToPendingIn | State::Both)
    }

    /// Whether the contact receives the owner's presence (broadcasts go out).
    pub fn from(self) -> bool {
        matches!(self, State::From | State::FromPendingOut | State::Both)
    }

    /// A stable name for storage.
    pub fn code(self) -> &'static str {
        match self {
            State::None => "none",
            State::NonePendingOut => "none+out",
            State::NonePendingIn => "none+in",
            State::NonePendingOutIn => "none+out+in",
            State::To => "to",
            State::ToPendingIn => "to+in",
            State::From => "from",
            State::FromPendingOut => "from+out",
            State::Both => "both",
        }
    }

    /// Parses [`State::code`].
    pub fn from_code(code: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// What the owner's server does with an outbound subscription stanza.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outbound {
    /// Route the stanza to the contact.
    pub route: bool,
    /// The item's new state.
    pub state: State,
    /// The new pre-approval flag.
    pub approved: bool,
}

/// What the owner's server does with an inbound subscription stanza.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inbound {
    /// Deliver the stanza to the owner's resources.
    pub deliver: bool,
    /// The item's new state.
    pub state: State,
    /// The new pre-approval flag.
    pub approved: bool,
    /// The answer the server sends to the contact on the owner's behalf.
    pub reply: Option<Kind>,
}

/// Tables 2–5 (Appendix A.2), with §3.4 pre-approval for outbound
/// `subscribed` to a contact that has not asked, and its cancellation by
/// `unsubscribed`.
pub fn outbound(state: State, approved: bool, kind: Kind) -> Outbound {
    use State::*;
    let (route, new) = match (kind, state) {
        (Kind::Subscribe, None) => (true, NonePendingOut),
        (Kind::Subscribe, NonePendingIn) => (true, NonePendingOutIn),
        (Kind::Subscribe, From) => (true, FromPendingOut),
        (Kind::Subscribe, s) => (true, s),

        (Kind::Unsubscribe, NonePendingOut | To) => (true, None),
        (Kind::Unsubscribe, NonePendingOutIn | ToPendingIn) => (true, NonePendingIn),
        (Kind::Unsubscribe, FromPendingOut | Both) => (true, From),
        (Kind::Unsubscribe, s) => (true, s),

        (Kind::Subscribed, NonePendingIn) => (true, From),
        (Kind::Subscribed, NonePendingOutIn) => (true, FromPendingOut),
        (Kind::Subscribed, ToPendingIn) => (true, Both),
        // §3.4.2 rule 3: pre-approval, never routed.
        (Kind::Subscribed, None | NonePendingOut | To) => return Outbound { route: false, state, approved: true },
        (Kind::Subscribed, s) => (false, s),

        (Kind::Unsubscribed, NonePendingIn | From) => (true, None),
        (Kind::Unsubscribed, NonePendingOutIn | FromPendingOut) => (true, NonePendingOut),
        (Kind::Unsubscribed, ToPendingIn | Both) => (true, To),
        // §3.2.2 rule 2: cancels a pre-approval, never routed.
        (Kind::Unsubscribed, s) => return Outbound { route: false, state: s, approved: false },
    };
    Outbound { route, state: new, approved: approved && !new.from() && !new.pending_in() }
}

/// Tables 6–9 (Appendix A.3). A pre-approved `subscribe` is answered with
/// `subscribed` instead of being delivered (§3.4), and the approval is used up.
pub fn inbound(state: State, approved: bool, kind: Kind) -> Inbound {
    use State::*;
    let quiet = |s| Inbound { deliver: false, state: s, approved, reply: Option::None };
    let deliver = |s, reply| Inbound { deliver: true, state: s, approved, reply };
    match (kind, state) {
        (Kind::Subscribe, None | NonePendingOut | To) if approved => {
            let s = match state {
                None => From,
                NonePendingOut => FromPendingOut,
                _ => Both,
            };
            Inbound { deliver: false, state: s, approved: false, reply: Some(Kind::Subscribed) }
        }
        (Kind::Subscribe, None) => deliver(NonePendingIn, Option::None),
        (Kind::Subscribe, NonePendingOut) => deliver(NonePendingOutIn, Option::None),
        (Kind::Subscribe, To) => deliver(ToPendingIn, Option::None),
        (Kind::Subscribe, From | FromPendingOut | Both) => {
            Inbound { deliver: false, state, approved, reply: Some(Kind::Subscribed) }
        }
        (Kind::Subscribe, s) => quiet(s),

        (Kind::Unsubscribe, NonePendingIn | From) => deliver(None, Some(Kind::Unsubscribed)),
        (Kind::Unsubscribe, NonePendingOutIn | FromPendingOut) => deliver(NonePendingOut, Some(Kind::Unsubscribed)),
        (Kind::Unsubscribe, ToPendingIn | Both) => deliver(To, Some(Kind::Unsubscribed)),
        (Kind::Unsubscribe, s) => quiet(s),

        (Kind::Subscribed, NonePendingOut) => deliver(To, Option::None),
        (Kind::Subscribed, NonePendingOutIn) => deliver(ToPendingIn, Option::None),
        (Kind::Subscribed, FromPendingOut) => deliver(Both, Option::None),
        (Kind::Subscribed, s) => quiet(s),

        (Kind::Unsubscribed, NonePendingOut | To) => deliver(None, Option::None),
        (Kind::Unsubscribed, NonePendingOutIn | ToPendingIn) => deliver(NonePendingIn, Option::None),
        (Kind::Unsubscribed, FromPendingOut | Both) => deliver(From, Option::None),
        (Kind::Unsubscribed, s) => quiet(s),
    }
}

#[cfg(test)]
#[path = "subscription_tests.rs"]
mod tests;
