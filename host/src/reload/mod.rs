//! Hot reload of the plugin chain and the custom AMP conditions on a
//! running server. Every trigger goes through one function,
//! [`Reloader::reload`] (or [`Reloader::set_sm_plugins`], the same with
//! new `--sm-plugins` toggles): the plugin directory watcher
//! ([`watch`]), SIGHUP ([`on_hangup`]) and the admins' XEP-0050 commands
//! (`sm::adhoc`).
//!
//! A reload resolves the chain from the default and the toggles in force
//! with the start-up rules (so a plugin dropped in or removed is found the
//! same way), reloads the conditions, then the chain — each component
//! compiled and checked only if its bytes changed, see
//! `plugin::rebuild` — on a blocking thread, one reload at a time.
//! Connections are never touched: stanzas in flight finish on the chain
//! they started with.
//!
//! # Layout
//! - `mod.rs`: [`Reloader`], [`Trigger`], [`ReloadReport`], SIGHUP.
//! - `watch.rs`: the `notify` watcher on the two directories.

pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Mutex, watch as channel};

use crate::config::{ConfigError, Origin, Toggle, parse_toggles, resolve_chain};
use crate::plugin::{Change, PluginHost};

/// What asked for a reload, for the logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// A component file appeared, changed or went (`--plugin-watch`).
    Watcher,
    /// The process received SIGHUP.
    Signal,
    /// An admin's XEP-0050 command, by this bare JID.
    Admin(String),
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trigger::Watcher => f.write_str("plugin directory watcher"),
            Trigger::Signal => f.write_str("SIGHUP"),
            Trigger::Admin(jid) => write!(f, "ad-hoc command by {jid}"),
        }
    }
}

/// What one reload did.
#[derive(Clone, Debug)]
pub struct ReloadReport {
    /// Who asked.
    pub trigger: Trigger,
    /// One entry per custom AMP condition file, old or new.
    pub conditions: Vec<Change>,
    /// One entry per plugin of the old and the new chain.
    pub plugins: Vec<Change>,
    /// Whether the new chain serves; false when a plugin it needs has no
    /// version that passed the checks (then the old chain serves on).
    pub published: bool,
    /// The chain serving now, as `id version`, in order.
    pub chain: Vec<String>,
}

impl ReloadReport {
    /// Every component refused by this reload.
    pub fn rejections(&self) -> impl Iterator<Item = &Change> {
        self.conditions.iter().chain(&self.plugins).filter(|c| c.is_rejection())
    }

    /// Whether what serves changed.
    pub fn changed_anything(&self) -> bool {
        self.published && self.conditions.iter().chain(&self.plugins).any(Change::is_update)
    }
}

impl std::fmt::Display for ReloadReport {
    /// One line per component, then the chain: the note an admin reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for change in &self.conditions {
            writeln!(f, "AMP condition {change}")?;
        }
        for change in &self.plugins {
            writeln!(f, "plugin {change}")?;
        }
        if !self.published {
            writeln!(f, "the chain is unchanged: a plugin it needs could not be loaded")?;
        }
        write!(f, "chain: {}", if self.chain.is_empty() { "(empty)".to_owned() } else { self.chain.join(", ") })
    }
}

/// Rebuilds the plugin chain and the custom AMP conditions on request.
pub struct Reloader {
    plugins: Arc<PluginHost>,
    plugin_dir: PathBuf,
    conditions_dir: PathBuf,
    default_chain: Vec<String>,
    /// The `--sm-plugins` toggles in force. Held for a whole reload, which
    /// makes reloads take turns.
    toggles: Mutex<Vec<Toggle>>,
    reports: channel::Sender<Option<Arc<ReloadReport>>>,
}

impl Reloader {
    /// A reloader for `plugins`, which already runs the chain that
    /// `default_chain` and `toggles` give.
    pub fn new(
        plugins: Arc<PluginHost>,
        plugin_dir: PathBuf,
        conditions_dir: PathBuf,
        default_chain: &[&str],
        toggles: Vec<Toggle>,
    ) -> Reloader {
        Reloader {
            plugins,
            plugin_dir,
            conditions_dir,
            default_chain: default_chain.iter().map(|id| id.to_string()).collect(),
            toggles: Mutex::new(toggles),
            reports: channel::Sender::new(None),
        }
    }

    /// The plugin directory (`--plugin-dir`).
    pub fn plugin_dir(&self) -> &Path {
        &self.plugin_dir
    }

    /// The custom AMP conditions directory (`--amp-conditions-dir`).
    pub fn conditions_dir(&self) -> &Path {
        &self.conditions_dir
    }

    /// The `--sm-plugins` value in force, as text (`-amp,+message`).
    pub async fn sm_plugins(&self) -> String {
        let toggles = self.toggles.lock().await;
        toggles.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
    }

    /// Each finished reload's report, newest first: `None` until the
    /// first one. Tests and the test server wait on it.
    pub fn subscribe(&self) -> channel::Receiver<Option<Arc<ReloadReport>>> {
        self.reports.subscribe()
    }

    /// Reloads with the toggles in force. Fails only when they no longer
    /// resolve (a plugin they name has left the plugin directory); then
    /// nothing changes.
    pub async fn reload(&self, trigger: Trigger) -> Result<ReloadReport, ConfigError> {
        let toggles = self.toggles.lock().await;
        self.run(toggles.clone(), trigger).await
    }

    /// Parses `text` as `--sm-plugins` is parsed at start, checks it with
    /// the same rules (known ids, `amp` vs `message`/`msgoffline`), and
    /// reloads with it; the toggles are kept if the new chain serves.
    pub async fn set_sm_plugins(&self, text: &str, trigger: Trigger) -> Result<ReloadReport, ConfigError> {
        let parsed =
            parse_toggles(text).map_err(|message| ConfigError::new(&Origin::Unknown, "--sm-plugins", message))?;
        let mut toggles = self.toggles.lock().await;
        let report = self.run(parsed.clone(), trigger).await?;
        if report.published {
            *toggles = parsed;
        }
        Ok(report)
    }

    async fn run(&self, toggles: Vec<Toggle>, trigger: Trigger) -> Result<ReloadReport, ConfigError> {
        let started = Instant::now();
        let plugins = self.plugins.clone();
        let (plugin_dir, conditions_dir) = (self.plugin_dir.clone(), self.conditions_dir.clone());
        let default = self.default_chain.clone();
        let work = tokio::task::spawn_blocking(move || {
            let known = plugins.known_ids(Some(&plugin_dir));
            let default: Vec<&str> = default.iter().map(String::as_str).collect();
            let ids = resolve_chain(&default, &toggles, &|id| known.iter().any(|k| k == id))?;
            let conditions = plugins.rebuild_conditions(&conditions_dir);
            let remanifest = conditions.iter().any(Change::is_update);
            let rebuild = plugins.rebuild_chain(&ids, Some(&plugin_dir), remanifest);
            Ok((conditions, rebuild))
        });
        let (conditions, rebuild) = match work.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())) {
            Ok(done) => done,
            Err(error) => {
                tracing::warn!(%trigger, %error, "plugin reload refused; nothing changed");
                return Err(error);
            }
        };
        let chain = self.plugins.chain().plugins().iter().map(|p| format!("{} {}", p.id, p.version)).collect();
        let report =
            ReloadReport { trigger, conditions, plugins: rebuild.changes, published: rebuild.published, chain };
        let count =
            |pick: fn(&Change) -> bool| report.conditions.iter().chain(&report.plugins).filter(|c| pick(c)).count();
        tracing::info!(trigger = %report.trigger, updated = count(Change::is_update), rejected = count(Change::is_rejection),
            published = report.published, chain = %report.chain.join(" → "), ms = started.elapsed().as_millis() as u64,
            "plugins reloaded");
        self.reports.send_replace(Some(Arc::new(report.clone())));
        Ok(report)
    }
}

/// Reloads on every SIGHUP, the Unix way of asking a daemon to re-read its
/// files. Called by the `wasmpp` binary, not by [`crate::server::start`]:
/// a process embedding the server (the tests) keeps its own signals.
#[cfg(unix)]
pub fn on_hangup(reloader: Arc<Reloader>) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            // A refused reload is logged by `run`; the server goes on.
            let _ = reloader.reload(Trigger::Signal).await;
        }
    }))
}

#[cfg(test)]
mod tests;
