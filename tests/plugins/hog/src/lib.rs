//! Fault-containment fixture for the per-instance memory limit: a plugin
//! that allocates without bound when a message body is exactly "hog".

use wasmpp_guest_sdk::{Manifest, Plugin, Stanza, StanzaKind, Verdict};

/// Eats memory on demand; passes everything else.
pub struct FaultHog;

const MIB: usize = 1 << 20;

impl Plugin for FaultHog {
    fn manifest() -> Manifest {
        Manifest::new("fault-hog", env!("CARGO_PKG_VERSION"), &[StanzaKind::Message])
    }

    fn process(stanza: &Stanza) -> Verdict {
        if stanza.body().as_deref() == Some("hog") {
            hog();
        }
        Verdict::Pass
    }
}

/// Keeps 1 MiB blocks alive, writing to each so the pages are really used,
/// until the allocator fails (`memory.grow` refused → abort → trap).
fn hog() -> ! {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; MIB];
        for i in (0..MIB).step_by(4096) {
            block[i] = kept.len() as u8;
        }
        kept.push(std::hint::black_box(block));
    }
}

wasmpp_guest_sdk::export_plugin!(FaultHog);
