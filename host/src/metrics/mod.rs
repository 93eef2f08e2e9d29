//! Operational metrics: the server's own counters ([`ServerMetrics`]),
//! every plugin's (`plugin::metrics`), and their Prometheus exposition at
//! `GET /metrics` when `--metrics-address` is set.
//!
//! Counting is always on and costs a relaxed atomic add where it happens;
//! only serving the numbers is optional. Nothing here is read on the hot
//! path: the exposition walks the counters when it is asked for them.
//!
//! # Layout
//! - `mod.rs`: [`ServerMetrics`], the counters c2s, the session manager
//!   and the router bump.
//! - `exposition.rs`: every counter in the OpenMetrics text format
//!   (`prometheus-client`'s encoder).
//! - `http.rs`: the HTTP/1.1 endpoint (`hyper`).

mod exposition;
mod http;

pub use exposition::render;
pub use http::{CONTENT_TYPE, serve};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::xmpp::StanzaKind;

/// The three stanza kinds with their element names, in exposition order
/// (the index is [`kind_index`]).
const KINDS: [(StanzaKind, &str); 3] =
    [(StanzaKind::Message, "message"), (StanzaKind::Presence, "presence"), (StanzaKind::Iq, "iq")];

/// Which message store a counter is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageStore {
    /// XEP-0160 offline messages (`store-offline`).
    Offline,
    /// XEP-0079 messages kept with their rules (`store-amp`).
    Amp,
}

impl MessageStore {
    const ALL: [MessageStore; 2] = [MessageStore::Offline, MessageStore::Amp];

    fn as_str(self) -> &'static str {
        match self {
            MessageStore::Offline => "offline",
            MessageStore::Amp => "amp",
        }
    }
}

/// Counters of the server outside the plugins; every field only grows.
#[derive(Default)]
pub struct ServerMetrics {
    connections_accepted: AtomicU64,
    connections_closed: AtomicU64,
    auth_success: AtomicU64,
    auth_failure: AtomicU64,
    stanzas_in: [AtomicU64; 3],
    stanzas_out: [AtomicU64; 3],
    stored: [AtomicU64; 2],
    flushed: [AtomicU64; 2],
    amp_expired: AtomicU64,
}

/// An open client connection; counted as closed when dropped, however its
/// task ends (a clean close, an error, the runtime shutting down).
pub struct OpenConnection(Arc<ServerMetrics>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections_closed.fetch_add(1, Relaxed);
    }
}

impl ServerMetrics {
    /// A TCP connection was accepted on a client port.
    pub fn connection(self: &Arc<Self>) -> OpenConnection {
        self.connections_accepted.fetch_add(1, Relaxed);
        OpenConnection(self.clone())
    }

    /// A SASL exchange ended in `<success/>` (true) or `<failure/>`.
    pub fn authentication(&self, success: bool) {
        let counter = if success { &self.auth_success } else { &self.auth_failure };
        counter.fetch_add(1, Relaxed);
    }

    /// A bound client sent a stanza of `kind`.
    pub fn stanza_in(&self, kind: StanzaKind) {
        self.stanzas_in[kind_index(kind)].fetch_add(1, Relaxed);
    }

    /// A session's writer took `bytes` off its queue for the socket. The
    /// kind is read from the element's name (the queue holds serialised
    /// stanzas written without a prefix); anything else is not a stanza.
    pub fn written(&self, bytes: &[u8]) {
        let Some((b'<', rest)) = bytes.split_first() else { return };
        let kind = KINDS.iter().position(|(_, name)| {
            rest.starts_with(name.as_bytes()) && matches!(rest.get(name.len()), Some(b' ' | b'>' | b'/'))
        });
        if let Some(i) = kind {
            self.stanzas_out[i].fetch_add(1, Relaxed);
        }
    }

    /// A message was kept in `store` for an unavailable recipient.
    pub fn stored(&self, store: MessageStore) {
        self.stored[store as usize].fetch_add(1, Relaxed);
    }

    /// `n` stored messages reached their recipient's socket and were deleted.
    pub fn flushed(&self, store: MessageStore, n: usize) {
        self.flushed[store as usize].fetch_add(n as u64, Relaxed);
    }

    /// A stored XEP-0079 message was discarded because a rule expired it.
    pub fn amp_expired(&self) {
        self.amp_expired.fetch_add(1, Relaxed);
    }
}

fn kind_index(kind: StanzaKind) -> usize {
    match kind {
        StanzaKind::Message => 0,
        StanzaKind::Presence => 1,
        StanzaKind::Iq => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_stanzas_are_told_apart_by_name() {
        let m = ServerMetrics::default();
        for bytes in [
            &b"<message to='a@b'><body>x</body></message>"[..],
            b"<message/>",
            b"<presence>",
            b"<iq type='result' id='1'/>",
            b"<messages/>",
            b"<stream:error/>",
            b"",
            b"<iq",
        ] {
            m.written(bytes);
        }
        let out: Vec<u64> = m.stanzas_out.iter().map(|c| c.load(Relaxed)).collect();
        assert_eq!(out, [2, 1, 1]);
    }

    #[test]
    fn a_connection_is_closed_when_its_guard_drops() {
        let m = Arc::new(ServerMetrics::default());
        let open = m.connection();
        let _second = m.connection();
        drop(open);
        assert_eq!((m.connections_accepted.load(Relaxed), m.connections_closed.load(Relaxed)), (2, 1));
    }
}
