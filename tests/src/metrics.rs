//! A scrape of the server's `GET /metrics` over a real socket, with a
//! hand-rolled HTTP/1.1 request: an independent client, like [`crate::client`],
//! so the test does not trust the server's HTTP stack to check itself.

use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// An HTTP response: status code, header block, body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The header lines, as sent.
    pub headers: String,
    /// The body.
    pub body: String,
}

/// Sends `METHOD path` with `Connection: close` and reads the whole answer.
pub async fn request(addr: SocketAddr, method: &str, path: &str) -> Result<Response> {
    let exchange = async {
        let mut tcp = TcpStream::connect(addr).await?;
        let request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await?;
        anyhow::Ok(raw)
    };
    let raw = timeout(Duration::from_secs(10), exchange).await.context("metrics request timed out")??;
    let raw = String::from_utf8(raw).context("response is not UTF-8")?;
    let Some((head, body)) = raw.split_once("\r\n\r\n") else { bail!("no end of headers in {raw:?}") };
    let (status_line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).context("bad status line")?;
    Ok(Response { status, headers: headers.to_owned(), body: body.to_owned() })
}

/// One `GET /metrics`, parsed.
#[derive(Debug)]
pub struct Scrape {
    /// The exposition text.
    pub text: String,
}

impl Scrape {
    /// Scrapes the endpoint at `addr`; anything but 200 is an error.
    pub async fn get(addr: SocketAddr) -> Result<Scrape> {
        let response = request(addr, "GET", "/metrics").await?;
        if response.status != 200 {
            bail!("GET /metrics answered {}: {}", response.status, response.body);
        }
        Ok(Scrape { text: response.body })
    }

    /// The value of one series written exactly as in the exposition, e.g.
    /// `wasmpp_plugin_calls_total{plugin="amp",entry="process"}`; 0 is not
    /// assumed for a missing series, it panics with the whole text.
    pub fn value(&self, series: &str) -> f64 {
        self.text
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no series {series} in:\n{}", self.text))
    }
}
