//! Router fixture: a plugin that fans a message out to a resource with no
//! session behind it, as happens when a recipient's connection closes
//! between the chain's decision and the delivery. It makes that race
//! deterministic for `tests/tests/message.rs`.
//!
//! Body "ghost-and-real": deliver to `<bare>/gone` and to the addressed
//! full JID. Body "ghost-only": deliver to `<bare>/gone` alone. Anything
//! else passes to the rest of the chain.

use wasmpp_guest_sdk::{Capability, Effect, Manifest, Plugin, Stanza, StanzaKind, Verdict};

/// The resourcepart no test ever binds.
const GONE: &str = "gone";

/// Stateless.
pub struct FanoutGhost;

impl Plugin for FanoutGhost {
    fn manifest() -> Manifest {
        Manifest::new("fanout-ghost", env!("CARGO_PKG_VERSION"), &[StanzaKind::Message])
            .with_capabilities(&[Capability::Deliver])
    }

    fn process(stanza: &Stanza) -> Verdict {
        let (Some(to), Some(bare)) = (stanza.to(), stanza.to_bare()) else { return Verdict::Pass };
        let ghost = Effect::Deliver(format!("{bare}/{GONE}"));
        match stanza.body().as_deref() {
            Some("ghost-and-real") => Verdict::Handled(vec![ghost, Effect::Deliver(to)]),
            Some("ghost-only") => Verdict::Handled(vec![ghost]),
            _ => Verdict::Pass,
        }
    }
}

wasmpp_guest_sdk::export_plugin!(FanoutGhost);
