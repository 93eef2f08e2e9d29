//! Bytes → stream events for one connection (RFC 6120 §4): socket reads fed
//! into the [`StreamParser`], which enforces the size and depth limits.

use crate::xml::{StreamEvent, StreamParser, XmlError};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Why reading the next event failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The peer closed the TCP connection (or TLS close_notify).
    #[error("connection closed by peer")]
    Eof,
    /// A socket or TLS error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Bad XML: answered with the matching stream error.
    #[error("xml: {0}")]
    Xml(#[from] XmlError),
}

/// Bytes read per syscall. Every connection holds one such buffer for its
/// whole life, so it is sized for memory per idle connection (issue 6:
/// ≤ 12 KiB each) rather than for bulk transfer; a busy stream just reads
/// more often.
const READ_CHUNK: usize = 4 * 1024;

/// Reads stream events from `R`, keeping the parser state across reads.
pub struct EventReader<R> {
    rd: R,
    parser: StreamParser,
    chunk: Box<[u8]>,
    last_read: Instant,
}

impl<R: AsyncRead + Unpin> EventReader<R> {
    /// Wraps a reader with a fresh parser.
    pub fn new(rd: R, parser: StreamParser) -> Self {
        EventReader { rd, parser, chunk: vec![0; READ_CHUNK].into_boxed_slice(), last_read: Instant::now() }
    }

    /// The next event. Cancel-safe: the only await point is a socket read,
    /// and bytes are fed to the parser only once they have been read.
    pub async fn next_event(&mut self) -> Result<StreamEvent, ReadError> {
        loop {
            if let Some(ev) = self.parser.next_event()? {
                return Ok(ev);
            }
            let n = self.rd.read(&mut self.chunk).await?;
            if n == 0 {
                return Err(ReadError::Eof);
            }
            self.last_read = Instant::now();
            self.parser.feed(&self.chunk[..n]);
        }
    }

    /// When bytes last arrived (whitespace keepalives included): the
    /// liveness signal for server pings.
    pub fn last_read(&self) -> Instant {
        self.last_read
    }

    /// The parser, e.g. to reset it when a new stream starts.
    pub fn parser_mut(&mut self) -> &mut StreamParser {
        &mut self.parser
    }

    /// The underlying reader (for writing during negotiation, or a TLS upgrade).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.rd
    }

    /// Splits into the reader and the parser, to rewrap another reader.
    pub fn into_parts(self) -> (R, StreamParser) {
        (self.rd, self.parser)
    }
}
