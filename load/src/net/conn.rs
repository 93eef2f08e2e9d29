//! RFC 6120 §4 one client stream: the socket (plain or after STARTTLS), the
//! framer over what it reads, and a write buffer so stanzas go out in batches.

use std::io;
use std::net::SocketAddr;
use std::ops::Range;

use anyhow::{Context, Result, anyhow, bail};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::tls;
use crate::xml::{El, Frame, Framer, Stanza};

/// Read buffer to start with; it grows for larger stanzas.
const READ_CHUNK: usize = 16 * 1024;

enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Only while the TCP stream is inside the TLS handshake.
    Upgrading,
}

/// One connection to the server under test.
pub struct Conn {
    io: Io,
    framer: Framer,
    /// Bytes waiting for [`Conn::flush`].
    pub out: Vec<u8>,
    /// Set once the server sent `</stream:stream>` or closed the socket.
    pub closed: bool,
}

impl Conn {
    /// Opens TCP (no Nagle: latency is what we measure).
    pub async fn connect(addr: SocketAddr, buffer: usize) -> Result<Conn> {
        let tcp = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
        tcp.set_nodelay(true)?;
        Ok(Conn { io: Io::Plain(tcp), framer: Framer::new(buffer.max(512)), out: Vec::new(), closed: false })
    }

    /// Reads once from the socket into the framer. Cancel-safe: a read that
    /// is dropped half-way loses nothing. End of stream is an error.
    pub async fn read_some(&mut self) -> Result<usize> {
        let buf = self.framer.buffer(READ_CHUNK.min(4096));
        let n = match &mut self.io {
            Io::Plain(s) => s.read_buf(buf).await,
            Io::Tls(s) => s.read_buf(buf).await,
            Io::Upgrading => Err(io::ErrorKind::NotConnected.into()),
        }
        .context("reading from the server")?;
        if n == 0 {
            self.closed = true;
            bail!("the server closed the connection");
        }
        Ok(n)
    }

    /// The next complete frame already buffered.
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        self.framer.next_frame()
    }

    /// The bytes a frame's range refers to.
    pub fn bytes(&self, r: Range<usize>) -> &[u8] {
        &self.framer.bytes()[r]
    }

    /// A hot-path view of an element frame.
    pub fn stanza(&self, r: Range<usize>) -> Stanza<'_> {
        Stanza::new(&self.framer.bytes()[r])
    }

    /// Writes everything in [`Conn::out`] with one write (plus a TLS flush).
    pub async fn flush(&mut self) -> Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let r = match &mut self.io {
            Io::Plain(s) => s.write_all(&self.out).await,
            Io::Tls(s) => match s.write_all(&self.out).await {
                Ok(()) => s.flush().await,
                Err(e) => Err(e),
            },
            Io::Upgrading => Err(io::ErrorKind::NotConnected.into()),
        };
        self.out.clear();
        r.context("writing to the server")
    }

    /// Queues `xml` and flushes.
    pub async fn send(&mut self, xml: &str) -> Result<()> {
        self.out.extend_from_slice(xml.as_bytes());
        self.flush().await
    }

    /// Waits for the next frame, reading as needed.
    pub async fn frame(&mut self) -> Result<Frame> {
        loop {
            if let Some(f) = self.framer.next_frame()? {
                return Ok(f);
            }
            self.read_some().await?;
        }
    }

    /// The next top-level element, parsed as a tree; a stream error or the
    /// end of the stream is an error naming the condition.
    pub async fn element(&mut self) -> Result<El> {
        match self.frame().await? {
            Frame::Element(r) => {
                let el = El::parse(self.bytes(r))?;
                if el.name == "error" && el.attrs.is_empty() {
                    bail!("stream error: {}", el.condition().unwrap_or("(no condition)"));
                }
                Ok(el)
            }
            Frame::Header(_) => bail!("unexpected stream header"),
            Frame::End => {
                self.closed = true;
                bail!("the server closed the stream")
            }
        }
    }

    /// Reads the server's stream header after opening or restarting.
    pub async fn header(&mut self) -> Result<El> {
        match self.frame().await? {
            Frame::Header(r) => El::parse_open_tag(self.bytes(r)),
            Frame::Element(r) => Err(anyhow!("expected a stream header, got {}", lossy(self.bytes(r)))),
            Frame::End => bail!("the server closed the stream"),
        }
    }

    /// Forgets the old stream's depth before a restart (RFC 6120 §4.3.3).
    pub fn restart(&mut self) {
        self.framer.restart();
    }

    /// Runs the TLS handshake over the socket (RFC 6120 §5.4.3.3).
    pub async fn upgrade(&mut self, domain: &str) -> Result<()> {
        let Io::Plain(tcp) = std::mem::replace(&mut self.io, Io::Upgrading) else {
            bail!("STARTTLS on a stream that is not plain TCP");
        };
        let name = ServerName::try_from(domain.to_owned()).context("the domain is not a valid TLS server name")?;
        let tls = tls::connector()?.connect(name, tcp).await.context("TLS handshake failed")?;
        self.io = Io::Tls(Box::new(tls));
        self.framer = Framer::new(READ_CHUNK);
        Ok(())
    }

    /// Whether the stream is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self.io, Io::Tls(_))
    }

    /// Ends the stream politely and shuts the socket; errors are ignored, the
    /// server may have gone first.
    pub async fn close(mut self) {
        if !self.closed {
            self.out.extend_from_slice(b"</stream:stream>");
            let _ = self.flush().await;
        }
        let _ = match &mut self.io {
            Io::Plain(s) => s.shutdown().await,
            Io::Tls(s) => s.shutdown().await,
            Io::Upgrading => Ok(()),
        };
    }
}

/// Bytes for error messages.
pub fn lossy(b: &[u8]) -> String {
    const MAX: usize = 300;
    let s = String::from_utf8_lossy(&b[..b.len().min(MAX)]);
    if b.len() > MAX { format!("{s}…") } else { s.into_owned() }
}
