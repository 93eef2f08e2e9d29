//! Bytes → stream events for one connection (RFC 6120 §4): socket reads fed
//! into the [`StreamParser`], which enforces the size and depth limits.

use crate::xml::{StreamEvent, StreamParser, XmlError};
use std::cell::Cell;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, ReadBuf};

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

/// Most bytes taken from the socket per read.
const READ_CHUNK: usize = 16 * 1024;

thread_local! {
    /// The read buffer of every connection polled on this thread. A read
    /// fills it and hands the bytes to the parser within one poll, so no
    /// connection holds a read buffer while it waits for data: an idle one
    /// costs nothing here (issue 6: memory per idle connection), and reads
    /// can be large without multiplying by the number of connections.
    static CHUNK: Cell<Option<Box<[u8]>>> = const { Cell::new(None) };
}

/// Reads stream events from `R`, keeping the parser state across reads.
pub struct EventReader<R> {
    rd: R,
    parser: StreamParser,
    last_read: Instant,
}

impl<R: AsyncRead + Unpin> EventReader<R> {
    /// Wraps a reader with a fresh parser.
    pub fn new(rd: R, parser: StreamParser) -> Self {
        EventReader { rd, parser, last_read: Instant::now() }
    }

    /// The next event. Cancel-safe: bytes are read and fed to the parser in
    /// one poll, so dropping the future between polls loses nothing.
    pub async fn next_event(&mut self) -> Result<StreamEvent, ReadError> {
        loop {
            if let Some(ev) = self.parser.next_event()? {
                return Ok(ev);
            }
            // Whatever was read is parsed: the connection may now wait a
            // long time, so the parser gives back its emptied buffers.
            self.parser.release_idle();
            let n = std::future::poll_fn(|cx| self.poll_feed(cx)).await?;
            if n == 0 {
                return Err(ReadError::Eof);
            }
            self.last_read = Instant::now();
        }
    }

    /// One read into this thread's [`CHUNK`], fed to the parser at once.
    fn poll_feed(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        // Taken rather than borrowed: a reader polled from inside another
        // read (never expected) just gets a buffer of its own.
        let mut chunk = CHUNK.take().unwrap_or_else(|| vec![0; READ_CHUNK].into_boxed_slice());
        let mut buf = ReadBuf::new(&mut chunk);
        let polled = Pin::new(&mut self.rd).poll_read(cx, &mut buf).map_ok(|()| {
            self.parser.feed(buf.filled());
            buf.filled().len()
        });
        CHUNK.set(Some(chunk));
        polled
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
