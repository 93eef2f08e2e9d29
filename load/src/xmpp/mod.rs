//! The XMPP the load tool speaks: negotiation (RFC 6120), registration
//! (XEP-0077), the timestamped message ids and the message it sends.

pub mod message;
pub mod ns;
pub mod register;
pub mod sasl;
pub mod session;
pub mod stamp;

pub use session::{Presence, Target};
pub use stamp::{Clock, Stamp};
