//! Typed XMPP: addresses, stanzas, namespaces and errors (RFC 6120/6121).

pub mod address;
pub mod datetime;
pub mod error;
pub mod iq;
pub mod ns;
pub mod stanza;

pub use error::{Condition, ErrorType, StanzaError, StreamCondition, StreamError};
pub use jid::{BareJid, FullJid, Jid};
pub use stanza::{MessageType, Stanza, StanzaKind};
