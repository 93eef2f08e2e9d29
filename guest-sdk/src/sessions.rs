//! The recipient's sessions (RFC 6121 §8.5), read-only and scoped by the host.

use crate::__bindings::xmpp::sm::sessions as wit;
use crate::types::ResourceInfo;

/// All bound sessions of the local account `bare`; empty when it has none.
pub fn resources(bare: &str) -> Vec<ResourceInfo> {
    wit::resources(bare)
}

/// Whether the current stanza's addressee has an account on this server
/// (resolved by the host before the chain runs).
pub fn recipient_exists() -> bool {
    wit::recipient_exists()
}
