//! XEP-0079 §2.2.3 and §3.3 (R21, R30, R35, R38–R40, D3, D4, D17, D18):
//! evaluating the rules in document order against the default disposition;
//! the first rule whose condition is met is the only one that fires.
//!
//! Two moments evaluate rules. At receipt, [`resolve`] sees every rule.
//! For a message that ends up stored, `deliver` and `match-resource` were
//! settled at receipt (X7, D14), so only its `expire-at` rules are kept
//! ([`kept_for_storage`]) and [`recheck`]ed when one passes or when the
//! recipient logs in, whichever comes first (D18).

use crate::datetime::Timestamp;
use crate::request::AmpRequest;
use crate::rules::{Action, Condition, MatchResource, Rule};
use crate::strategy::Disposition;

/// Where this server sits on the message's route (R13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    /// The sender's or the recipient's server: evaluates every rule.
    Edge,
    /// A server in between: evaluates only `per-hop='true'` rule sets, and
    /// of those only the rules whose condition applies per hop (R15, D3).
    Intermediate,
}

/// The facts the conditions are matched against, besides the disposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context<'a> {
    /// The current time (R35, D18), from the host's clock.
    pub now: Timestamp,
    /// The resourcepart of the message's `to`, `None` for a bare JID (R38, R39).
    pub to_resource: Option<&'a str>,
    /// This server's place on the route.
    pub hop: Hop,
}

/// The result of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No rule fired: the default disposition stands (R22).
    Default,
    /// Rule `rule` (its index in the evaluated slice) fired with `action`.
    Fired {
        /// Index of the fired rule.
        rule: usize,
        /// Its action.
        action: Action,
    },
}

impl Outcome {
    /// The index of the rule that fired, if one did.
    pub fn fired(self) -> Option<usize> {
        match self {
            Outcome::Default => None,
            Outcome::Fired { rule, .. } => Some(rule),
        }
    }

    /// The `status` of the event to send the sender (R25, R49, R50): the
    /// fired action for alert, error and notify; nothing for drop (R43).
    pub fn event(self) -> Option<Action> {
        match self {
            Outcome::Fired { action: Action::Drop, .. } | Outcome::Default => None,
            Outcome::Fired { action, .. } => Some(action),
        }
    }

    /// Whether the message then takes its default disposition: when no rule
    /// fired, or after a notify (R46, D4). Alert, drop and error discard it
    /// (R41, R42, R44) — in particular it is never stored.
    pub fn takes_default(self) -> bool {
        matches!(self, Outcome::Default | Outcome::Fired { action: Action::Notify, .. })
    }
}

/// R21, D4: evaluates `request`'s rules in order against the default
/// disposition; the first met condition decides and no later rule is
/// evaluated. `custom(name, value)` evaluates a custom condition; it is
/// called only when such a rule's turn comes.
pub fn resolve(
    request: &AmpRequest,
    disposition: &Disposition,
    ctx: &Context<'_>,
    mut custom: impl FnMut(&str, &str) -> bool,
) -> Outcome {
    // R13, R14: without per-hop only the edge servers evaluate.
    if ctx.hop == Hop::Intermediate && !request.per_hop {
        return Outcome::Default;
    }
    first_met(&request.rules, |rule| {
        // R15, R40, D3: a hop skips the rules that cannot apply to it.
        if ctx.hop == Hop::Intermediate && !rule.condition.per_hop() {
            return false;
        }
        match &rule.condition {
            Condition::Deliver(value) => disposition.deliver() == *value,
            Condition::ExpireAt(at) => ctx.now >= *at,
            Condition::MatchResource(value) => matches_resource(*value, disposition, ctx.to_resource),
            Condition::Custom { name, value, .. } => custom(name, value),
        }
    })
}

fn first_met(rules: &[Rule], mut met: impl FnMut(&Rule) -> bool) -> Outcome {
    rules.iter().position(&mut met).map_or(Outcome::Default, |i| Outcome::Fired { rule: i, action: rules[i].action })
}

/// R38, R39 and the ruling on bare JIDs: whether the resource(s) the message
/// reaches match the addressed one. Only exact matches count (no prefixes).
/// Offline storage is a resource-less destination: `exact` for a bare JID,
/// nothing for a full JID. Undelivered, forwarded or routed-on messages
/// reach no resource this server knows of (R15), so nothing matches.
pub fn matches_resource(value: MatchResource, disposition: &Disposition, addressed: Option<&str>) -> bool {
    match disposition {
        Disposition::Direct(reached) => match (value, addressed) {
            (MatchResource::Any, _) | (MatchResource::Other, None) => !reached.is_empty(),
            (MatchResource::Exact, Some(r)) => reached.iter().any(|x| x == r),
            (MatchResource::Exact, None) => false,
            (MatchResource::Other, Some(r)) => reached.iter().any(|x| x != r),
        },
        Disposition::Stored => value == MatchResource::Exact && addressed.is_none(),
        Disposition::NextHop | Disposition::Forward | Disposition::Gateway | Disposition::None(_) => false,
    }
}

/// X7, D18: the rules to store with a message whose receipt outcome was
/// `outcome` and which is stored: its `expire-at` rules except the one that
/// fired (a notify fires once).
pub fn kept_for_storage(rules: &[Rule], outcome: Outcome) -> Vec<Rule> {
    rules
        .iter()
        .enumerate()
        .filter(|(i, r)| Some(*i) != outcome.fired() && matches!(r.condition, Condition::ExpireAt(_)))
        .map(|(_, r)| r.clone())
        .collect()
}

/// The earliest `expire-at` among `rules`: when the sweeper must look at
/// the message next (issue 4 item 5: wake at the next expiry, no polling).
pub fn next_expiry(rules: &[Rule]) -> Option<Timestamp> {
    rules
        .iter()
        .filter_map(|r| match r.condition {
            Condition::ExpireAt(at) => Some(at),
            _ => None,
        })
        .min()
}

/// What became of a stored message's rules at a [`recheck`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recheck {
    /// Notify rules that fired, in order: one notify event each (R46).
    pub notified: Vec<Rule>,
    /// The alert, error or drop rule that fired, if any: the message is
    /// discarded (with an alert or error event for the first two).
    pub discarded_by: Option<Rule>,
    /// The rules to keep with the message when it stays stored.
    pub remaining: Vec<Rule>,
}

/// D18: re-evaluates a stored message's kept rules at `now` (by the expiry
/// sweeper, or at flush before delivery). Evaluation is first-match as at
/// receipt; a notify fires once and is removed, after which the remaining
/// rules are evaluated again, so a message is never delivered past an
/// expired alert, error or drop rule. Conditions other than `expire-at` are
/// not re-evaluated (they were settled at receipt, X7) and never match here.
pub fn recheck(mut rules: Vec<Rule>, now: Timestamp) -> Recheck {
    let mut notified = Vec::new();
    loop {
        let outcome = first_met(&rules, |r| matches!(r.condition, Condition::ExpireAt(at) if now >= at));
        match outcome {
            Outcome::Default => return Recheck { notified, discarded_by: None, remaining: rules },
            Outcome::Fired { rule, action: Action::Notify } => notified.push(rules.remove(rule)),
            Outcome::Fired { rule, .. } => {
                let fired = rules.remove(rule);
                return Recheck { notified, discarded_by: Some(fired), remaining: rules };
            }
        }
    }
}

#[cfg(test)]
#[path = "resolver_tests.rs"]
mod tests;
