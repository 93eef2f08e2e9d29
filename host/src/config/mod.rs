//! Server configuration in Tigase's shape: `--key=value` flags and `init.properties` lines.
//!
//! Operators arrive from Tigase, so configuration is a flat set of keys with Tigase's names
//! wherever Tigase has one. Every key lives in one table ([`keys::KEYS`]) that drives
//! parsing, validation, defaults and `--help`, so the four can never disagree. Values come
//! from (lowest to highest precedence) the key table's defaults, the `--config` file, and
//! the command line. Every error names the key and where the bad value came from.
//!
//! # Layout
//! - `error.rs`: `ConfigError` and `Origin`.
//! - `keys.rs`: the key table, with each key's default, help text and setter.
//! - `values.rs`: parsers for value shapes (booleans, lists, ports, domains, JIDs).
//! - `properties.rs`: `init.properties` files.
//! - `cli.rs`: command-line arguments and subcommands.
//! - `chain.rs`: `--sm-plugins` toggles and the rules that turn them into a plugin chain.
//! - `amp.rs`: `--amp-security-level` (XEP-0079 §9).
//! - `plugin_conf.rs`: other plugins' own `sess-man/plugins-conf/<id>/<key>` settings.
//! - `plugin_policy.rs`: the per-plugin sandbox settings under the same prefix.
//! - `redact.rs`: keeps passwords in database URIs out of logs.

mod amp;
mod chain;
mod cli;
mod error;
mod keys;
mod plugin_conf;
mod plugin_policy;
mod properties;
mod redact;
mod values;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

pub use amp::AmpSecurityLevel;
pub use chain::{CONFLICTS, Conflict, Toggle, parse_toggles, resolve_chain};
pub use cli::{Command, help_text, parse_args};
pub use error::{ConfigError, Origin};
pub use keys::{DefaultValue, KEYS, Key, Kind};
pub use plugin_policy::SETTINGS as PLUGIN_SANDBOX_SETTINGS;
pub use redact::redact_uri;

/// RFC 6120 §7.7.2.2: what happens when a client binds a resource that is already in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceConflict {
    /// Terminate the older session with a `<conflict/>` stream error; the new one wins.
    Override,
    /// Refuse the new bind with a `<conflict/>` stanza error; the old one stays.
    Reject,
}

/// `--plugin-cache`: where compiled plugin code is kept between starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginCache {
    /// `<data-dir>/plugin-cache`.
    Default,
    /// No cache: every start compiles every plugin.
    Off,
    /// This directory.
    Dir(PathBuf),
}

/// The whole typed configuration. Defaults and meanings of every field are in [`KEYS`]
/// (shown by `wasmpp --help`); the field names are the key names in snake case.
#[derive(Clone)]
pub struct Config {
    /// `--config`: the properties file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// `--virt-hosts`: served domains, lowercased; the first is the default domain.
    pub virt_hosts: Vec<String>,
    /// `--c2s-ports`: client listener ports; 0 picks an ephemeral port (tests).
    pub c2s_ports: Vec<u16>,
    /// `--c2s-address`: address the client listeners bind to.
    pub c2s_address: IpAddr,
    /// `--data-dir`: home of the SQLite database, generated certificate and plugins.
    pub data_dir: PathBuf,
    /// `--user-db-uri`: user database; `None` means SQLite in the data dir.
    pub user_db_uri: Option<String>,
    /// `--admins`: bare JIDs with administrative rights.
    pub admins: Vec<String>,
    /// `--debug`: module names whose logging is raised to debug.
    pub debug: Vec<String>,
    /// `--sm-plugins`: toggles applied to the default plugin chain, in order.
    pub sm_plugins: Vec<Toggle>,
    /// `--plugin-dir`: extra/override plugin components; `None` means `<data-dir>/plugins`.
    pub plugin_dir: Option<PathBuf>,
    /// `--plugin-watch`: reload components when the plugin or conditions directory changes.
    pub plugin_watch: bool,
    /// `--plugin-deadline-ms`: wall-clock budget of one plugin call.
    pub plugin_deadline_ms: u64,
    /// `--plugin-memory-mb`: linear memory limit of one plugin instance.
    pub plugin_memory_mb: u32,
    /// `--plugin-pool-size`: instances per plugin; 0 sizes the pool automatically.
    pub plugin_pool_size: usize,
    /// `--plugin-cache`: the compiled-code cache, see [`Config::plugin_cache_dir`].
    pub plugin_cache: PluginCache,
    /// `--tls-cert`: PEM certificate chain; `None` generates a self-signed one.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`: PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// `--tls-required`: clients must STARTTLS before SASL.
    pub tls_required: bool,
    /// `--sasl-plain-without-tls`: offer PLAIN on unencrypted streams.
    pub sasl_plain_without_tls: bool,
    /// `--sasl-max-attempts`: failed SASL attempts before the stream is closed.
    pub sasl_max_attempts: u32,
    /// `--scram-iterations`: PBKDF2 iteration count for newly stored SCRAM credentials.
    pub scram_iterations: u32,
    /// `--registration`: XEP-0077 in-band registration.
    pub registration: bool,
    /// `--resource-conflict`: RFC 6120 §7.7.2.2 policy.
    pub resource_conflict: ResourceConflict,
    /// `--max-stanza-size`: largest stanza accepted, in bytes.
    pub max_stanza_size: usize,
    /// `--max-xml-depth`: deepest element nesting accepted.
    pub max_xml_depth: usize,
    /// `--c2s-ping-interval`: seconds of client silence before the server
    /// pings it (XEP-0199 §4.2); 0 turns server pings off.
    pub c2s_ping_interval: u64,
    /// `--c2s-ping-timeout`: seconds a pinged client has to send anything
    /// before its connection is closed as dead.
    pub c2s_ping_timeout: u64,
    /// `--metrics-address`: where `GET /metrics` is served; `None` (the
    /// default) serves nothing.
    pub metrics_address: Option<SocketAddr>,
    /// `sess-man/plugins-conf/msgoffline/store-limit`: offline messages kept
    /// per sender→recipient pair (Tigase's key and unit); 0 = unlimited.
    pub offline_store_limit: u32,
    /// `sess-man/plugins-conf/msgoffline/recipient-store-limit`: offline
    /// messages kept per recipient from all senders; 0 = unlimited.
    pub offline_recipient_limit: u32,
    /// `--amp-repo-uri`: database of AMP's offline messages (already checked by
    /// `store::uri::to_sqlx_url`); `None` means the user database, see [`Config::amp_repo_uri`].
    pub amp_repo_uri: Option<String>,
    /// `--amp-security-level`: XEP-0079 §9 guard against rules that reveal presence.
    pub amp_security_level: AmpSecurityLevel,
    /// `--amp-conditions-dir`: custom AMP condition components; `None` means
    /// `<plugin-dir>/conditions`, see [`Config::amp_conditions_dir`].
    pub amp_conditions_dir: Option<PathBuf>,
    /// `sess-man/plugins-conf/amp/amp-jid`: the AMP service address, a normalised bare JID;
    /// `None` means `amp@<first virtual host>`, see [`Config::amp_jid`].
    pub amp_jid: Option<String>,
    /// `sess-man/plugins-conf/amp/store-limit`: AMP offline messages kept per
    /// sender→recipient pair; 0 = unlimited.
    pub amp_store_limit: u32,
    /// `sess-man/plugins-conf/amp/recipient-store-limit`: AMP offline messages kept per
    /// recipient from all senders; 0 = unlimited.
    pub amp_recipient_limit: u32,
    /// Every other `sess-man/plugins-conf/<plugin-id>/<key>=value` line: plugin id → key →
    /// value (trimmed text), for the plugin to interpret. Empty by default.
    pub plugin_conf: BTreeMap<String, BTreeMap<String, String>>,
    /// `sess-man/plugins-conf/<plugin-id>/{deadline-ms,memory-mb,pool-size,capabilities}`:
    /// each plugin's sandbox, over the server-wide `--plugin-*` defaults. Not shown to plugins.
    pub plugin_policies: BTreeMap<String, crate::plugin::PluginPolicy>,
    /// Where each key was last set, for errors found after parsing (e.g. by the plugin loader).
    /// Keyed by the key table's name, or by `sess-man/plugins-conf/<id>/<key>` for `plugin_conf`.
    origins: BTreeMap<String, Origin>,
}

impl Default for Config {
    /// Applies every default written in the key table, so `--help` and the code agree.
    fn default() -> Self {
        let mut config = Config::unset();
        for key in KEYS {
            if let DefaultValue::Value(text) = key.default
                && let Err(problem) = (key.apply)(&mut config, text)
            {
                panic!("key table default for --{} is invalid: {problem}", key.name);
            }
        }
        config.origins.clear();
        config
    }
}

impl Config {
    /// Placeholder values, every one overwritten by the key table in `default()` except the
    /// optional fields, whose `None` is their documented default.
    fn unset() -> Self {
        Config {
            config_file: None,
            virt_hosts: Vec::new(),
            c2s_ports: Vec::new(),
            c2s_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            data_dir: PathBuf::new(),
            user_db_uri: None,
            admins: Vec::new(),
            debug: Vec::new(),
            sm_plugins: Vec::new(),
            plugin_dir: None,
            plugin_watch: false,
            plugin_deadline_ms: 0,
            plugin_memory_mb: 0,
            plugin_pool_size: 0,
            plugin_cache: PluginCache::Default,
            tls_cert: None,
            tls_key: None,
            tls_required: false,
            sasl_plain_without_tls: false,
            sasl_max_attempts: 0,
            scram_iterations: 0,
            registration: false,
            resource_conflict: ResourceConflict::Override,
            max_stanza_size: 0,
            max_xml_depth: 0,
            offline_store_limit: 0,
            offline_recipient_limit: 0,
            c2s_ping_interval: 0,
            c2s_ping_timeout: 0,
            metrics_address: None,
            amp_repo_uri: None,
            amp_security_level: AmpSecurityLevel::Strict,
            amp_conditions_dir: None,
            amp_jid: None,
            amp_store_limit: 0,
            amp_recipient_limit: 0,
            plugin_conf: BTreeMap::new(),
            plugin_policies: BTreeMap::new(),
            origins: BTreeMap::new(),
        }
    }

    /// The user database URI, defaulting to SQLite inside the data dir.
    pub fn user_db_uri(&self) -> String {
        match &self.user_db_uri {
            Some(uri) => uri.clone(),
            None => format!("sqlite://{}", self.data_dir.join("wasmpp.db").display()),
        }
    }

    /// The plugin directory, defaulting to `<data-dir>/plugins`.
    pub fn plugin_dir(&self) -> PathBuf {
        self.plugin_dir.clone().unwrap_or_else(|| self.data_dir.join("plugins"))
    }

    /// The compiled-code cache directory, defaulting to `<data-dir>/plugin-cache`;
    /// `None` when it is off.
    pub fn plugin_cache_dir(&self) -> Option<PathBuf> {
        match &self.plugin_cache {
            PluginCache::Default => Some(self.data_dir.join("plugin-cache")),
            PluginCache::Off => None,
            PluginCache::Dir(dir) => Some(dir.clone()),
        }
    }

    /// The first virtual host: used where a domain is needed but none is addressed.
    pub fn default_domain(&self) -> &str {
        self.virt_hosts.first().map_or("localhost", String::as_str)
    }

    /// The AMP offline-message database URI, defaulting to the user database (Tigase shares
    /// the physical database unless `--amp-repo-uri` moves the messages elsewhere).
    pub fn amp_repo_uri(&self) -> String {
        self.amp_repo_uri.clone().unwrap_or_else(|| self.user_db_uri())
    }

    /// The AMP service address, defaulting to `amp@<first virtual host>`.
    pub fn amp_jid(&self) -> String {
        self.amp_jid.clone().unwrap_or_else(|| format!("amp@{}", self.default_domain()))
    }

    /// The directory of custom AMP condition components, defaulting to `<plugin-dir>/conditions`.
    pub fn amp_conditions_dir(&self) -> PathBuf {
        self.amp_conditions_dir.clone().unwrap_or_else(|| self.plugin_dir().join("conditions"))
    }

    /// A plugin's own setting `sess-man/plugins-conf/<id>/<key>`, if it was given. Settings
    /// wasmpp types itself (such as `amp/amp-jid`) are fields instead and are not found here.
    pub fn plugin_setting(&self, id: &str, key: &str) -> Option<&str> {
        self.plugin_conf.get(id)?.get(key).map(String::as_str)
    }

    /// Where `key` (with or without `--`) was last set, or `None` if it has its default.
    pub fn origin_of(&self, key: &str) -> Option<&Origin> {
        match keys::lookup(key) {
            Some(spec) => self.origins.get(spec.name),
            None => {
                let (id, setting) = plugin_conf::split(key.trim())?.ok()?;
                self.origins.get(&format!("{}{id}/{setting}", plugin_conf::PREFIX))
            }
        }
    }

    /// Sets one key from its text form. `value` is `None` for a bare `--flag`, which only
    /// booleans accept (meaning true). `--config` is accepted only from the command line.
    pub fn set(&mut self, key: &str, value: Option<&str>, origin: &Origin) -> Result<(), ConfigError> {
        let name = key.trim();
        let Some(spec) = keys::lookup(name) else {
            return self.set_plugin_setting(name, value, origin);
        };
        let fail = |message: String| ConfigError::new(origin, spec.display(), message);
        if spec.kind == keys::Kind::CliOnly && !matches!(origin, Origin::CommandLine) {
            return Err(fail("only valid on the command line".into()));
        }
        let value = match (value.map(str::trim), spec.is_bool()) {
            (Some(v), _) => v,
            (None, true) => "true",
            (None, false) => {
                return Err(fail(format!("needs a value (expected {})", spec.expects)));
            }
        };
        (spec.apply)(self, value).map_err(|problem| fail(format!("{problem} (expected {})", spec.expects)))?;
        self.origins.insert(spec.name.to_string(), origin.clone());
        Ok(())
    }

    /// A key that is not in the table: kept in `plugin_conf` if it has the shape of a
    /// plugin's own setting, else rejected as unknown.
    fn set_plugin_setting(&mut self, name: &str, value: Option<&str>, origin: &Origin) -> Result<(), ConfigError> {
        let shown = keys::display_name(name);
        let (id, setting) = match plugin_conf::split(name) {
            Some(Ok(parts)) => parts,
            Some(Err(problem)) => return Err(ConfigError::new(origin, shown, problem)),
            None if name.trim_start_matches('-').is_empty() => {
                return Err(ConfigError::new(origin, name, "missing key name (expected key=value)"));
            }
            None => return Err(ConfigError::new(origin, shown, "unknown key (see wasmpp --help)")),
        };
        // The plugin alone knows whether a bare line means anything, so demand a value.
        let value =
            value.ok_or_else(|| ConfigError::new(origin, &shown, "needs a value (a plugin setting is key=value)"))?;
        if plugin_policy::is_reserved(setting) {
            let policy = self.plugin_policies.entry(id.to_string()).or_default();
            plugin_policy::apply(policy, setting, value.trim()).map_err(|e| ConfigError::new(origin, &shown, e))?;
            self.origins.insert(shown, origin.clone());
            return Ok(());
        }
        self.plugin_conf.entry(id.to_string()).or_default().insert(setting.to_string(), value.trim().to_string());
        self.origins.insert(shown, origin.clone());
        Ok(())
    }

    /// Applies an `init.properties` text; `file_name` is only used in error origins.
    pub fn load_properties(&mut self, text: &str, file_name: &str) -> Result<(), ConfigError> {
        properties::load(self, text, file_name)
    }

    /// Checks rules that span several keys; run after all sources are applied.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let cert = ("tls-cert", self.tls_cert.is_some());
        let key = ("tls-key", self.tls_key.is_some());
        for (given, missing) in [(cert, key), (key, cert)] {
            if given.1 && !missing.1 {
                let origin = self.origins.get(given.0).cloned().unwrap_or(Origin::Unknown);
                let message = format!("missing, but --{} is given (give both or neither)", given.0);
                return Err(ConfigError::new(&origin, format!("--{}", missing.0), message));
            }
        }
        let ceiling = self.plugin_memory_mb as usize;
        for (id, policy) in &self.plugin_policies {
            let Some(mb) = policy.memory_bytes.map(|bytes| bytes >> 20).filter(|mb| *mb > ceiling) else { continue };
            let key = format!("{}{id}/memory-mb", plugin_conf::PREFIX);
            let origin = self.origins.get(&key).cloned().unwrap_or(Origin::Unknown);
            let message = format!("{mb} is above --plugin-memory-mb={ceiling}, the ceiling of every plugin's cap");
            return Err(ConfigError::new(&origin, key, message));
        }
        Ok(())
    }

    /// The plugin chain from `default` and `--sm-plugins`, with errors pointing at the line
    /// where `--sm-plugins` was given. See [`resolve_chain`] for the rule.
    pub fn plugin_chain(&self, default: &[&str], known: &dyn Fn(&str) -> bool) -> Result<Vec<String>, ConfigError> {
        resolve_chain(default, &self.sm_plugins, known).map_err(|mut e| {
            e.origin = self.origins.get("sm-plugins").cloned().unwrap_or(Origin::Default);
            e
        })
    }

    /// An `EnvFilter` directive: `info` everywhere, `debug` for each `--debug` module
    /// (`*` or `all` for the whole server), like Tigase's `--debug=server,xmpp.impl`.
    pub fn tracing_filter(&self) -> String {
        if self.debug.iter().any(|m| m == "*" || m == "all") {
            return "info,wasmpp=debug".to_string();
        }
        let mut filter = String::from("info");
        for module in &self.debug {
            filter.push_str(&format!(",wasmpp::{module}=debug"));
        }
        filter
    }
}

impl fmt::Debug for Config {
    /// Like a derived `Debug`, but the database URI has its password redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("config_file", &self.config_file)
            .field("virt_hosts", &self.virt_hosts)
            .field("c2s_ports", &self.c2s_ports)
            .field("c2s_address", &self.c2s_address)
            .field("data_dir", &self.data_dir)
            .field("user_db_uri", &self.user_db_uri.as_deref().map(redact_uri))
            .field("admins", &self.admins)
            .field("debug", &self.debug)
            .field("sm_plugins", &self.sm_plugins)
            .field("plugin_dir", &self.plugin_dir)
            .field("plugin_watch", &self.plugin_watch)
            .field("plugin_deadline_ms", &self.plugin_deadline_ms)
            .field("plugin_memory_mb", &self.plugin_memory_mb)
            .field("plugin_pool_size", &self.plugin_pool_size)
            .field("plugin_cache", &self.plugin_cache)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("tls_required", &self.tls_required)
            .field("sasl_plain_without_tls", &self.sasl_plain_without_tls)
            .field("sasl_max_attempts", &self.sasl_max_attempts)
            .field("scram_iterations", &self.scram_iterations)
            .field("registration", &self.registration)
            .field("resource_conflict", &self.resource_conflict)
            .field("max_stanza_size", &self.max_stanza_size)
            .field("max_xml_depth", &self.max_xml_depth)
            .field("c2s_ping_interval", &self.c2s_ping_interval)
            .field("c2s_ping_timeout", &self.c2s_ping_timeout)
            .field("metrics_address", &self.metrics_address)
            .field("offline_store_limit", &self.offline_store_limit)
            .field("offline_recipient_limit", &self.offline_recipient_limit)
            .field("amp_repo_uri", &self.amp_repo_uri.as_deref().map(redact_uri))
            .field("amp_security_level", &self.amp_security_level)
            .field("amp_conditions_dir", &self.amp_conditions_dir)
            .field("amp_jid", &self.amp_jid)
            .field("amp_store_limit", &self.amp_store_limit)
            .field("amp_recipient_limit", &self.amp_recipient_limit)
            .field("plugin_conf", &shown_plugin_conf(&self.plugin_conf))
            .field("plugin_policies", &self.plugin_policies)
            .finish()
    }
}

/// `plugin_conf` as `Debug` shows it: secrets masked, URI passwords redacted.
fn shown_plugin_conf(conf: &BTreeMap<String, BTreeMap<String, String>>) -> BTreeMap<&str, BTreeMap<&str, String>> {
    conf.iter()
        .map(|(id, settings)| {
            let shown = settings.iter().map(|(key, value)| (key.as_str(), plugin_conf::shown_value(key, value)));
            (id.as_str(), shown.collect())
        })
        .collect()
}

#[cfg(test)]
mod seed_tests;
#[cfg(test)]
mod tests;
