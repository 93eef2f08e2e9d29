//! Hot-reload fixture: a well-formed plugin component built against a copy
//! of the WIT contract whose package is `xmpp:sm@9.0.0` (`wit/` beside this
//! file), a version no host implements, however the real contract moves.
//! The host must reject it when linking and keep the running version.
//!
//! It does not use the guest SDK, which is bound to the real contract.

#[allow(missing_docs, clippy::all)]
mod bindings {
    wit_bindgen::generate!({ world: "sm-plugin", path: "wit" });
}

use bindings::exports::xmpp::sm::plugin::Guest;
use bindings::xmpp::sm::stanza::Stanza;
use bindings::xmpp::sm::types::{KeptFate, Manifest, Recheck, StanzaKind, Verdict};

/// Passes everything, if it were ever called.
struct BadApi;

impl Guest for BadApi {
    fn manifest() -> Manifest {
        Manifest {
            id: "amp".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            handles: vec![StanzaKind::Message],
            features: Vec::new(),
        }
    }

    fn process(_s: &Stanza) -> Verdict {
        Verdict::Pass
    }

    fn recheck(_s: &Stanza) -> Recheck {
        Recheck { events: Vec::new(), fate: KeptFate::Discard }
    }
}

// Only on wasm32, like the SDK's `export_plugin!`: a native build (the
// workspace's `cargo test`) has no use for the exports, and ELF linkers read
// the `@` in their names as a symbol version.
#[cfg(target_arch = "wasm32")]
bindings::export!(BadApi with_types_in bindings);
