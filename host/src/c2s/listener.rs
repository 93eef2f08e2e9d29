//! The c2s listener: accepts TCP connections and runs each in its own task,
//! inside a tracing span that names the peer.

use super::C2sError;
use super::bind::Bound;
use super::negotiate::negotiate;
use super::session;
use super::stream::Stream;
use crate::services::Services;
use crate::xml::StreamParser;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tracing::Instrument;

/// Time allowed from TCP accept to a bound resource; slow or silent clients
/// would otherwise hold sockets forever.
const NEGOTIATION_TIMEOUT: Duration = Duration::from_secs(60);

/// Accepts connections until the task is dropped.
pub async fn accept_loop(listener: TcpListener, svc: Arc<Services>) {
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                let _ = tcp.set_nodelay(true);
                let span = tracing::info_span!("c2s", %peer);
                tracing::debug!(parent: &span, %peer, "connected");
                tokio::spawn(connection(tcp, svc.clone()).instrument(span));
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One connection from accept to close. Its task is allocated at accept with
/// the size of this future and keeps it for the session's life (issue 6:
/// memory per idle connection), so negotiation, which needs a large future
/// only until bind, runs boxed, and this frame holds nothing the session
/// does not.
async fn connection(tcp: TcpStream, svc: Arc<Services>) {
    let _open = svc.metrics.connection();
    let Some((stream, bound)) = Box::pin(negotiated(tcp, &svc)).await else { return };
    session::run(svc, stream, bound).await;
}

/// Negotiates the stream up to a bound resource; on failure, closes it with
/// the stream error that fits.
async fn negotiated(tcp: TcpStream, svc: &Services) -> Option<(Stream, Bound)> {
    let mut stream = Stream::new(Box::new(tcp), StreamParser::new(svc.xml_limits));
    let mut domain = String::new();
    let result = match tokio::time::timeout(NEGOTIATION_TIMEOUT, negotiate(&mut stream, svc, &mut domain)).await {
        Ok(r) => r,
        Err(_) => Err(C2sError::Timeout),
    };
    let e = match result {
        Ok(bound) => return Some((stream, bound)),
        Err(e) => e,
    };
    tracing::debug!(error = %e, "negotiation ended");
    let host = if domain.is_empty() { svc.config.default_domain().to_owned() } else { domain };
    match e.stream_error() {
        Some(err) => stream.fail(&err, &host).await,
        None if matches!(e, C2sError::Closed) => stream.close().await,
        None => {}
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every connection's task is allocated at accept with the size of this
    /// future and keeps it for the session's life, so what only negotiation
    /// or a busy stanza needs must not be inline (issue 6: ≤ 12 KiB per idle
    /// connection; with negotiation and dispatch inline the task was 8 KiB).
    #[test]
    fn a_connection_task_is_small() {
        let size = super::super::future_size(|tcp: TcpStream, svc: Arc<Services>, (): ()| connection(tcp, svc));
        assert!(size <= 1536, "connection future is {size} bytes");
    }
}
