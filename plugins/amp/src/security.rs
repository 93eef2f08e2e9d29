//! XEP-0079 §9 security considerations (R59–R61) as the three levels of
//! ruling D15: which rules a sender may not use because their events would
//! reveal the recipient's presence.
//!
//! The decision is taken at validation (unlike Tigase, which checks only
//! when an action fires and still delivers on `notify`): refused rules are
//! reported in `<invalid-rules>` under `<not-acceptable/>` and the message
//! is not delivered.

use std::fmt;
use std::str::FromStr;

use crate::rules::{Action, Rule};

/// `--amp-security-level` (D15); the default is [`SecurityLevel::Strict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SecurityLevel {
    /// R61 option (c), RECOMMENDED: a leaky rule whose action answers the
    /// sender is accepted only from the recipient's own account or from a
    /// contact the recipient's roster lists with subscription `from`/`both`.
    #[default]
    Strict,
    /// R61 option (b): a leaky rule whose action answers the sender is
    /// always refused; no roster lookup.
    Performance,
    /// No check (R60's footnote: fully trusted or closed networks).
    None,
}

/// A `--amp-security-level` value that is none of the three names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSecurityLevel(pub String);

impl fmt::Display for UnknownSecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown AMP security level {:?}: expected STRICT, PERFORMANCE or NONE", self.0)
    }
}

impl std::error::Error for UnknownSecurityLevel {}

/// Case-insensitive, like the Tigase option; anything else is a config error.
impl FromStr for SecurityLevel {
    type Err = UnknownSecurityLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "STRICT" => Ok(SecurityLevel::Strict),
            "PERFORMANCE" => Ok(SecurityLevel::Performance),
            "NONE" => Ok(SecurityLevel::None),
            _ => Err(UnknownSecurityLevel(s.to_owned())),
        }
    }
}

impl SecurityLevel {
    /// The canonical (upper-case) name.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityLevel::Strict => "STRICT",
            SecurityLevel::Performance => "PERFORMANCE",
            SecurityLevel::None => "NONE",
        }
    }
}

/// Whether `rule` could tell its sender something about the recipient's
/// presence: its condition reveals presence (R59) and its action answers
/// the sender (alert, error, notify). `drop` answers nobody (R43), so it is
/// never leaky.
pub fn is_leaky(rule: &Rule) -> bool {
    rule.action != Action::Drop && rule.condition.reveals_presence()
}

/// D15: the indices (into `rules`) of the rules refused at `level`.
///
/// `same_account` says whether the sender's bare JID is the recipient's.
/// `sender_authorized` asks the host whether the recipient's roster holds
/// the sender with subscription `from` or `both`; it is called at most
/// once, only under STRICT, only when a leaky rule is present and the
/// sender is not the recipient, so plain AMP traffic costs no lookup.
pub fn refused(
    level: SecurityLevel,
    rules: &[Rule],
    same_account: bool,
    sender_authorized: impl FnOnce() -> bool,
) -> Vec<usize> {
    if level == SecurityLevel::None {
        return Vec::new();
    }
    let leaky: Vec<usize> = rules.iter().enumerate().filter(|(_, r)| is_leaky(r)).map(|(i, _)| i).collect();
    if leaky.is_empty() {
        return leaky;
    }
    match level {
        SecurityLevel::Strict if same_account || sender_authorized() => Vec::new(),
        _ => leaky,
    }
}

#[cfg(test)]
#[path = "security_tests.rs"]
mod tests;
