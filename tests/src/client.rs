//! RFC 6120 §4 (streams), §5 (STARTTLS), §6 (SASL), §7 (binding): a minimal XMPP
//! client that drives a real server over TCP, for end-to-end tests.
//!
//! Every wait is bounded (default [`DEFAULT_TIMEOUT`]) so that a broken server fails
//! a test instead of hanging it. The client shares no code with the server crate.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use crate::xml::{El, Item, StreamReader, escape};

mod auth;
#[cfg(test)]
mod fake_server;
mod features;
mod im;
mod raw;
mod tls;

pub use auth::{AuthError, Mech};
pub use features::Features;
pub use im::ROSTER;
pub use raw::{RawConn, connect_raw};
use tls::Transport;

/// How long any single wait lasts unless a method takes its own duration.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Namespaces the client needs (written once, as in the server's `ns.rs`).
pub mod ns {
    /// RFC 6120 §4.8.1 stream namespace.
    pub const STREAMS: &str = "http://etherx.jabber.org/streams";
    /// RFC 6120 §4.9.3 stream error conditions.
    pub const STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
    /// RFC 6120 §5 STARTTLS.
    pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
    /// RFC 6120 §6 SASL.
    pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
    /// RFC 6120 §7 resource binding.
    pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
    /// RFC 3921 §3 legacy session establishment.
    pub const SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
    /// XEP-0077 in-band registration stream feature.
    pub const REGISTER_FEATURE: &str = "http://jabber.org/features/iq-register";
    /// RFC 6120 §4.8.2 default namespace of client streams.
    pub const CLIENT: &str = "jabber:client";
}

/// One client connection and its XML stream state.
pub struct Client {
    io: Transport,
    reader: StreamReader,
    domain: String,
    header: El,
    features: Features,
    jid: Option<String>,
    /// Stanzas that arrived while [`Client::iq`] waited for its reply.
    queue: VecDeque<El>,
    next_id: u64,
    /// The server ended its stream (`</stream:stream>` or EOF).
    closed: bool,
    timeout: Duration,
    /// Presence stanzas are dropped on arrival (see [`Client::ignore_presence`]).
    ignore_presence: bool,
}

impl Client {
    /// Opens TCP, sends the stream header, and reads the server's header and features.
    pub async fn connect(addr: SocketAddr, domain: &str) -> Result<Client> {
        let tcp = timeout(DEFAULT_TIMEOUT, TcpStream::connect(addr)).await.context("TCP connect timed out")??;
        tcp.set_nodelay(true)?;
        let mut c = Client {
            io: Transport::Plain(tcp),
            reader: StreamReader::new(),
            domain: domain.to_owned(),
            header: El::default(),
            features: Features::default(),
            jid: None,
            queue: VecDeque::new(),
            next_id: 0,
            closed: false,
            timeout: DEFAULT_TIMEOUT,
            ignore_presence: false,
        };
        c.open_stream().await?;
        Ok(c)
    }

    /// Features of the current stream (re-read after every restart).
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// The server's most recent stream header (for `id`, `from`, `version` checks).
    pub fn stream_header(&self) -> &El {
        &self.header
    }

    /// The full JID assigned by resource binding.
    pub fn jid(&self) -> Option<&str> {
        self.jid.as_deref()
    }

    /// The domain this client opened its stream `to`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Whether the stream runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.io.is_tls()
    }

    /// Drops every presence stanza from now on, for tests about other
    /// stanzas: the server broadcasts presence to the account's own
    /// resources (RFC 6121 §4.2.2), which such tests do not care about.
    pub fn ignore_presence(&mut self) {
        self.ignore_presence = true;
        self.queue.retain(|el| el.name != "presence");
    }

    /// Changes the default wait used by `recv`, `iq`, negotiation and `close`.
    pub fn set_timeout(&mut self, d: Duration) {
        self.timeout = d;
    }

    /// Negotiates STARTTLS (RFC 6120 §5.4.2) and restarts the stream over TLS.
    pub async fn starttls(&mut self) -> Result<()> {
        self.send_raw(&format!("<starttls xmlns='{}'/>", ns::TLS)).await?;
        let reply = self.recv_negotiation().await?;
        if !reply.is("proceed", ns::TLS) {
            bail!("STARTTLS refused: {reply}");
        }
        if self.reader.buffered() != 0 {
            bail!("server sent data after <proceed/> before the TLS handshake");
        }
        let plain = std::mem::replace(&mut self.io, Transport::Upgrading);
        self.io = timeout(self.timeout, plain.upgrade(&self.domain)).await.context("TLS handshake timed out")??;
        self.reader = StreamReader::new();
        self.open_stream().await
    }

    /// Sends anything, unchecked: tests use it for malformed or unusual stanzas.
    pub async fn send_raw(&mut self, xml: &str) -> Result<()> {
        timeout(self.timeout, self.io.write_all(xml.as_bytes()))
            .await
            .context("write timed out")?
            .context("write failed")
    }

    /// Sends `<presence/>`, with a `<priority/>` when given.
    pub async fn send_presence(&mut self, priority: Option<i8>) -> Result<()> {
        let xml = match priority {
            Some(p) => format!("<presence><priority>{p}</priority></presence>"),
            None => "<presence/>".to_owned(),
        };
        self.send_raw(&xml).await
    }

    /// Sends a `<message/>` with a `<body/>`.
    pub async fn send_message(&mut self, to: &str, msg_type: &str, id: &str, body: &str) -> Result<()> {
        let xml = format!(
            "<message to='{}' type='{}' id='{}'><body>{}</body></message>",
            escape(to),
            escape(msg_type),
            escape(id),
            escape(body)
        );
        self.send_raw(&xml).await
    }

    /// The next top-level element (stanza or `stream:error`), within the default timeout.
    pub async fn recv(&mut self) -> Result<El> {
        let d = self.timeout;
        self.recv_timeout(d).await?.ok_or_else(|| anyhow!("no stanza within {d:?}"))
    }

    /// The next top-level element, or `None` after `d`. The server closing its stream
    /// is an error here, since a test waiting for a stanza did not expect it.
    pub async fn recv_timeout(&mut self, d: Duration) -> Result<Option<El>> {
        if let Some(el) = self.queue.pop_front() {
            return Ok(Some(el));
        }
        let deadline = Instant::now() + d;
        loop {
            match self.read_item(deadline).await? {
                None => return Ok(None),
                Some(Item::Element(el)) if self.ignore_presence && el.name == "presence" => continue,
                Some(Item::Element(el)) => return Ok(Some(el)),
                Some(Item::Header(h)) => bail!("unexpected stream header mid-stream: {h}"),
                Some(Item::End) => bail!("server closed the stream"),
            }
        }
    }

    /// Fails if anything at all (stanza or stream end) arrives within `d`.
    pub async fn expect_silence(&mut self, d: Duration) -> Result<()> {
        match self.recv_timeout(d).await? {
            None => Ok(()),
            Some(el) => bail!("expected silence, received {el}"),
        }
    }

    /// Waits for `<stream:error/>`, returns its condition (e.g. `not-authorized`), and
    /// checks that the server then closes the stream. Stanzas before it are skipped.
    pub async fn expect_stream_error(&mut self) -> Result<String> {
        // `iq()` may already have queued the error while it waited for a reply.
        let queued = self.queue.drain(..).find(|el| el.is("error", ns::STREAMS));
        let deadline = Instant::now() + self.timeout;
        let error = match queued {
            Some(el) => el,
            None => loop {
                match self.read_item(deadline).await? {
                    Some(Item::Element(el)) if el.is("error", ns::STREAMS) => break el,
                    Some(Item::Element(_)) => continue,
                    Some(other) => bail!("stream ended without a stream error: {other:?}"),
                    None => bail!("no stream error within {:?}", self.timeout),
                }
            },
        };
        let condition = error
            .children
            .iter()
            .find(|c| c.ns == ns::STREAM_ERRORS && c.name != "text")
            .map(|c| c.name.clone())
            .ok_or_else(|| anyhow!("stream error without a defined condition: {error}"))?;
        match self.read_item(Instant::now() + self.timeout).await? {
            Some(Item::End) => Ok(condition),
            Some(other) => bail!("data after the stream error: {other:?}"),
            None => bail!("stream not closed after the stream error ({condition})"),
        }
    }

    /// Sends an IQ with a fresh id and returns the `result` or `error` answering it;
    /// other stanzas arriving meanwhile are kept for [`Client::recv`].
    pub async fn iq(&mut self, iq_type: &str, to: Option<&str>, payload: &str) -> Result<El> {
        self.next_id += 1;
        let id = format!("c{}", self.next_id);
        let to = to.map(|t| format!(" to='{}'", escape(t))).unwrap_or_default();
        self.send_raw(&format!("<iq type='{}' id='{id}'{to}>{payload}</iq>", escape(iq_type))).await?;
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.read_item(deadline).await? {
                Some(Item::Element(el))
                    if el.name == "iq"
                        && el.attr("id") == Some(id.as_str())
                        && matches!(el.attr("type"), Some("result" | "error")) =>
                {
                    return Ok(el);
                }
                Some(Item::Element(el)) if self.ignore_presence && el.name == "presence" => {}
                Some(Item::Element(el)) => self.queue.push_back(el),
                Some(other) => bail!("stream ended while waiting for iq {id}: {other:?}"),
                None => bail!("no reply to iq {id} within {:?}", self.timeout),
            }
        }
    }

    /// Closes our stream and waits for the server to close its own (RFC 6120 §4.4).
    pub async fn close(self) -> Result<()> {
        self.close_collecting().await.map(drop)
    }

    /// Like [`Client::close`], returning the stanzas the server sent before
    /// its own `</stream:stream>` (queued ones included), in order.
    pub async fn close_collecting(mut self) -> Result<Vec<El>> {
        let mut before_end: Vec<El> = self.queue.drain(..).collect();
        if !self.closed {
            self.send_raw("</stream:stream>").await?;
            let deadline = Instant::now() + self.timeout;
            loop {
                match self.read_item(deadline).await? {
                    Some(Item::End) => break,
                    Some(Item::Element(el)) => before_end.push(el),
                    Some(_) => continue,
                    None => bail!("server did not close its stream"),
                }
            }
        }
        // The server may already have dropped the socket; that is a fine ending too.
        let _ = timeout(self.timeout, self.io.shutdown()).await;
        Ok(before_end)
    }

    /// Sends a stream header and reads the server's header and features (§4.2, §4.3).
    async fn open_stream(&mut self) -> Result<()> {
        self.reader.restart();
        self.send_raw(&format!(
            "<?xml version='1.0'?><stream:stream to='{}' version='1.0' xmlns='{}' xmlns:stream='{}'>",
            escape(&self.domain),
            ns::CLIENT,
            ns::STREAMS
        ))
        .await?;
        let deadline = Instant::now() + self.timeout;
        match self.read_item(deadline).await? {
            Some(Item::Header(h)) if h.is("stream", ns::STREAMS) => self.header = h,
            Some(other) => bail!("expected the server's stream header, got {other:?}"),
            None => bail!("no stream header within {:?}", self.timeout),
        }
        match self.read_item(deadline).await? {
            Some(Item::Element(f)) if f.is("features", ns::STREAMS) => {
                self.features = Features::parse(f);
                Ok(())
            }
            Some(other) => bail!("expected stream features, got {other:?}"),
            None => bail!("no stream features within {:?}", self.timeout),
        }
    }

    /// The next element during negotiation, where a closed stream is an error.
    async fn recv_negotiation(&mut self) -> Result<El> {
        match self.read_item(Instant::now() + self.timeout).await? {
            Some(Item::Element(el)) => Ok(el),
            Some(other) => bail!("unexpected during negotiation: {other:?}"),
            None => bail!("no answer within {:?}", self.timeout),
        }
    }

    /// The next item from the socket, `None` at `deadline`. EOF is reported as
    /// [`Item::End`], since for a test "closed" is what matters, not how.
    async fn read_item(&mut self, deadline: Instant) -> Result<Option<Item>> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(item) = self.reader.next_item()? {
                self.closed |= item == Item::End;
                return Ok(Some(item));
            }
            if self.closed {
                return Ok(Some(Item::End));
            }
            let n = match timeout_at(deadline, self.io.read(&mut buf)).await {
                Err(_) => return Ok(None),
                Ok(Ok(n)) => n,
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Ok(Err(e)) => return Err(e).context("read failed"),
            };
            if n == 0 {
                self.closed = true;
                return Ok(Some(Item::End));
            }
            self.reader.push(&buf[..n]);
        }
    }
}
