//! Fault-containment fixture for the epoch deadline: a plugin that never
//! returns when a message body is exactly "spin".

use wasmpp_guest_sdk::{Manifest, Plugin, Stanza, StanzaKind, Verdict};

/// Loops forever on demand; passes everything else.
pub struct FaultSpin;

impl Plugin for FaultSpin {
    fn manifest() -> Manifest {
        Manifest::new("fault-spin", env!("CARGO_PKG_VERSION"), &[StanzaKind::Message])
    }

    fn process(stanza: &Stanza) -> Verdict {
        if stanza.body().as_deref() == Some("spin") {
            spin();
        }
        Verdict::Pass
    }
}

/// An infinite loop the optimiser may not remove: `black_box` makes every
/// iteration observable (a side-effect-free infinite loop is UB in LLVM).
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

wasmpp_guest_sdk::export_plugin!(FaultSpin);
