//! Hot-reload fixture: a healthy component with an invalid manifest. Its id
//! is its own, so dropped in as `<other id>.wasm` it claims to be a plugin
//! it is not, and its version is empty. The host must reject it and keep
//! the running version.

use wasmpp_guest_sdk::{Manifest, Plugin, Stanza, StanzaKind, Verdict};

/// Says it is `bad-manifest`, of no version.
pub struct BadManifest;

impl Plugin for BadManifest {
    fn manifest() -> Manifest {
        Manifest::new("bad-manifest", "", &[StanzaKind::Message])
    }

    fn process(_stanza: &Stanza) -> Verdict {
        Verdict::Pass
    }
}

wasmpp_guest_sdk::export_plugin!(BadManifest);
