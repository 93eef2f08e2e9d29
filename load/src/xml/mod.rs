//! RFC 6120 §4 / §11 XML streams as the load tool reads them: a framer for the
//! byte stream, a byte scanner for hot-path stanzas, and a small tree for
//! negotiation. Independent of any server's parser on purpose.

pub mod framer;
pub mod scan;
pub mod tree;

pub use framer::{Frame, Framer};
pub use scan::Stanza;
pub use tree::{El, escape};
