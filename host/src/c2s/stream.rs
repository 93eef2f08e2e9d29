//! One client connection's XML stream while it is negotiated (RFC 6120 §4):
//! writing, stream errors, closing, and the in-place TLS upgrade (§5.4.3.3).

use super::reader::EventReader;
use super::{C2sError, stream_err};
use crate::xml::{Element, STREAM_CLOSE, StreamEvent, StreamParser, stream_header};
use crate::xmpp::{StreamCondition, StreamError, ns};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

/// Anything a stream can run over: TCP, or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// A connection's stream state during negotiation.
pub struct Stream {
    reader: Option<EventReader<Box<dyn Io>>>,
    /// True once our stream header went out on the current stream.
    header_sent: bool,
    /// True once STARTTLS completed.
    pub tls: bool,
}

impl Stream {
    /// A new stream over `io`.
    pub fn new(io: Box<dyn Io>, parser: StreamParser) -> Self {
        Stream { reader: Some(EventReader::new(io, parser)), header_sent: false, tls: false }
    }

    fn reader(&mut self) -> &mut EventReader<Box<dyn Io>> {
        self.reader.as_mut().expect("stream reader present outside an upgrade")
    }

    /// The next event of the current stream.
    pub async fn next_event(&mut self) -> Result<StreamEvent, C2sError> {
        Ok(self.reader().next_event().await?)
    }

    /// The next top-level element; a stream close or a second header is an error.
    pub async fn next_element(&mut self) -> Result<Element, C2sError> {
        match self.next_event().await? {
            StreamEvent::Stanza(el) => Ok(el),
            StreamEvent::Close => Err(C2sError::Closed),
            StreamEvent::Open(_) => Err(stream_err(StreamCondition::NotWellFormed, "unexpected stream header")),
        }
    }

    /// Writes raw bytes and flushes (TLS buffers otherwise).
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), C2sError> {
        let io = self.reader().get_mut();
        io.write_all(bytes).await?;
        io.flush().await?;
        Ok(())
    }

    /// Writes one element in the `jabber:client` context.
    pub async fn send_el(&mut self, el: &Element) -> Result<(), C2sError> {
        let mut out = Vec::with_capacity(256);
        el.write_to(&mut out, ns::CLIENT);
        self.send(&out).await
    }

    /// Sends our stream header for a (re)started stream.
    pub async fn send_header(&mut self, domain: &str, to: Option<&str>) -> Result<(), C2sError> {
        let id = random_id();
        self.send(stream_header(domain, &id, to).as_bytes()).await?;
        self.header_sent = true;
        Ok(())
    }

    /// Starts a new stream on the same connection (after TLS or SASL): the
    /// parser forgets everything, and the client sends a fresh header.
    pub fn restart(&mut self) {
        self.reader().parser_mut().reset();
        self.header_sent = false;
    }

    /// Sends a stream error and closes (RFC 6120 §4.9.1.1): if no header was
    /// sent yet on this stream, one goes first so the error is well-formed.
    pub async fn fail(&mut self, err: &StreamError, domain: &str) {
        tracing::debug!(condition = err.condition.as_str(), "closing stream with error");
        let mut out = Vec::with_capacity(256);
        if !self.header_sent {
            out.extend_from_slice(stream_header(domain, &random_id(), None).as_bytes());
        }
        err.to_element().write_to(&mut out, ns::CLIENT);
        out.extend_from_slice(STREAM_CLOSE.as_bytes());
        let _ = self.send(&out).await;
        let _ = self.reader().get_mut().shutdown().await;
    }

    /// Closes our side of the stream cleanly.
    pub async fn close(&mut self) {
        let _ = self.send(STREAM_CLOSE.as_bytes()).await;
        let _ = self.reader().get_mut().shutdown().await;
    }

    /// Upgrades the connection to TLS after `<proceed/>` was sent. Bytes the
    /// client pipelined after `<starttls/>` would be plaintext injected into
    /// the secure stream, so any such byte is refused.
    pub async fn upgrade(&mut self, acceptor: &TlsAcceptor) -> Result<(), C2sError> {
        if self.reader().parser_mut().buffered() > 0 {
            return Err(stream_err(StreamCondition::PolicyViolation, "data after <starttls/>"));
        }
        let (io, mut parser) = self.reader.take().expect("reader present").into_parts();
        let tls = acceptor.accept(io).await?;
        parser.reset();
        self.reader = Some(EventReader::new(Box::new(tls), parser));
        self.tls = true;
        self.header_sent = false;
        Ok(())
    }

    /// Hands the connection over to the session tasks.
    pub fn into_reader(mut self) -> EventReader<Box<dyn Io>> {
        self.reader.take().expect("reader present")
    }
}

/// A random stream id or resource part (RFC 6120 §4.7.3: unpredictable).
pub fn random_id() -> String {
    use rand::Rng;
    let n: u128 = rand::rng().random();
    format!("{n:032x}")
}
