//! Warm instances of one plugin (WASM-NOTES §2, §5): a small stack of ready
//! `Store`s, checked out for one call and checked back in.
//!
//! Instances are not tied to connections: any worker can use any instance,
//! so memory stays proportional to workers, not to users. A faulted
//! instance is never checked back in; the next checkout builds a fresh one
//! from the pre-linked `SmPluginPre`.

use std::sync::{Arc, Mutex, PoisonError};

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
        self.store.data_mut().start_clock();
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
    idle: Mutex<Vec<Warm>>,
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
        let idle = Mutex::new(Vec::with_capacity(budget.pool_size));
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
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        match idle {
            Some(warm) => Ok(warm),
            None => self.instantiate(),
        }
    }

    /// Returns a healthy instance; beyond the pool size it is dropped.
    pub(super) fn checkin(&self, warm: Warm) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.budget.pool_size {
            idle.push(warm);
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
        // When the wall-clock deadline passes, stop the guest only if it
        // really used its CPU budget; a preempted call gets another tick.
        let budget = self.budget.deadline;
        store.epoch_deadline_callback(move |ctx| {
            if ctx.data().cpu_used() < budget {
                Ok(UpdateDeadline::Continue(1))
            } else {
                Err(wasmtime::Trap::Interrupt.into())
            }
        });
        let bindings = self.pre.instantiate(&mut store)?;
        Ok(Warm { store, bindings, slot })
    }

    #[cfg(test)]
    pub(super) fn idle_len(&self) -> usize {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}
