//! Session-manager plugins as WebAssembly components (`wit/`, package
//! `xmpp:sm@0.2.1`): loading, sandboxing and running the plugin chain that
//! decides RFC 6121 §8.5 delivery and friends.
//!
//! # Layout
//! - `context.rs`: what plugins see besides the stanza ([`StanzaContext`],
//!   [`SessionView`], [`AmpConditions`]) and the shared [`PluginEnv`].
//! - `error.rs`: [`PluginError`], why a component could not be loaded.
//! - `engine.rs`: the one `Engine` (pooling allocator, epoch ticker).
//! - `limits.rs`: server-wide [`Limits`], per-plugin [`PluginPolicy`], memory cap.
//! - `bindings.rs`: the one `bindgen!` site and WIT ↔ `crate::xmpp` conversions.
//! - `manifest.rs`: the contract-version and manifest checks at load.
//! - `capability.rs`: [`Capability`] sets, the grant, and [`Denials`].
//! - `host_api.rs`: per-store state and the imports plugins may call.
//! - `views.rs`: element views and serialisation handed to guests.
//! - `pool.rs`: warm instances per plugin, checkout/checkin, fault naming.
//! - `chain.rs`: the immutable [`PluginChain`] and its [`ChainOutcome`]s.
//! - `builtin.rs`: embedded plugins and [`GUEST_DIR`].
//! - `cache.rs`: the compiled-code cache ([`CodeCache`], `--plugin-cache`).
//! - `metrics.rs`: per-plugin counters ([`PluginMetrics`]), kept across reloads.
//! - `condition.rs`: custom XEP-0079 conditions (`amp-condition`
//!   components) behind [`AmpConditions`]; the second `bindgen!` site.
//! - `check.rs`: `wasmpp plugin check FILE`, the load path on one file.
//! - `rebuild.rs`: hot reload — a new chain or condition set from what is
//!   on disk now, reusing every component whose bytes did not change.
//!
//! **Architecture Invariant:** plugins never touch sockets, files or the
//! database, and read no clock but the host's (`server.now-ms`, which tests
//! move). They see one borrowed stanza, a read-only session view, answers
//! the host resolved beforehand and their own settings, and return effects
//! the host performs.
//!
//! **Architecture Invariant:** a plugin uses nothing beyond its stanza, the
//! log and the clock unless its manifest declares the capability and the
//! operator allows it. Gated imports answer `denied`; a verdict with an
//! ungranted effect is refused and the stanza goes on as if it had passed.
//!
//! **Architecture Invariant:** a stanza is never lost to a plugin. It is lent
//! for one call and comes back in every [`ChainOutcome`] but `Dropped`,
//! including after a trap, deadline or memory fault (`Faulted`).
//!
//! **Architecture Invariant:** instances are not per connection. A few warm
//! instances per plugin serve every session; a faulted one is discarded and
//! rebuilt from the pre-linked component, so one bad stanza hurts no one else.

mod bindings;
mod builtin;
mod cache;
mod capability;
#[cfg(test)]
mod capability_tests;
mod chain;
mod check;
mod condition;
mod context;
mod cpu;
mod engine;
mod error;
mod host_api;
mod limits;
mod manifest;
pub mod metrics;
mod pool;
mod rebuild;
mod stdio;
#[cfg(test)]
mod tests;
mod views;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use wasmtime::component::{HasSelf, Linker};

pub use bindings::{WIT_PACKAGE, WIT_VERSION};
pub use builtin::GUEST_DIR;
pub use cache::{CacheStats, CodeCache};
pub use capability::{Capabilities, Capability, Denials};
pub use chain::{ChainOutcome, Effect, Fate, PluginChain, PluginInfo, Recheck, replace_child};
pub use check::CheckReport;
pub use context::{
    AmpConditions, ConditionInfo, DeliverValue, Disposition, MessageInfo, NoConditions, PluginEnv, ResourceInfo,
    SessionView, StanzaContext,
};
pub use error::PluginError;
pub use limits::{Limits, PluginPolicy};
pub use metrics::PluginMetrics;
pub use rebuild::{Change, Rebuild};

use bindings::{SmPlugin, SmPluginPre};
use builtin::Origin;
use chain::Loaded;
use engine::Runtime;
use host_api::State;
use pool::Pool;

/// Owns the engine and the current chain; shared by every session.
pub struct PluginHost {
    runtime: Arc<Runtime>,
    linker: Linker<State>,
    chain: ArcSwap<PluginChain>,
    env: Arc<PluginEnv>,
    /// The condition set last loaded here (`env.conditions` holds it as a
    /// trait object), for a reload to start from.
    conditions: std::sync::Mutex<condition::Conditions>,
    cache: CodeCache,
}

impl PluginHost {
    /// Sets up the engine (with its epoch ticker) and an empty chain.
    pub fn new(limits: Limits) -> Result<PluginHost, PluginError> {
        Self::with_env(limits, PluginEnv::default())
    }

    /// [`PluginHost::new`] with the clock, settings and conditions plugins see.
    pub fn with_env(limits: Limits, env: PluginEnv) -> Result<PluginHost, PluginError> {
        let engine_err = |e: wasmtime::Error| PluginError::Engine(format!("{e:#}"));
        let runtime = Runtime::new(&limits, env.policies.values().filter_map(|p| p.pool_size)).map_err(engine_err)?;
        let mut linker = Linker::new(&runtime.engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_err)?;
        stdio::shadow_blocking_calls(&mut linker).map_err(engine_err)?;
        SmPlugin::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s).map_err(engine_err)?;
        let chain = ArcSwap::from_pointee(PluginChain::new(Vec::new()));
        let conditions = Default::default();
        Ok(PluginHost {
            runtime: Arc::new(runtime),
            linker,
            chain,
            env: Arc::new(env),
            conditions,
            cache: CodeCache::off(),
        })
    }

    /// Keeps compiled components in `cache` from now on (off by default,
    /// so tests and benches compile afresh unless they ask for it).
    pub fn with_code_cache(mut self, cache: CodeCache) -> Self {
        self.cache = cache;
        self
    }

    /// The compiled-code cache and its hit/miss counts.
    pub fn code_cache(&self) -> &CodeCache {
        &self.cache
    }

    /// Every plugin's counters (calls, time, faults, errors, verdicts).
    pub fn metrics(&self) -> &Arc<PluginMetrics> {
        &self.env.metrics
    }

    /// Loads `ids` in chain order and publishes the new chain; on any error
    /// the current chain stays in place. Each id is looked up as
    /// `<plugin_dir>/<id>.wasm` first, then among the embedded built-ins.
    /// Compiling is slow (tens of ms per plugin): call it off the hot path.
    pub fn load_chain(&self, ids: &[String], plugin_dir: Option<&Path>) -> Result<(), PluginError> {
        let mut loaded: Vec<Arc<Loaded>> = Vec::with_capacity(ids.len());
        for id in ids {
            if loaded.iter().any(|p| &p.info.id == id) {
                return Err(PluginError::Duplicate(id.clone()));
            }
            let (bytes, origin) = locate(id, plugin_dir)?;
            let source = chain::Source { file: origin.to_string(), digest: rebuild::digest(&bytes) };
            loaded.push(Arc::new(self.load(id, &bytes, origin)?.with_source(source)));
        }
        self.chain.store(Arc::new(PluginChain::new(loaded)));
        Ok(())
    }

    /// Every id `load_chain` could find: built-ins, then `*.wasm` in the dir.
    pub fn known_ids(&self, plugin_dir: Option<&Path>) -> Vec<String> {
        let mut ids: Vec<String> = builtin::ids().map(str::to_owned).collect();
        let mut found: Vec<String> = plugin_dir
            .and_then(|dir| std::fs::read_dir(dir).ok())
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                let stem = path.file_stem()?.to_str()?;
                (path.extension()? == "wasm").then(|| stem.to_owned())
            })
            .collect();
        found.sort();
        for id in found {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// The clock, settings and conditions plugins see.
    pub fn env(&self) -> &Arc<PluginEnv> {
        &self.env
    }

    /// The current chain; cheap (one atomic load), take it once per stanza.
    pub fn chain(&self) -> Arc<PluginChain> {
        self.chain.load_full()
    }

    /// Compiles, checks, links and trial-instantiates one plugin.
    fn load(&self, id: &str, bytes: &[u8], origin: Origin) -> Result<Loaded, PluginError> {
        let file = origin.to_string();
        let prepared = self.prepare(Some(id), id, bytes, &file)?;
        let info = &prepared.loaded.info;
        let ms = prepared.compiled.as_millis() as u64;
        if prepared.cached {
            tracing::info!(plugin = %info.id, version = %info.version, %file, granted = %info.granted,
                cache = "hit", load_ms = ms, "plugin loaded");
        } else {
            tracing::info!(plugin = %info.id, version = %info.version, %file, granted = %info.granted,
                cache = "miss", compile_ms = ms, "plugin loaded");
        }
        Ok(prepared.loaded)
    }

    /// The load path shared by the chain and `plugin check`: compile (or
    /// take from the code cache), check the contract version, link, apply
    /// the policy of `label`, instantiate, read and validate the manifest
    /// (against `expected` when configured under an id), grant what it
    /// declares and the policy allows.
    fn prepare(&self, expected: Option<&str>, label: &str, bytes: &[u8], file: &str) -> Result<Prepared, PluginError> {
        let (id, file) = (label.to_owned(), file.to_owned());
        let obtained = self.cache.component(&self.runtime.engine, bytes).map_err(|e| PluginError::Compile {
            id: id.clone(),
            file: file.clone(),
            detail: format!("{e:#}"),
        })?;
        let (compiled, cached) = (obtained.took, obtained.source == cache::Source::Hit);
        let component = obtained.component;
        let api = manifest::api_version(&component, &self.runtime.engine).map_err(|found| PluginError::ApiVersion {
            id: id.clone(),
            file: file.clone(),
            found,
        })?;
        let link_err =
            |e: wasmtime::Error| PluginError::Link { id: id.clone(), file: file.clone(), detail: format!("{e:#}") };
        let pre = self.linker.instantiate_pre(&component).map_err(link_err)?;
        let pre = SmPluginPre::new(pre).map_err(link_err)?;
        let policy = self.env.policies.get(label).cloned().unwrap_or_default();
        let budget = self.runtime.budget(&policy).map_err(|reason| PluginError::Limits { id: id.clone(), reason })?;
        let allowed = policy.allowed();
        let at_load = capability::at_load().intersection(allowed);
        let mut pool = Pool::new(pre, self.runtime.clone(), label, self.env.clone(), budget, at_load);
        let start_err = |detail: String| PluginError::Start { id: id.clone(), file: file.clone(), detail };
        let mut warm = pool.instantiate().map_err(|e| start_err(format!("instantiation failed: {e:#}")))?;
        let manifest = warm
            .manifest(pool.deadline_ticks())
            .map_err(|f| start_err(format!("its manifest() failed: {}", f.error)))?;
        let mut info = manifest::validate(expected, manifest).map_err(|problem| match problem {
            manifest::Problem::IdMismatch(found) => {
                PluginError::IdMismatch { id: id.clone(), file: file.clone(), found }
            }
            manifest::Problem::Invalid(reason) => {
                PluginError::InvalidManifest { id: id.clone(), file: file.clone(), reason }
            }
        })?;
        info.granted = info.capabilities.intersection(allowed);
        if info.granted != info.capabilities {
            tracing::info!(plugin = %info.id, declared = %info.capabilities, granted = %info.granted,
                "capabilities narrowed by sess-man/plugins-conf/{}/capabilities", info.id);
        }
        pool.set_grant(info.granted);
        warm.set_grant(info.granted);
        pool.checkin(warm);
        let api = api.unwrap_or_else(|| WIT_VERSION.to_owned());
        let counters = self.env.metrics.plugin(&info.id);
        Ok(Prepared { loaded: Loaded::new(info, pool, counters), api, compiled, cached })
    }
}

/// A plugin that passed every load check, with what `plugin check` reports.
struct Prepared {
    loaded: Loaded,
    /// The `xmpp:sm` version it was built for.
    api: String,
    /// How long compiling (or loading from the code cache) took.
    compiled: Duration,
    /// Whether the code cache had it compiled already.
    cached: bool,
}

/// Finds the bytes for `id`: the plugin directory first, then built-ins.
fn locate(id: &str, plugin_dir: Option<&Path>) -> Result<(std::borrow::Cow<'static, [u8]>, Origin), PluginError> {
    if !manifest::is_plain_id(id) {
        return Err(PluginError::InvalidId(id.to_owned()));
    }
    if let Some(dir) = plugin_dir {
        for path in builtin::candidates(dir, id) {
            match std::fs::read(&path) {
                Ok(bytes) => return Ok((bytes.into(), Origin::File(path))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(PluginError::Read { id: id.to_owned(), path, source }),
            }
        }
    }
    match builtin::bytes(id) {
        Some(bytes) => Ok((bytes.into(), Origin::Builtin)),
        None => Err(PluginError::NotFound {
            id: id.to_owned(),
            dir: plugin_dir.map_or_else(|| "(none)".to_owned(), |d| d.display().to_string()),
        }),
    }
}
