//! Custom XEP-0079 conditions: `amp-condition` components (`wit/worlds.wit`)
//! loaded from a directory and served to the `amp` plugin through the
//! [`AmpConditions`] trait (the `amp-conditions` import).
//!
//! A condition is user code, so it runs in the same sandbox as a plugin:
//! the process's one engine, an epoch deadline measured in CPU time, the
//! per-instance memory cap, and a few warm instances per condition. It
//! imports only `log` (plus the empty WASI that Rust std's panic path
//! links, WASM-NOTES gotcha 5): no stanza, no sessions, no clock.
//!
//! **Architecture Invariant:** a faulting condition never faults the
//! message. A trap, deadline or memory fault in `validate` or `evaluate`
//! answers "invalid" or "not met", is logged with the condition's name, and
//! the instance is discarded.
//!
//! This file holds the second `bindgen!` of the host. It maps the shared
//! `types` and `log` interfaces onto the `sm-plugin` bindings, so
//! [`MessageInfo`] and [`Disposition`] cross from one world to the other
//! without conversion.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::cache::{CodeCache, Source};
use super::engine::Runtime;
use super::limits::MemoryCap;
use super::metrics::{Entry, ErrorKind, FaultKind, PluginCounters, PluginMetrics};
use super::{
    AmpConditions, ConditionInfo, Disposition, MessageInfo, PluginError, PluginHost, WIT_PACKAGE, WIT_VERSION, stdio,
};

wasmtime::component::bindgen!({
    world: "amp-condition",
    path: "../wit",
    imports: { default: trappable },
    with: {
        "xmpp:sm/types": super::bindings::xmpp::sm::types,
        "xmpp:sm/log": super::bindings::xmpp::sm::log,
    },
});

/// The names XEP-0079 §3.3 defines; a custom condition may not take them.
const DEFINED: &[&str] = &["deliver", "expire-at", "match-resource"];

/// The custom conditions loaded from one directory, immutable: a reload
/// builds a new set and [`PluginHost::load_conditions`] publishes it into
/// `PluginEnv::conditions`, so calls in flight finish on the set they
/// started with and a failed reload leaves the current set in place.
/// A condition whose file did not change is shared with the new set
/// (`rebuild.rs`), warm instances and all.
#[derive(Clone, Default)]
pub(super) struct Conditions {
    pub(super) loaded: Vec<Arc<Loaded>>,
}

/// One loaded condition, its warm instances and its counters.
pub(super) struct Loaded {
    pub(super) info: ConditionInfo,
    pub(super) file: PathBuf,
    /// SHA-256 of the component bytes.
    pub(super) digest: [u8; 32],
    pre: AmpConditionPre<Sandbox>,
    runtime: Arc<Runtime>,
    idle: Mutex<Vec<Warm>>,
    counters: Arc<PluginCounters>,
}

/// One ready instance.
struct Warm {
    store: Store<Sandbox>,
    bindings: AmpCondition,
}

/// What a condition's `Store` carries.
pub(super) struct Sandbox {
    table: ResourceTable,
    /// Empty: no files, sockets, environment or stdio.
    wasi: WasiCtx,
    memory: MemoryCap,
    /// The condition's name once declared (the file name before).
    name: Arc<str>,
    /// Its counters once declared (for error reports through `log`).
    counters: Option<Arc<PluginCounters>>,
    /// The current call's CPU budget (read only past its deadline).
    budget: super::cpu::CallBudget,
}

impl Conditions {
    /// Compiles every `*.wasm` file in `dir` as an `amp-condition`
    /// component, asks each for its declaration and keeps one warm
    /// instance of it. A missing directory means no conditions; the first
    /// bad file is an error naming it.
    pub(super) fn load(
        runtime: &Arc<Runtime>,
        cache: &CodeCache,
        metrics: &PluginMetrics,
        dir: &Path,
    ) -> Result<Conditions, PluginError> {
        let linker = linker(runtime)?;
        let mut loaded: Vec<Arc<Loaded>> = Vec::new();
        for file in component_files(dir)? {
            let bytes = read(&file)?;
            let condition = load_one(runtime, cache, metrics, &linker, &file, &bytes)?;
            check_name(&condition.info.name, &loaded).map_err(|reason| PluginError::Condition { file, reason })?;
            loaded.push(Arc::new(condition));
        }
        Ok(Conditions { loaded })
    }

    /// Checks out an instance of `name`, runs `call` on it under the
    /// deadline, and checks it back in; `None` if the condition is unknown
    /// or faulted (then the instance is dropped and the fault logged).
    /// The call, its time and its fault are counted.
    fn with_instance<R>(
        &self,
        name: &str,
        entry: Entry,
        call: impl FnOnce(&AmpCondition, &mut Store<Sandbox>) -> wasmtime::Result<R>,
    ) -> Option<R> {
        let loaded = self.loaded.iter().find(|c| c.info.name == name)?;
        let started = Instant::now();
        let (kind, error) = match loaded.checkout() {
            Ok(mut warm) => {
                warm.store.data_mut().start_call();
                warm.store.set_epoch_deadline(loaded.runtime.deadline_ticks);
                match call(&warm.bindings, &mut warm.store) {
                    Ok(answer) => {
                        loaded.checkin(warm);
                        loaded.counters.call(entry, started.elapsed());
                        return Some(answer);
                    }
                    // `warm` is dropped here: a trapped instance refuses re-entry.
                    Err(e) => describe(&e, warm.store.data()),
                }
            }
            Err(e) => (FaultKind::Instantiate, format!("cannot start an instance: {e:#}")),
        };
        loaded.counters.call(entry, started.elapsed());
        loaded.counters.fault(kind);
        let counted_as = if entry == Entry::Validate { "invalid" } else { "not met" };
        tracing::error!(condition = name, file = %loaded.file.display(), call = entry.as_str(), %error,
            "AMP condition faulted; counted as {counted_as}");
        None
    }
}

impl AmpConditions for Conditions {
    fn list(&self) -> Vec<ConditionInfo> {
        self.loaded.iter().map(|c| c.info.clone()).collect()
    }

    fn validate(&self, name: &str, value: &str) -> bool {
        self.with_instance(name, Entry::Validate, |b, store| b.xmpp_sm_condition().call_validate(store, value))
            .unwrap_or(false)
    }

    fn evaluate(&self, name: &str, value: &str, message: &MessageInfo, disposition: &Disposition) -> bool {
        self.with_instance(name, Entry::Evaluate, |b, store| {
            b.xmpp_sm_condition().call_evaluate(store, value, message, disposition)
        })
        .unwrap_or(false)
    }
}

impl PluginHost {
    /// Loads every `*.wasm` file in `dir` (the `amp-conditions-dir`) as a
    /// custom AMP condition and publishes the set to the plugins
    /// (`PluginEnv::conditions`); returns their declarations. A missing
    /// directory means no conditions. On any error the current set stays
    /// and the error names the file.
    ///
    /// Call it before [`PluginHost::load_chain`]: the `amp` plugin lists
    /// the conditions in its manifest, which is read when the chain loads.
    /// Compiling is slow (tens of ms per component): keep it off the hot path.
    pub fn load_conditions(&self, dir: &Path) -> Result<Vec<ConditionInfo>, PluginError> {
        let conditions = Conditions::load(&self.runtime, &self.cache, &self.env.metrics, dir)?;
        let declared = conditions.list();
        self.publish_conditions(conditions);
        Ok(declared)
    }

    /// Makes `conditions` the set plugins see, and the one the next
    /// rebuild starts from.
    pub(super) fn publish_conditions(&self, conditions: Conditions) {
        *self.conditions.lock().unwrap_or_else(PoisonError::into_inner) = conditions.clone();
        self.env.conditions.store(Arc::new(Box::new(conditions)));
    }
}

/// The linker every condition is instantiated through.
pub(super) fn linker(runtime: &Runtime) -> Result<Linker<Sandbox>, PluginError> {
    let engine_err = |e: wasmtime::Error| PluginError::Engine(format!("{e:#}"));
    let mut linker = Linker::new(&runtime.engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_err)?;
    stdio::shadow_blocking_calls(&mut linker).map_err(engine_err)?;
    AmpCondition::add_to_linker::<Sandbox, HasSelf<Sandbox>>(&mut linker, |s| s).map_err(engine_err)?;
    Ok(linker)
}

/// A condition component's bytes.
pub(super) fn read(file: &Path) -> Result<Vec<u8>, PluginError> {
    std::fs::read(file)
        .map_err(|e| PluginError::Condition { file: file.to_owned(), reason: format!("cannot read: {e}") })
}

/// The `*.wasm` files of `dir`, sorted so load order (and duplicate
/// reports) do not depend on the file system.
pub(super) fn component_files(dir: &Path) -> Result<Vec<PathBuf>, PluginError> {
    let list_err = |e: std::io::Error| PluginError::Condition {
        file: dir.to_owned(),
        reason: format!("cannot list the conditions directory: {e}"),
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(list_err(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(list_err)?.path();
        if path.extension().is_some_and(|ext| ext == "wasm") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Compiles (or takes from the code cache), links and trial-instantiates
/// one component (`bytes`, read from `file`), and asks it what it is; the
/// warm instance is kept.
pub(super) fn load_one(
    runtime: &Arc<Runtime>,
    cache: &CodeCache,
    metrics: &PluginMetrics,
    linker: &Linker<Sandbox>,
    file: &Path,
    bytes: &[u8],
) -> Result<Loaded, PluginError> {
    let fail = |reason: String| PluginError::Condition { file: file.to_owned(), reason };
    let obtained = cache.component(&runtime.engine, bytes).map_err(|e| fail(format!("cannot compile: {e:#}")))?;
    super::manifest::api_version(&obtained.component, &runtime.engine).map_err(|found| {
        fail(format!("built for {WIT_PACKAGE}@{found}, this server provides {WIT_PACKAGE}@{WIT_VERSION}"))
    })?;
    let link_err =
        |e: wasmtime::Error| fail(format!("does not implement {WIT_PACKAGE}/amp-condition@{WIT_VERSION}: {e:#}"));
    let pre = linker.instantiate_pre(&obtained.component).map_err(link_err)?;
    let pre = AmpConditionPre::new(pre).map_err(link_err)?;

    let label: Arc<str> = file.file_name().map_or_else(|| "?".into(), |n| n.to_string_lossy().into());
    let mut warm = instantiate(&pre, runtime, label).map_err(|e| fail(format!("cannot start: {e:#}")))?;
    warm.store.data_mut().start_call();
    let info = match warm.bindings.xmpp_sm_condition().call_declare(&mut warm.store) {
        Ok(info) => info,
        Err(e) => return Err(fail(format!("declare() failed: {}", describe(&e, warm.store.data()).1))),
    };
    let counters = metrics.condition(&info.name);
    warm.store.data_mut().name = info.name.as_str().into();
    warm.store.data_mut().counters = Some(counters.clone());
    let (cache, ms) = (if obtained.source == Source::Hit { "hit" } else { "miss" }, obtained.took.as_millis() as u64);
    tracing::info!(condition = %info.name, file = %file.display(), presence_safe = info.presence_safe,
        per_hop = info.per_hop, cache, ms, "AMP condition loaded");
    let loaded = Loaded {
        info,
        file: file.to_owned(),
        digest: super::rebuild::digest(bytes),
        pre,
        runtime: runtime.clone(),
        idle: Mutex::new(Vec::with_capacity(runtime.pool_size)),
        counters,
    };
    loaded.checkin(warm);
    Ok(loaded)
}

/// Why `name` cannot be a custom condition's name, if it cannot: it must
/// be an NCName (the schema's type for `condition`, XEP-0079 §12), not a
/// defined condition, and not taken by an earlier file.
pub(super) fn check_name(name: &str, earlier: &[Arc<Loaded>]) -> Result<(), String> {
    if !is_ncname(name) {
        return Err(format!("declares the name {name:?}, which is not an XML NCName"));
    }
    if DEFINED.contains(&name) {
        return Err(format!("declares the name {name:?}, a condition XEP-0079 defines"));
    }
    if let Some(other) = earlier.iter().find(|c| c.info.name == name) {
        return Err(format!("declares the name {name:?}, already declared by {}", other.file.display()));
    }
    Ok(())
}

/// XML Namespaces §3 NCName: a name without a colon. Letters (any script)
/// and `_` may start it; digits, `-`, `.` and combining marks may follow.
/// Approximated with Unicode's alphabetic/alphanumeric classes.
fn is_ncname(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else { return false };
    (first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '\u{B7}' | '\u{300}'..='\u{36F}'))
}

impl Loaded {
    /// An idle warm instance, else a fresh one (tens of µs).
    fn checkout(&self) -> wasmtime::Result<Warm> {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        match idle {
            Some(warm) => Ok(warm),
            None => {
                let mut warm = instantiate(&self.pre, &self.runtime, self.info.name.as_str().into())?;
                warm.store.data_mut().counters = Some(self.counters.clone());
                Ok(warm)
            }
        }
    }

    /// Returns a healthy instance; beyond the pool size it is dropped.
    fn checkin(&self, warm: Warm) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.runtime.pool_size {
            idle.push(warm);
        }
    }

    #[cfg(test)]
    fn idle_len(&self) -> usize {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// Builds a fresh instance with the memory cap and the CPU-time deadline
/// (see `pool.rs`: a preempted call gets another tick, a spinning one traps).
fn instantiate(pre: &AmpConditionPre<Sandbox>, runtime: &Runtime, name: Arc<str>) -> wasmtime::Result<Warm> {
    let sandbox = Sandbox {
        table: ResourceTable::new(),
        wasi: WasiCtx::builder().build(),
        memory: MemoryCap::new(runtime.memory_bytes),
        name,
        counters: None,
        budget: super::cpu::CallBudget::default(),
    };
    let mut store = Store::new(&runtime.engine, sandbox);
    store.limiter(|s| &mut s.memory);
    store.set_epoch_deadline(runtime.deadline_ticks);
    let budget = runtime.deadline;
    store.epoch_deadline_callback(move |mut ctx| {
        if ctx.data_mut().budget.spent(budget) {
            Err(wasmtime::Trap::Interrupt.into())
        } else {
            Ok(UpdateDeadline::Continue(1))
        }
    });
    let bindings = pre.instantiate(&mut store)?;
    Ok(Warm { store, bindings })
}

/// Names a fault in one line: deadline, memory limit or another trap.
fn describe(e: &wasmtime::Error, sandbox: &Sandbox) -> (FaultKind, String) {
    tracing::debug!(condition = %sandbox.name, error = ?e, "AMP condition call failed");
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => (FaultKind::Deadline, "deadline exceeded (epoch interrupt)".to_owned()),
        Some(trap) if sandbox.memory.refused => {
            (FaultKind::Memory, format!("memory limit reached ({} bytes): {trap}", sandbox.memory.limit()))
        }
        Some(trap) => (FaultKind::Trap, format!("trap: {trap}")),
        None => (FaultKind::Trap, e.root_cause().to_string()),
    }
}

impl Sandbox {
    /// Starts a call: a fresh CPU budget and memory-refusal record.
    fn start_call(&mut self) {
        self.memory.refused = false;
        self.budget.start();
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl stdio::GuestName for Sandbox {
    fn guest_name(&self) -> &str {
        &self.name
    }
}

impl super::bindings::xmpp::sm::types::Host for Sandbox {}

impl super::bindings::xmpp::sm::log::Host for Sandbox {
    fn log(&mut self, level: super::bindings::xmpp::sm::log::Level, message: String) -> wasmtime::Result<()> {
        use super::bindings::xmpp::sm::log::Level;
        let condition = &*self.name;
        match level {
            Level::Trace => tracing::trace!(condition, "{message}"),
            Level::Debug => tracing::debug!(condition, "{message}"),
            Level::Info => tracing::info!(condition, "{message}"),
            Level::Warn => tracing::warn!(condition, "{message}"),
            Level::Error => {
                if let Some(counters) = &self.counters {
                    counters.error(ErrorKind::Logged);
                }
                tracing::error!(condition, "{message}")
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "condition_tests.rs"]
mod tests;
