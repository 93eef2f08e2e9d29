//! RFC 6120 §4.9 stream errors from the outside: a bare TCP connection for bad-input
//! tests, which must see exactly the bytes the server wrote before it hung up.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use super::DEFAULT_TIMEOUT;

/// A plain TCP connection with no XML processing at all.
pub struct RawConn {
    tcp: TcpStream,
    /// Everything received since connecting.
    received: Vec<u8>,
    eof: bool,
}

/// Opens a raw connection (see [`RawConn`]).
pub async fn connect_raw(addr: SocketAddr) -> Result<RawConn> {
    let tcp = timeout(DEFAULT_TIMEOUT, TcpStream::connect(addr)).await.context("TCP connect timed out")??;
    tcp.set_nodelay(true)?;
    Ok(RawConn { tcp, received: Vec::new(), eof: false })
}

impl RawConn {
    /// Writes bytes as given, however broken they are.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        timeout(DEFAULT_TIMEOUT, self.tcp.write_all(bytes)).await.context("write timed out")?.context("write failed")
    }

    /// Reads until everything received so far contains `needle` (e.g. the end of the
    /// server's stream header) and returns all of it; fails after `d`.
    pub async fn read_until(&mut self, needle: &str, d: Duration) -> Result<String> {
        let deadline = Instant::now() + d;
        while !self.text().contains(needle) {
            if self.eof {
                bail!("closed before {needle:?} arrived; got {:?}", self.text());
            }
            if !self.read_some(deadline).await? {
                bail!("{needle:?} not received within {d:?}; got {:?}", self.text());
            }
        }
        Ok(self.text())
    }

    /// Reads until the server closes the connection and returns everything it sent
    /// since the connection opened; fails if it is still open after `d`.
    pub async fn read_until_closed(&mut self, d: Duration) -> Result<String> {
        let deadline = Instant::now() + d;
        while !self.eof {
            if !self.read_some(deadline).await? {
                bail!("connection still open after {d:?}; got {:?}", self.text());
            }
        }
        Ok(self.text())
    }

    /// One read; `false` on timeout. A reset counts as a close: a server that hangs up
    /// with our unread bytes in its buffer makes the kernel send RST instead of FIN.
    async fn read_some(&mut self, deadline: Instant) -> Result<bool> {
        let mut buf = [0u8; 4096];
        match timeout_at(deadline, self.tcp.read(&mut buf)).await {
            Err(_) => Ok(false),
            Ok(Ok(0)) => {
                self.eof = true;
                Ok(true)
            }
            Ok(Ok(n)) => {
                self.received.extend_from_slice(&buf[..n]);
                Ok(true)
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                self.eof = true;
                Ok(true)
            }
            Ok(Err(e)) => Err(e).context("read failed"),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn collects_everything_until_the_server_hangs_up() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"<stream:stream>").await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(b"<stream:error/></stream:stream>").await.unwrap();
        });
        let mut raw = connect_raw(addr).await.unwrap();
        let head = raw.read_until("<stream:stream>", DEFAULT_TIMEOUT).await.unwrap();
        assert_eq!(head, "<stream:stream>");
        raw.send(b"<<<<<").await.unwrap();
        let all = raw.read_until_closed(DEFAULT_TIMEOUT).await.unwrap();
        assert_eq!(all, "<stream:stream><stream:error/></stream:stream>");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn an_open_connection_is_reported_after_the_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut raw = connect_raw(addr).await.unwrap();
        let (_kept_open, _) = listener.accept().await.unwrap();
        let err = raw.read_until_closed(Duration::from_millis(100)).await.unwrap_err();
        assert!(err.to_string().contains("still open"), "{err}");
    }
}
