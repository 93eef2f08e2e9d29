//! Hot-reload fixture: `message` (RFC 6121 §8.5 delivery), unchanged in
//! behaviour, released as version 2 with the extra disco feature
//! [`NEXT_FEATURE`], so a test sees through disco#info which version serves.
//! Dropped into the plugin directory as `message.wasm`.

use wasmpp_guest_sdk::{Manifest, Plugin, Stanza, Verdict};

/// The disco#info feature only the new version declares.
pub const NEXT_FEATURE: &str = "urn:wasmpp:test:next";

/// `message`, version 2.
pub struct MessageNext;

impl Plugin for MessageNext {
    fn manifest() -> Manifest {
        let mut m = message::Message::manifest();
        m.version = env!("CARGO_PKG_VERSION").to_owned();
        m.features.push(NEXT_FEATURE.to_owned());
        m
    }

    fn process(stanza: &Stanza) -> Verdict {
        message::Message::process(stanza)
    }
}

wasmpp_guest_sdk::export_plugin!(MessageNext);
