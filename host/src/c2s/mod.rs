//! Client-to-server connections (RFC 6120): stream negotiation — STARTTLS,
//! SASL, in-band registration, resource binding — then the bound session.
//!
//! # Layout
//! - `listener`: accept loop, one task per connection.
//! - `stream`: one connection's XML stream during negotiation (write side,
//!   stream errors, the TLS upgrade).
//! - `negotiate`: the RFC 6120 §4.3 state machine up to a bound resource.
//! - `auth` / `sasl`: SASL exchange (RFC 6120 §6) and its mechanisms.
//! - `register`: XEP-0077 in-band registration before authentication.
//! - `bind`: RFC 6120 §7 resource binding.
//! - `session`: the bound session's reader and writer tasks.
//! - `tls`: certificates and the rustls acceptor.

mod auth;
mod bind;
pub mod listener;
mod negotiate;
pub mod reader;
mod register;
pub mod sasl;
mod session;
mod stream;
pub mod tls;

use crate::xmpp::{StreamCondition, StreamError};
use reader::ReadError;

/// The size of the future an async fn returns, known without calling it:
/// what spawning it as a task allocates for the task's whole life.
#[cfg(test)]
fn future_size<A, B, C, F: std::future::Future>(_: impl FnOnce(A, B, C) -> F) -> usize {
    size_of::<F>()
}

/// Why a connection ended before or during its session.
#[derive(Debug, thiserror::Error)]
pub enum C2sError {
    /// Reading failed: EOF, socket error or bad XML.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A protocol violation answered with this stream error.
    #[error("stream error: {0}")]
    Stream(StreamError),
    /// The client closed its stream with `</stream:stream>`.
    #[error("stream closed by client")]
    Closed,
    /// Negotiation did not finish in time.
    #[error("negotiation timed out")]
    Timeout,
}

impl C2sError {
    /// The stream error to send before closing, if the connection can still
    /// carry one.
    pub fn stream_error(&self) -> Option<StreamError> {
        match self {
            C2sError::Read(ReadError::Xml(e)) => Some(e.to_stream_error()),
            C2sError::Stream(e) => Some(e.clone()),
            C2sError::Timeout => Some(StreamError::new(StreamCondition::ConnectionTimeout)),
            _ => None,
        }
    }
}

impl From<StreamError> for C2sError {
    fn from(e: StreamError) -> Self {
        C2sError::Stream(e)
    }
}

/// Shorthand for a stream error with text.
fn stream_err(condition: StreamCondition, text: &str) -> C2sError {
    C2sError::Stream(StreamError::new(condition).with_text(text))
}
