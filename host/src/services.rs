//! The small bundle of handles every connection task shares.
//!
//! Deliberately not a "server object": each field is an independent service
//! with its own module, and code takes what it needs from here.

use crate::clock::Clock;
use crate::config::Config;
use crate::metrics::ServerMetrics;
use crate::plugin::{PluginHost, SessionView};
use crate::reload::Reloader;
use crate::router::expiry::Expiry;
use crate::sm::registry::{ConflictPolicy, Registry};
use crate::sm::roster::Rosters;
use crate::store::amp::AmpStore;
use crate::store::{OfflineLimits, OfflineStore, UserStore};
use crate::xml::Limits;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// Shared, read-mostly handles for connection tasks.
pub struct Services {
    /// The parsed configuration.
    pub config: Arc<Config>,
    /// Accounts and credentials.
    pub users: UserStore,
    /// XEP-0160 offline messages.
    pub offline: OfflineStore,
    /// Offline store limits from the configuration.
    pub offline_limits: OfflineLimits,
    /// XEP-0079 messages kept with their rules (`--amp-repo-uri`).
    pub amp: AmpStore,
    /// AMP store limits (`sess-man/plugins-conf/amp/store-limit`, …).
    pub amp_limits: OfflineLimits,
    /// The AMP expiry sweeper's lock and bell.
    pub expiry: Expiry,
    /// STARTTLS acceptor; `None` only when TLS could not be configured and is
    /// not required.
    pub tls: Option<TlsAcceptor>,
    /// The WASM plugin chain.
    pub plugins: Arc<PluginHost>,
    /// Rebuilds the chain on a running server (watcher, SIGHUP, admins).
    pub reloader: Arc<Reloader>,
    /// Bound sessions.
    pub registry: Arc<Registry>,
    /// Rosters and subscription states (RFC 6121 §2, §3).
    pub rosters: Rosters,
    /// The registry as plugins see it (kept ready to avoid a coercion per stanza).
    pub sessions_view: Arc<dyn SessionView>,
    /// XML limits for every stream.
    pub xml_limits: Limits,
    /// Resource conflict policy.
    pub conflict: ConflictPolicy,
    /// The server's clock (shared with the plugins).
    pub clock: Arc<Clock>,
    /// Connection, stanza and stored-message counters (`GET /metrics`).
    pub metrics: Arc<ServerMetrics>,
}

impl Services {
    /// True when `domain` is one of our virtual hosts.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.config.virt_hosts.iter().any(|h| h.eq_ignore_ascii_case(domain))
    }
}
