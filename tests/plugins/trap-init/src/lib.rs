//! Hot-reload fixture: a component that links but traps in `manifest()`,
//! the first call the host makes (its trial instantiation). The host must
//! reject it and keep the running version.

use wasmpp_guest_sdk::{Manifest, Plugin, Stanza, Verdict};

/// Traps when asked what it is.
pub struct TrapInit;

impl Plugin for TrapInit {
    fn manifest() -> Manifest {
        // panic = "abort" in the guest profile: an `unreachable` trap.
        panic!("trap-init traps in manifest()");
    }

    fn process(_stanza: &Stanza) -> Verdict {
        Verdict::Pass
    }
}

wasmpp_guest_sdk::export_plugin!(TrapInit);
