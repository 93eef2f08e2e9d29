//! The c2s listener: accepts TCP connections and runs each in its own task,
//! inside a tracing span that names the peer.

use super::C2sError;
use super::negotiate::negotiate;
use super::session;
use super::stream::Stream;
use crate::services::Services;
use crate::xml::StreamParser;
use std::net::SocketAddr;
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
                tokio::spawn(connection(tcp, peer, svc.clone()).instrument(span));
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn connection(tcp: TcpStream, peer: SocketAddr, svc: Arc<Services>) {
    tracing::debug!(%peer, "connected");
    let _open = svc.metrics.connection();
    let mut stream = Stream::new(Box::new(tcp), StreamParser::new(svc.xml_limits));
    let mut domain = String::new();
    // Boxed: negotiation (SASL, database queries) needs a large future that
    // is done with at bind, while this task lives as long as the session.
    let negotiation = Box::pin(tokio::time::timeout(NEGOTIATION_TIMEOUT, negotiate(&mut stream, &svc, &mut domain)));
    let result = match negotiation.await {
        Ok(r) => r,
        Err(_) => Err(C2sError::Timeout),
    };
    match result {
        Ok(bound) => session::run(svc, stream, bound).await,
        Err(e) => {
            tracing::debug!(error = %e, "negotiation ended");
            let host = if domain.is_empty() { svc.config.default_domain().to_owned() } else { domain };
            match e.stream_error() {
                Some(err) => stream.fail(&err, &host).await,
                None if matches!(e, C2sError::Closed) => stream.close().await,
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every connection's task is allocated at accept with the size of this
    /// future and keeps it for the session's life, so what only negotiation
    /// or a busy stanza needs must not be inline (issue 6: ≤ 12 KiB per idle
    /// connection; inline negotiation and dispatch made it 8 KiB alone).
    #[test]
    fn a_connection_task_is_small() {
        let size = super::super::future_size(connection);
        assert!(size <= 1024, "connection future is {size} bytes");
    }
}
