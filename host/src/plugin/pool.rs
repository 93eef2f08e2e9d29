//! Warm instances of one plugin (WASM-NOTES §2, §5): a few ready `Store`s,
//! checked out for one call and checked back in.
//!
//! Instances are not tied to connections: any worker can use any instance,
//! so memory stays proportional to workers, not to users. A faulted
//! instance is never checked back in; the next checkout builds a fresh one
//! from the pre-linked `SmPluginPre`.
//!
//! Each idle instance sits in a slot of its own, and a worker thread tries
//! "its" slot first: an instance keeps serving the same thread, so its
//! linear memory stays in that core's cache, and two workers do not fight
//! over one lock's cache line for every stanza (one `Mutex<Vec<_>>` cost
//! about 2 % of the server's CPU in checkout and checkin under chat load).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use wasmtime::component::Resource;
use wasmtime::{Store, UpdateDeadline};

use super::bindings::{SmPlugin, SmPluginPre, wit};
use super::capability::{Capabilities, Denials};
use super::engine::Runtime;
use super::host_api::{StanzaSlot, State};
use super::limits::Budget;
use super::metrics::FaultKind;
use super::{PluginEnv, StanzaContext};
use crate::xml::Element;
use crate::xmpp::Stanza;

/// The call's last `child-copy` answer and the element it serialises.
pub(super) type Prebuilt = Option<(String, Element)>;

/// One ready instance with its store and its reserved stanza slot.
pub(super) struct Warm {
    store: Store<State>,
    bindings: SmPlugin,
    slot: Resource<StanzaSlot>,
}

/// How a call went wrong; the instance that produced it is discarded.
pub(super) struct Fault {
    pub(super) kind: FaultKind,
    pub(super) error: String,
}

impl Warm {
    /// Replaces what this instance's gated imports answer for.
    pub(super) fn set_grant(&mut self, granted: Capabilities) {
        self.store.data_mut().set_grant(granted);
    }

    /// The plugin's manifest; called once when the plugin is loaded.
    pub(super) fn manifest(&mut self, deadline_ticks: u64) -> Result<wit::Manifest, Fault> {
        self.store.data_mut().budget.start();
        self.store.set_epoch_deadline(deadline_ticks);
        let result = self.bindings.xmpp_sm_plugin().call_manifest(&mut self.store);
        result.map_err(|e| self.fault(e))
    }

    /// Lends `stanza` to the guest's `process` and always returns it.
    pub(super) fn process(
        &mut self,
        stanza: Stanza,
        ctx: &StanzaContext,
        deadline_ticks: u64,
    ) -> (Stanza, Result<(wit::Verdict, Prebuilt), Fault>) {
        let (stanza, verdict) =
            self.lend(stanza, ctx, deadline_ticks, |b, store, s| b.xmpp_sm_plugin().call_process(store, s));
        // The element behind the call's last `child-copy`, for its verdict.
        (stanza, verdict.map(|v| (v, self.store.data_mut().take_copy())))
    }

    /// Lends a stored message to the guest's `recheck` (its expiry came).
    pub(super) fn recheck(
        &mut self,
        stanza: Stanza,
        ctx: &StanzaContext,
        deadline_ticks: u64,
    ) -> (Stanza, Result<wit::Recheck, Fault>) {
        self.lend(stanza, ctx, deadline_ticks, |b, store, s| b.xmpp_sm_plugin().call_recheck(store, s))
    }

    /// Puts `stanza` in the slot for one export call and takes it back
    /// whatever the call did: the store's data stays reachable after a
    /// trap, and the slot is only emptied here.
    fn lend<T>(
        &mut self,
        stanza: Stanza,
        ctx: &StanzaContext,
        deadline_ticks: u64,
        call: impl FnOnce(&SmPlugin, &mut Store<State>, Resource<StanzaSlot>) -> wasmtime::Result<T>,
    ) -> (Stanza, Result<T, Fault>) {
        let data = self.store.data_mut();
        match data.slot_mut(&self.slot) {
            Ok(entry) => *entry = Some(stanza),
            Err(e) => return (stanza, Err(self.fault(e))),
        }
        data.enter(ctx);
        self.store.set_epoch_deadline(deadline_ticks);
        let result = call(&self.bindings, &mut self.store, Resource::new_borrow(self.slot.rep()));
        let Some(stanza) = self.store.data_mut().take_back(&self.slot) else {
            unreachable!("the stanza slot was filled above and is emptied only by take_back()")
        };
        (stanza, result.map_err(|e| self.fault(e)))
    }

    /// Names the fault in one line (deadline, memory limit or another trap);
    /// the full error with its wasm backtrace goes to the debug log.
    fn fault(&self, e: wasmtime::Error) -> Fault {
        let state = self.store.data();
        tracing::debug!(plugin = %state.plugin(), error = ?e, "plugin call failed");
        let (kind, error) = match e.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => (FaultKind::Deadline, "deadline exceeded (epoch interrupt)".to_owned()),
            Some(trap) if state.memory.refused => {
                (FaultKind::Memory, format!("memory limit reached ({} bytes): {trap}", state.memory.limit()))
            }
            Some(trap) => (FaultKind::Trap, format!("trap: {trap}")),
            // A host import failed (a trappable import's error): the guest
            // stopped as if it had trapped.
            None => (FaultKind::Trap, e.root_cause().to_string()),
        };
        Fault { kind, error }
    }
}

/// The warm instances of one plugin, all under its [`Budget`] and grant.
pub(super) struct Pool {
    pre: SmPluginPre<State>,
    runtime: Arc<Runtime>,
    plugin: Arc<str>,
    env: Arc<PluginEnv>,
    budget: Budget,
    granted: Capabilities,
    denials: Arc<Denials>,
    /// `pool_size` slots; see the module docs.
    idle: Box<[Slot]>,
}

/// One idle instance's place, on a cache line of its own.
#[repr(align(128))]
#[derive(Default)]
struct Slot(Mutex<Option<Warm>>);

impl Slot {
    /// The instance here, unless the slot is empty or busy.
    fn take(&self) -> Option<Warm> {
        self.0.try_lock().ok().and_then(|mut w| w.take())
    }

    /// Puts `warm` here if the slot is free; gives it back otherwise.
    fn put(&self, warm: Warm) -> Option<Warm> {
        match self.0.try_lock() {
            Ok(mut w) if w.is_none() => {
                *w = Some(warm);
                None
            }
            _ => Some(warm),
        }
    }
}

/// This thread's preferred slot index (before the modulo).
fn home() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static HOME: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    HOME.with(|h| *h)
}

/// The slot indices starting at this thread's own.
fn slots_from_home(n: usize) -> impl Iterator<Item = usize> {
    let start = home() % n.max(1);
    (0..n).map(move |i| (start + i) % n)
}

impl Pool {
    /// `granted` is what instances built now may use: the load-time grant
    /// until [`Pool::set_grant`] replaces it once the manifest is read.
    pub(super) fn new(
        pre: SmPluginPre<State>,
        runtime: Arc<Runtime>,
        plugin: &str,
        env: Arc<PluginEnv>,
        budget: Budget,
        granted: Capabilities,
    ) -> Self {
        let idle = (0..budget.pool_size).map(|_| Slot::default()).collect();
        let denials = Arc::default();
        Pool { pre, runtime, plugin: plugin.into(), env, budget, granted, denials, idle }
    }

    /// What instances built from now on may use; call before the pool is
    /// shared (the idle instances are the caller's to update).
    pub(super) fn set_grant(&mut self, granted: Capabilities) {
        self.granted = granted;
    }

    /// The refusals of this plugin's instances.
    pub(super) fn denials(&self) -> &Arc<Denials> {
        &self.denials
    }

    /// This plugin's limits.
    #[cfg(test)]
    pub(super) fn budget(&self) -> &Budget {
        &self.budget
    }

    pub(super) fn deadline_ticks(&self) -> u64 {
        self.budget.deadline_ticks
    }

    /// A warm instance if one is idle, else a fresh one (~30-40 µs).
    pub(super) fn checkout(&self) -> wasmtime::Result<Warm> {
        match slots_from_home(self.idle.len()).find_map(|i| self.idle[i].take()) {
            Some(warm) => Ok(warm),
            None => self.instantiate(),
        }
    }

    /// Returns a healthy instance; with every slot taken it is dropped.
    pub(super) fn checkin(&self, mut warm: Warm) {
        for i in slots_from_home(self.idle.len()) {
            match self.idle[i].put(warm) {
                None => return,
                Some(back) => warm = back,
            }
        }
    }

    /// Builds a fresh instance from the pre-linked component.
    pub(super) fn instantiate(&self) -> wasmtime::Result<Warm> {
        let mut state = State::new(
            self.plugin.clone(),
            self.budget.memory_bytes,
            self.env.clone(),
            self.granted,
            self.denials.clone(),
        );
        let slot = state.reserve_slot()?;
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(self.budget.deadline_ticks);
        // When the wall-clock deadline passes, stop the guest only once it
        // really used its CPU budget (`cpu::CallBudget`); a preempted call
        // gets another tick.
        let budget = self.budget.deadline;
        store.epoch_deadline_callback(move |mut ctx| {
            if ctx.data_mut().budget.spent(budget) {
                Err(wasmtime::Trap::Interrupt.into())
            } else {
                Ok(UpdateDeadline::Continue(1))
            }
        });
        let bindings = self.pre.instantiate(&mut store)?;
        Ok(Warm { store, bindings, slot })
    }

    #[cfg(test)]
    pub(super) fn idle_len(&self) -> usize {
        self.idle.iter().filter(|s| s.0.lock().is_ok_and(|w| w.is_some())).count()
    }
}
