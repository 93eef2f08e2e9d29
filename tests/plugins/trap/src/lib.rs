//! Fault-containment fixture (RFC 6120 §8.3.3 `internal-server-error` path):
//! a plugin that panics, i.e. traps, when a message body is exactly "trap".

use wasmpp_guest_sdk::{Manifest, Plugin, Stanza, StanzaKind, Verdict};

/// Traps on demand; passes everything else.
pub struct FaultTrap;

impl Plugin for FaultTrap {
    fn manifest() -> Manifest {
        Manifest::new("fault-trap", env!("CARGO_PKG_VERSION"), &[StanzaKind::Message])
    }

    fn process(stanza: &Stanza) -> Verdict {
        if stanza.body().as_deref() == Some("trap") {
            // panic = "abort" in the guest profile: this is an `unreachable` trap.
            panic!("fault-trap asked to trap");
        }
        Verdict::Pass
    }
}

wasmpp_guest_sdk::export_plugin!(FaultTrap);
