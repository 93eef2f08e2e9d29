//! Sockets: TCP, the STARTTLS upgrade, and the buffered stream over them.

pub mod conn;
pub mod tls;

pub use crate::xml::Frame;
pub use conn::Conn;
