//! Start-up: configuration → database → TLS → plugin chain → listeners (and
//! the metrics endpoint, if configured), in that order, each failure
//! reported with what it concerns.

use crate::c2s::listener::accept_loop;
use crate::c2s::tls::{self, TlsError};
use crate::config::{Config, ConfigError, ResourceConflict};
use crate::metrics::ServerMetrics;
use crate::plugin::{self, CodeCache, PluginEnv, PluginError, PluginHost};
use crate::reload::{self, Reloader};
use crate::router::expiry::{self, Expiry};
use crate::services::Services;
use crate::sm::registry::{ConflictPolicy, Registry};
use crate::sm::roster::Rosters;
use crate::store::{self, Db, OfflineLimits, StoreError};
use crate::xml::Limits;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The chain used when `--sm-plugins` changes nothing.
/// `amp` routes and stores every message itself (it replaces `message` and
/// `msgoffline`, as in Tigase).
pub const DEFAULT_CHAIN: &[&str] = &["amp"];

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A configuration value is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    /// The user database is unreachable or its migrations failed.
    #[error("user database ({uri}): {source}")]
    Store { uri: String, source: StoreError },
    /// The AMP message store (`--amp-repo-uri`) is unreachable or its
    /// migrations failed.
    #[error("AMP message store, --amp-repo-uri ({uri}): {source}")]
    AmpStore { uri: String, source: StoreError },
    /// The certificate or key is unusable.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// A plugin failed to load.
    #[error("plugins: {0}")]
    Plugin(#[from] PluginError),
    /// A listening socket could not be opened.
    #[error("listening on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    /// The metrics endpoint (`--metrics-address`) could not be opened.
    #[error("metrics endpoint, --metrics-address={addr}: {source}")]
    Metrics { addr: SocketAddr, source: std::io::Error },
}

/// A running server: its listening addresses and shared services.
pub struct RunningServer {
    /// The bound c2s addresses (with the real port when 0 was configured).
    pub addrs: Vec<SocketAddr>,
    /// The shared services, e.g. to create accounts in tests.
    pub services: Arc<Services>,
    /// The bound metrics endpoint (with the real port when 0 was
    /// configured); `None` without `--metrics-address`.
    pub metrics_addr: Option<SocketAddr>,
    listeners: Vec<JoinHandle<()>>,
    sweeper: JoinHandle<()>,
    /// The plugin directory watcher, if `--plugin-watch` and it could start.
    watcher: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting connections. Established sessions end with their
    /// clients or when the runtime shuts down.
    pub fn stop_listening(&self) {
        for l in &self.listeners {
            l.abort();
        }
    }

    /// Stops the XEP-0079 expiry sweeper. Expired messages are then settled
    /// only when their recipient logs in; tests use this to check that a
    /// flush never delivers an expired message.
    pub fn stop_expiry_sweeper(&self) {
        self.sweeper.abort();
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_listening();
        self.sweeper.abort();
        if let Some(watcher) = &self.watcher {
            watcher.abort();
        }
    }
}

/// Opens the user database and runs its migrations. The data directory is
/// created first: the default SQLite database lives there, and `adduser` on
/// a fresh install runs before any server has.
pub async fn open_user_db(config: &Config) -> Result<Db, StartError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|source| StartError::DataDir { path: config.data_dir.display().to_string(), source })?;
    let uri = config.user_db_uri();
    let err = |source| StartError::Store { uri: store::uri::redact(&uri), source };
    let db = Db::connect(&uri).await.map_err(err)?;
    db.migrate().await.map_err(err)?;
    Ok(db)
}

/// Opens the XEP-0079 message store: the user database unless
/// `--amp-repo-uri` names another one, which then gets only the AMP tables.
pub async fn open_amp_db(config: &Config, user_db: &Db) -> Result<Db, StartError> {
    let uri = config.amp_repo_uri();
    let err = |source| StartError::AmpStore { uri: store::uri::redact(&uri), source };
    let db = match &config.amp_repo_uri {
        None => user_db.clone(),
        Some(_) => Db::connect(&uri).await.map_err(err)?,
    };
    db.migrate_amp().await.map_err(err)?;
    Ok(db)
}

/// What each plugin reads with `server.config`: its own
/// `sess-man/plugins-conf/<id>/…` lines, plus for `amp` the values the
/// seeds' keys set (`amp-jid`, `security-level`, `store-limit`).
fn plugin_settings(config: &Config) -> HashMap<String, BTreeMap<String, String>> {
    let mut settings: HashMap<String, BTreeMap<String, String>> =
        config.plugin_conf.iter().map(|(id, kv)| (id.clone(), kv.clone())).collect();
    let amp = settings.entry("amp".to_owned()).or_default();
    amp.insert("amp-jid".to_owned(), config.amp_jid());
    amp.insert("security-level".to_owned(), config.amp_security_level.as_str().to_owned());
    amp.insert("store-limit".to_owned(), config.amp_store_limit.to_string());
    settings
}

/// The plugin host `config` describes, with no plugin loaded yet: the
/// server-wide limits, each plugin's settings and sandbox policy. Shared by
/// the server and `wasmpp plugin check`, so a check answers for this
/// configuration.
pub fn plugin_host(config: &Config) -> Result<PluginHost, PluginError> {
    let limits = plugin::Limits {
        deadline: Duration::from_millis(config.plugin_deadline_ms),
        memory_bytes: config.plugin_memory_mb as usize * 1024 * 1024,
        pool_size: config.plugin_pool_size,
    };
    let policies = config.plugin_policies.iter().map(|(id, p)| (id.clone(), p.clone())).collect();
    let env = PluginEnv { settings: plugin_settings(config), policies, ..PluginEnv::default() };
    PluginHost::with_env(limits, env)
}

/// Starts the server described by `config`.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    let config = Arc::new(config);
    let db = open_user_db(&config).await?;
    let amp_db = open_amp_db(&config, &db).await?;
    let (acceptor, tls_source) =
        tls::acceptor(config.tls_cert.as_deref(), config.tls_key.as_deref(), &config.data_dir, &config.virt_hosts)?;

    let cache = match config.plugin_cache_dir() {
        Some(dir) => CodeCache::new(dir),
        None => CodeCache::off(),
    };
    let plugins = Arc::new(plugin_host(&config)?.with_code_cache(cache));
    // Before the chain: `amp` lists the custom conditions in its manifest.
    plugins.load_conditions(&config.amp_conditions_dir())?;
    let plugin_dir = config.plugin_dir();
    let known = plugins.known_ids(Some(&plugin_dir));
    let chain = config.plugin_chain(DEFAULT_CHAIN, &|id| known.iter().any(|k| k == id))?;
    plugins.load_chain(&chain, Some(&plugin_dir))?;
    let reloader = Arc::new(Reloader::new(
        plugins.clone(),
        plugin_dir,
        config.amp_conditions_dir(),
        DEFAULT_CHAIN,
        config.sm_plugins.clone(),
    ));
    let watcher = if config.plugin_watch { reload::watch::spawn(reloader.clone()) } else { None };

    let registry = Arc::new(Registry::new());
    let svc = Arc::new(Services {
        users: db.users(),
        offline: db.offline(),
        amp: amp_db.amp(),
        amp_limits: OfflineLimits { per_pair: config.amp_store_limit, per_recipient: config.amp_recipient_limit },
        expiry: Expiry::default(),
        offline_limits: OfflineLimits {
            per_pair: config.offline_store_limit,
            per_recipient: config.offline_recipient_limit,
        },
        rosters: Rosters::new(db.roster()),
        tls: Some(acceptor),
        plugins: plugins.clone(),
        reloader,
        sessions_view: registry.clone(),
        registry,
        xml_limits: Limits { max_stanza_bytes: config.max_stanza_size, max_depth: config.max_xml_depth },
        conflict: match config.resource_conflict {
            ResourceConflict::Override => ConflictPolicy::Override,
            ResourceConflict::Reject => ConflictPolicy::Reject,
        },
        config: config.clone(),
        clock: plugins.env().clock.clone(),
        metrics: Arc::new(ServerMetrics::default()),
    });

    let mut addrs = Vec::new();
    let sweeper = tokio::spawn(expiry::sweeper(svc.clone()));
    let mut listeners = Vec::new();
    for port in &config.c2s_ports {
        let addr = SocketAddr::new(config.c2s_address, *port);
        let listener = TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })?;
        let local = listener.local_addr().map_err(|source| StartError::Listen { addr, source })?;
        addrs.push(local);
        listeners.push(tokio::spawn(accept_loop(listener, svc.clone())));
    }
    let mut metrics_addr = None;
    if let Some(addr) = config.metrics_address {
        let err = |source| StartError::Metrics { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(err)?;
        metrics_addr = Some(listener.local_addr().map_err(err)?);
        listeners.push(tokio::spawn(crate::metrics::serve(listener, svc.clone())));
    }

    let chain_desc: Vec<String> = plugins.chain().plugins().iter().map(|p| format!("{}@{}", p.id, p.version)).collect();
    tracing::info!(
        listening = ?addrs,
        domains = ?config.virt_hosts,
        database = %store::uri::redact(&config.user_db_uri()),
        backend = ?db.backend(),
        plugins = %chain_desc.join(" → "),
        tls_cert = %tls_source.cert.display(),
        tls_generated = tls_source.generated,
        tls_required = config.tls_required,
        registration = config.registration,
        metrics = ?metrics_addr,
        plugin_cache = ?plugins.code_cache().dir(),
        "wasmpp started"
    );
    Ok(RunningServer { addrs, services: svc, metrics_addr, listeners, sweeper, watcher })
}
