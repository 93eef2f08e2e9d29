//! XML for XMPP streams (RFC 6120 §4, §11): the only code that sees bytes.
//!
//! Inbound: [`StreamParser`] frames the byte stream (framer.rs, with the
//! limits), parses each complete stanza (tree.rs, chars.rs, scope.rs) and
//! reports [`StreamEvent`]s or an [`XmlError`] that maps to a stream error.
//! Outbound: [`Element::write_to`], [`stream_header`], [`STREAM_CLOSE`].

mod chars;
mod element;
mod error;
mod framer;
mod scope;
mod stream;
#[cfg(test)]
mod stream_tests;
mod tree;
mod writer;

pub use element::{Element, Node};
pub use error::XmlError;
pub use stream::{Limits, StreamEvent, StreamHeader, StreamParser};
pub use writer::{STREAM_CLOSE, stream_header};
