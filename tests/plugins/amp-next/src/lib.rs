//! Hot-reload fixture: `amp` (XEP-0079), unchanged in behaviour, released as
//! version 2 with the extra disco feature [`NEXT_FEATURE`], so a test sees
//! through disco#info which version serves. Dropped into the plugin
//! directory as `amp.wasm`.

use amp::glue::Amp;
use wasmpp_guest_sdk::{Manifest, Plugin, Recheck, Stanza, Verdict};

/// The disco#info feature only the new version declares.
pub const NEXT_FEATURE: &str = "urn:wasmpp:test:next";

/// `amp`, version 2.
pub struct AmpNext;

impl Plugin for AmpNext {
    fn manifest() -> Manifest {
        let mut m = Amp::manifest();
        m.version = env!("CARGO_PKG_VERSION").to_owned();
        m.features.push(NEXT_FEATURE.to_owned());
        m
    }

    fn process(stanza: &Stanza) -> Verdict {
        Amp::process(stanza)
    }

    fn recheck(stanza: &Stanza) -> Recheck {
        Amp::recheck(stanza)
    }
}

wasmpp_guest_sdk::export_plugin!(AmpNext);
