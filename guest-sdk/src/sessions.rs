//! The recipient's sessions (RFC 6121 §8.5), read-only and scoped by the host.
//!
//! Every call needs [`Capability::Sessions`](crate::Capability::Sessions) in
//! the manifest; without the grant it returns [`Denied`].

use crate::host::sessions as wit;
use crate::types::{AddresseeInfo, Denied, ResourceInfo};

/// The current message's addressee: bare JID, resourcepart, whether the
/// account exists or is remote, and its sessions (empty unless it exists
/// here). One host call where [`Stanza::to_bare`](crate::Stanza::to_bare),
/// [`Stanza::to_resource`](crate::Stanza::to_resource),
/// [`recipient_exists`], [`recipient_is_remote`] and [`resources`] make
/// five: a plugin that routes every message should use this. Needs a host
/// of `xmpp:sm@0.2.1` or later.
pub fn addressee() -> Result<AddresseeInfo, Denied> {
    wit::addressee()
}

/// All bound sessions of the local account `bare`; empty when it has none.
pub fn resources(bare: &str) -> Result<Vec<ResourceInfo>, Denied> {
    wit::resources(bare)
}

/// Whether the current stanza's addressee has an account on this server
/// (resolved by the host before the chain runs).
pub fn recipient_exists() -> Result<bool, Denied> {
    wit::recipient_exists()
}

/// Whether the current message's sender may see its addressee's presence
/// (same account, or subscription `from`/`both` in the addressee's roster).
/// Resolved by the host only for messages carrying an XEP-0079 `<amp>`;
/// false for anything else.
pub fn sender_may_see_presence() -> Result<bool, Denied> {
    wit::sender_may_see_presence()
}

/// Whether the current message's addressee is on another server (the host
/// offers such messages only when they carry XEP-0079 `<amp>`).
pub fn recipient_is_remote() -> Result<bool, Denied> {
    wit::recipient_is_remote()
}
