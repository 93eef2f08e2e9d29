//! Capabilities (`wit/types.wit`, `capability`): what a plugin may use
//! beyond its own stanza, logging and the clock.
//!
//! A plugin declares them in its manifest; the operator may narrow them
//! with `sess-man/plugins-conf/<id>/capabilities`; the host grants the
//! intersection and nothing else. The check is made on every gated import
//! call (`host_api.rs`) and on every verdict's effects (`chain.rs`), so a
//! plugin cannot reach a capability by any path it was not granted.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::bindings::wit;

/// One capability, mirrored from the WIT enum so the host's configuration
/// and logs do not depend on the generated bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// The `sessions` interface (who is online, where, may see presence).
    Sessions,
    /// `server.config`: the plugin's own settings.
    Config,
    /// The `amp-conditions` interface (custom XEP-0079 conditions).
    AmpConditions,
    /// The `deliver` effect: the stanza to a session the plugin names.
    Deliver,
    /// The `store-offline`, `flush-offline` and `store-amp` effects.
    OfflineStore,
    /// The `send` effect and `recheck` events: stanzas the plugin built.
    Send,
}

impl Capability {
    /// Every capability, in WIT order.
    pub const ALL: [Capability; 6] = [
        Capability::Sessions,
        Capability::Config,
        Capability::AmpConditions,
        Capability::Deliver,
        Capability::OfflineStore,
        Capability::Send,
    ];

    /// The WIT spelling, which configuration and logs use too.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Sessions => "sessions",
            Capability::Config => "config",
            Capability::AmpConditions => "amp-conditions",
            Capability::Deliver => "deliver",
            Capability::OfflineStore => "offline-store",
            Capability::Send => "send",
        }
    }

    /// The capability spelled `name` (as in WIT), if any.
    pub fn from_name(name: &str) -> Option<Capability> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of capabilities: what a plugin declared, what the operator
/// allows, or what the host granted.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Capabilities(u8);

impl Capabilities {
    /// The empty set.
    pub const NONE: Capabilities = Capabilities(0);

    /// Every capability.
    pub fn all() -> Capabilities {
        Capability::ALL.into_iter().collect()
    }

    /// Whether `c` is in the set.
    pub fn contains(self, c: Capability) -> bool {
        self.0 & c.bit() != 0
    }

    /// The capabilities in both sets.
    pub fn intersection(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 & other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in WIT order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// Parses a comma-separated list of WIT names (`sessions, deliver`);
    /// an empty list is the empty set. An unknown name is an error that
    /// lists the known ones.
    pub fn parse_list(text: &str) -> Result<Capabilities, String> {
        let mut set = Capabilities::NONE;
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let c = Capability::from_name(word).ok_or_else(|| {
                let known: Vec<&str> = Capability::ALL.iter().map(|c| c.name()).collect();
                format!("{word:?} is not a capability (known: {})", known.join(", "))
            })?;
            set.0 |= c.bit();
        }
        Ok(set)
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        Capabilities(iter.into_iter().fold(0, |bits, c| bits | c.bit()))
    }
}

impl fmt::Display for Capabilities {
    /// `sessions,deliver`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.iter().map(Capability::name).collect();
        f.write_str(&names.join(","))
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{self}}}")
    }
}

/// How often one plugin was refused what it was not granted; shared by
/// its instances. Each refusal is logged with the plugin id and the
/// capability: a refused verdict every time (it changes the stanza's
/// path), a denied call the first time at `warn` and then at `debug` (the
/// plugin saw the error and may call again for every stanza).
#[derive(Debug, Default)]
pub struct Denials {
    calls: AtomicU64,
    verdicts: AtomicU64,
}

impl Denials {
    /// Gated import calls answered `denied`.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Verdicts refused for an effect the plugin was not granted.
    pub fn verdicts(&self) -> u64 {
        self.verdicts.load(Ordering::Relaxed)
    }

    pub(super) fn call(&self, plugin: &str, capability: Capability, import: &str) {
        if self.calls.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!(plugin, %capability, import, "plugin called an import it was not granted; it gets `denied` (logged once, then at debug level)");
        } else {
            tracing::debug!(plugin, %capability, import, "capability denied");
        }
    }

    pub(super) fn verdict(&self, plugin: &str, version: &str, capability: Capability) {
        self.verdicts.fetch_add(1, Ordering::Relaxed);
        tracing::error!(plugin, version, %capability, "plugin verdict refused: it needs a capability not granted; the stanza goes on as if the plugin had passed");
    }
}

/// What the host may grant while `manifest()` runs, before the plugin has
/// said what it needs: what a manifest may depend on (its settings, the
/// custom conditions whose features it lists) and nothing about sessions.
pub(super) fn at_load() -> Capabilities {
    [Capability::Config, Capability::AmpConditions].into_iter().collect()
}

pub(super) fn from_wit(c: wit::Capability) -> Capability {
    match c {
        wit::Capability::Sessions => Capability::Sessions,
        wit::Capability::Config => Capability::Config,
        wit::Capability::AmpConditions => Capability::AmpConditions,
        wit::Capability::Deliver => Capability::Deliver,
        wit::Capability::OfflineStore => Capability::OfflineStore,
        wit::Capability::Send => Capability::Send,
    }
}

pub(super) fn to_wit(c: Capability) -> wit::Capability {
    match c {
        Capability::Sessions => wit::Capability::Sessions,
        Capability::Config => wit::Capability::Config,
        Capability::AmpConditions => wit::Capability::AmpConditions,
        Capability::Deliver => wit::Capability::Deliver,
        Capability::OfflineStore => wit::Capability::OfflineStore,
        Capability::Send => wit::Capability::Send,
    }
}

/// The capability an effect needs, if any: `bounce` answers the sender and
/// `replace-child` only changes what later effects in the same list carry.
pub(super) fn required_by(effect: &wit::Effect) -> Option<Capability> {
    match effect {
        wit::Effect::Deliver(_) => Some(Capability::Deliver),
        wit::Effect::StoreOffline | wit::Effect::FlushOffline | wit::Effect::StoreAmp(_) => {
            Some(Capability::OfflineStore)
        }
        wit::Effect::Send(_) => Some(Capability::Send),
        wit::Effect::Bounce(_) | wit::Effect::ReplaceChild(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_wit() {
        for c in Capability::ALL {
            assert_eq!(Capability::from_name(c.name()), Some(c));
            assert_eq!(from_wit(to_wit(c)), c);
        }
        assert_eq!(Capability::from_name("offline-store"), Some(Capability::OfflineStore));
        assert_eq!(Capability::from_name("offline_store"), None);
    }

    #[test]
    fn lists_parse_to_sets_and_name_unknown_words() {
        let set = Capabilities::parse_list(" deliver, sessions ,").unwrap();
        assert_eq!(set.to_string(), "sessions,deliver");
        assert!(set.contains(Capability::Deliver) && !set.contains(Capability::Send));
        assert_eq!(Capabilities::parse_list("").unwrap(), Capabilities::NONE);
        assert_eq!(Capabilities::NONE.to_string(), "none");
        let err = Capabilities::parse_list("sessions,roster").unwrap_err();
        assert!(err.contains("\"roster\" is not a capability") && err.contains("offline-store"), "{err}");
    }

    #[test]
    fn grant_is_the_intersection() {
        let declared: Capabilities =
            [Capability::Sessions, Capability::Deliver, Capability::Send].into_iter().collect();
        let allowed = Capabilities::parse_list("sessions,send,config").unwrap();
        assert_eq!(declared.intersection(allowed).to_string(), "sessions,send");
        assert_eq!(declared.intersection(Capabilities::all()), declared);
    }

    #[test]
    fn only_bounce_and_replace_child_are_free() {
        let error =
            wit::StanzaError { condition: wit::ErrorCondition::NotAllowed, kind: wit::ErrorType::Cancel, text: None };
        assert_eq!(required_by(&wit::Effect::Bounce(error)), None);
        assert_eq!(required_by(&wit::Effect::ReplaceChild("<x/>".into())), None);
        assert_eq!(required_by(&wit::Effect::Deliver("a@b/c".into())), Some(Capability::Deliver));
        assert_eq!(required_by(&wit::Effect::FlushOffline), Some(Capability::OfflineStore));
        assert_eq!(required_by(&wit::Effect::StoreAmp(None)), Some(Capability::OfflineStore));
        assert_eq!(required_by(&wit::Effect::Send("<m/>".into())), Some(Capability::Send));
    }
}
