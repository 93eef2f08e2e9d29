//! What plugins may call (the imports of the `sm-plugin` world): read-only,
//! scoped to the stanza being processed, and gated by the plugin's granted
//! capabilities (`capability.rs`) beyond the stanza, the log and the clock.
//!
//! Per-store state lives in [`State`]; the stanza is moved into a slot of the
//! store's `ResourceTable` for one `process` call and taken back afterwards,
//! so it is never lost, even when the guest traps.

use std::sync::Arc;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::{kind_to_wit, message_type_to_wit, wit, xmpp};
use super::capability::{self, Capabilities, Capability, Denials};
use super::limits::MemoryCap;
use super::views::{child_copy, element_view, message_info, packed_attrs, plain_name, xml_char};
use super::{PluginEnv, SessionView, StanzaContext};
use crate::xml::Element;
use crate::xmpp::{Stanza, StanzaKind};

/// The table entry behind the WIT `stanza` resource: one per instance,
/// filled only while a `process` call runs.
pub struct StanzaSlot(pub(super) Option<Stanza>);

/// The answers the host resolved for the current stanza.
struct CallScope {
    sessions: Arc<dyn SessionView>,
    recipient_exists: bool,
    sender_may_see_presence: bool,
    recipient_is_remote: bool,
}

/// Everything one plugin instance's `Store` carries.
pub(super) struct State {
    table: ResourceTable,
    // Empty: std's panic path links WASI (WASM-NOTES gotcha 5), but plugins
    // get no files, sockets, environment or stdio.
    wasi: WasiCtx,
    pub(super) memory: MemoryCap,
    scope: Option<CallScope>,
    plugin: Arc<str>,
    env: Arc<PluginEnv>,
    /// What the gated imports answer for (see `capability`).
    granted: Capabilities,
    denials: Arc<Denials>,
    /// The stanza slot's table index (see `reserve_slot`).
    slot_rep: Option<u32>,
    /// The current call's CPU budget (read only past its deadline).
    pub(super) budget: super::cpu::CallBudget,
    /// The last `child-copy` answer of the current call and the element it
    /// serialises, so `replace-child` with that string needs no parse.
    copy: Option<(String, Element)>,
}

impl State {
    pub(super) fn new(
        plugin: Arc<str>,
        memory_bytes: usize,
        env: Arc<PluginEnv>,
        granted: Capabilities,
        denials: Arc<Denials>,
    ) -> Self {
        State {
            table: ResourceTable::new(),
            wasi: WasiCtx::builder().build(),
            memory: MemoryCap::new(memory_bytes),
            scope: None,
            plugin,
            env,
            granted,
            denials,
            slot_rep: None,
            budget: super::cpu::CallBudget::default(),
            copy: None,
        }
    }

    /// Replaces the grant: once the manifest is read, the load-time grant
    /// gives way to what the plugin declared and the operator allows.
    pub(super) fn set_grant(&mut self, granted: Capabilities) {
        self.granted = granted;
    }

    /// Runs a gated import: `answer` if `capability` is granted, else the
    /// `denied` error the plugin sees (counted and logged).
    fn gated<T>(
        &mut self,
        capability: Capability,
        import: &str,
        answer: impl FnOnce(&mut Self) -> wasmtime::Result<T>,
    ) -> wasmtime::Result<Result<T, wit::Denied>> {
        if self.granted.contains(capability) {
            return answer(self).map(Ok);
        }
        self.denials.call(&self.plugin, capability, import);
        Ok(Err(wit::Denied { capability: capability::to_wit(capability) }))
    }

    /// Reserves the stanza slot; the handle is reused for every call.
    pub(super) fn reserve_slot(&mut self) -> wasmtime::Result<Resource<StanzaSlot>> {
        let slot = self.table.push(StanzaSlot(None))?;
        self.slot_rep = Some(slot.rep());
        Ok(slot)
    }

    /// The stanza of the current call, for imports that take no handle.
    fn current(&self) -> Option<&Stanza> {
        let handle = Resource::<StanzaSlot>::new_borrow(self.slot_rep?);
        self.table.get(&handle).ok()?.0.as_ref()
    }

    /// The slot a stanza is lent through; filled by the caller for one call.
    pub(super) fn slot_mut(&mut self, slot: &Resource<StanzaSlot>) -> wasmtime::Result<&mut Option<Stanza>> {
        Ok(&mut self.table.get_mut(slot)?.0)
    }

    /// Scopes the session view and the recipient answer to the coming call.
    pub(super) fn enter(&mut self, ctx: &StanzaContext) {
        self.scope = Some(CallScope {
            sessions: ctx.sessions.clone(),
            recipient_exists: ctx.recipient_exists,
            sender_may_see_presence: ctx.sender_may_see_presence,
            recipient_is_remote: ctx.recipient_is_remote,
        });
        self.memory.refused = false;
        self.copy = None;
        self.budget.start();
    }

    /// Takes the stanza back after the call, whatever its outcome.
    pub(super) fn take_back(&mut self, slot: &Resource<StanzaSlot>) -> Option<Stanza> {
        self.scope = None;
        self.table.get_mut(slot).ok().and_then(|entry| entry.0.take())
    }

    /// The element behind the current call's last `child-copy` answer, with
    /// that answer (see `chain::convert_effects`).
    pub(super) fn take_copy(&mut self) -> Option<(String, Element)> {
        self.copy.take()
    }

    /// The id of the plugin this store runs, for logs.
    pub(super) fn plugin(&self) -> &str {
        &self.plugin
    }

    fn stanza(&self, handle: &Resource<StanzaSlot>) -> wasmtime::Result<&Stanza> {
        self.table
            .get(handle)?
            .0
            .as_ref()
            .ok_or_else(|| wasmtime::format_err!("stanza handle used outside of a process call"))
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl wit::Host for State {}

impl xmpp::sm::stanza::Host for State {}

impl xmpp::sm::stanza::HostStanza for State {
    fn kind(&mut self, s: Resource<StanzaSlot>) -> wasmtime::Result<wit::StanzaKind> {
        Ok(kind_to_wit(self.stanza(&s)?.kind))
    }

    fn message_type(&mut self, s: Resource<StanzaSlot>) -> wasmtime::Result<wit::MessageType> {
        let stanza = self.stanza(&s)?;
        let ty = match stanza.kind {
            StanzaKind::Message => stanza.message_type(),
            _ => crate::xmpp::MessageType::Normal,
        };
        Ok(message_type_to_wit(ty))
    }

    fn from(&mut self, s: Resource<StanzaSlot>) -> wasmtime::Result<String> {
        Ok(self.stanza(&s)?.from.as_ref().map(|j| j.to_string()).unwrap_or_default())
    }

    fn to(&mut self, s: Resource<StanzaSlot>) -> wasmtime::Result<Option<String>> {
        Ok(self.stanza(&s)?.to.as_ref().map(|j| j.as_str().to_owned()))
    }

    fn to_bare(&mut self, s: Resource<StanzaSlot>) -> wasmtime::Result<Option<String>> {
        Ok(self.stanza(&s)?.to.as_ref().map(|j| crate::xmpp::address::bare_str(j).to_owned()))
    }

    fn to_resource(&mut self, s: Resource<StanzaSlot>) -> wasmtime::Result<Option<String>> {
        Ok(self.stanza(&s)?.to.as_ref().and_then(|j| j.resource()).map(|r| r.to_string()))
    }

    fn id(&mut self, s: Resource<StanzaSlot>) -> wasmtime::Result<Option<String>> {
        Ok(self.stanza(&s)?.id().map(str::to_owned))
    }

    fn attr(&mut self, s: Resource<StanzaSlot>, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self.stanza(&s)?.el.attr(&name).map(str::to_owned))
    }

    fn has_child(&mut self, s: Resource<StanzaSlot>, name: String, ns: String) -> wasmtime::Result<bool> {
        Ok(self.stanza(&s)?.el.child(&name, &ns).is_some())
    }

    fn child_text(&mut self, s: Resource<StanzaSlot>, name: String, ns: String) -> wasmtime::Result<Option<String>> {
        Ok(self.stanza(&s)?.el.child(&name, &ns).map(Element::text))
    }

    fn child_element(
        &mut self,
        s: Resource<StanzaSlot>,
        name: String,
        ns: String,
    ) -> wasmtime::Result<Option<wit::ElementView>> {
        Ok(self.stanza(&s)?.el.child(&name, &ns).map(element_view))
    }

    fn child_attrs(
        &mut self,
        s: Resource<StanzaSlot>,
        name: String,
        ns: String,
        children: String,
    ) -> wasmtime::Result<Option<wit::PackedAttrs>> {
        Ok(self.stanza(&s)?.el.child(&name, &ns).map(|el| packed_attrs(el, &children)))
    }

    fn child_copy(
        &mut self,
        s: Resource<StanzaSlot>,
        name: String,
        ns: String,
        children: String,
        drop: Vec<String>,
        add: Vec<(String, String)>,
    ) -> wasmtime::Result<Option<String>> {
        // The element is used as built, unparsed: what it gains must be
        // something XML can carry, or the recipient's stream would break.
        if let Some((k, _)) = add.iter().find(|(k, v)| !plain_name(k) || !v.chars().all(xml_char)) {
            return Err(wasmtime::format_err!(
                "child-copy: attribute {k:?} is not an NCName or its value not XML text"
            ));
        }
        let Some(el) = self.stanza(&s)?.el.child(&name, &ns) else { return Ok(None) };
        let copy = child_copy(el, &children, &drop, add);
        // The server's own serialiser: the one every stanza leaves by.
        let xml = copy.to_xml("");
        self.copy = Some((xml.clone(), copy));
        Ok(Some(xml))
    }

    fn to_xml(&mut self, s: Resource<StanzaSlot>) -> wasmtime::Result<String> {
        Ok(self.stanza(&s)?.el.to_xml(""))
    }

    fn drop(&mut self, _s: Resource<StanzaSlot>) -> wasmtime::Result<()> {
        // Plugins only ever receive borrows; the slot belongs to the host.
        Ok(())
    }
}

/// The answer to a gated import call.
type Gated<T> = wasmtime::Result<Result<T, wit::Denied>>;

/// The bound sessions of `bare` as the WIT shows them.
fn resource_infos(scope: &CallScope, bare: &jid::BareJid) -> Vec<wit::ResourceInfo> {
    scope
        .sessions
        .resources(bare)
        .into_iter()
        .map(|r| wit::ResourceInfo { resource: r.resource, priority: r.priority, available: r.available })
        .collect()
}

impl xmpp::sm::sessions::Host for State {
    fn resources(&mut self, bare: String) -> Gated<Vec<wit::ResourceInfo>> {
        self.gated(Capability::Sessions, "sessions.resources", |state| {
            let (Some(scope), Ok(bare)) = (&state.scope, crate::xmpp::address::parse_bare(&bare)) else {
                return Ok(Vec::new());
            };
            Ok(resource_infos(scope, &bare))
        })
    }

    fn addressee(&mut self) -> Gated<wit::AddresseeInfo> {
        self.gated(Capability::Sessions, "sessions.addressee", |state| {
            let scope = state.scope.as_ref();
            let (exists, remote) = scope.map_or((false, false), |s| (s.recipient_exists, s.recipient_is_remote));
            let to = state.current().and_then(|s| s.to.as_ref());
            let to_resource = to.and_then(|j| j.resource()).map(|r| r.to_string());
            // The bare JID is built once: looked up, then handed over.
            let (to_bare, sessions) = match (scope, to.map(|j| j.to_bare())) {
                (Some(scope), Some(bare)) if exists && !remote => {
                    let sessions = resource_infos(scope, &bare);
                    (Some(bare.into_inner()), sessions)
                }
                (_, bare) => (bare.map(jid::BareJid::into_inner), Vec::new()),
            };
            Ok(wit::AddresseeInfo { to_bare, to_resource, exists, remote, sessions })
        })
    }

    fn recipient_exists(&mut self) -> Gated<bool> {
        self.gated(Capability::Sessions, "sessions.recipient-exists", |state| {
            Ok(state.scope.as_ref().is_some_and(|s| s.recipient_exists))
        })
    }

    fn sender_may_see_presence(&mut self) -> Gated<bool> {
        self.gated(Capability::Sessions, "sessions.sender-may-see-presence", |state| {
            Ok(state.scope.as_ref().is_some_and(|s| s.sender_may_see_presence))
        })
    }

    fn recipient_is_remote(&mut self) -> Gated<bool> {
        self.gated(Capability::Sessions, "sessions.recipient-is-remote", |state| {
            Ok(state.scope.as_ref().is_some_and(|s| s.recipient_is_remote))
        })
    }
}

impl xmpp::sm::server::Host for State {
    fn now_ms(&mut self) -> wasmtime::Result<i64> {
        Ok(self.env.clock.now_ms())
    }

    fn config(&mut self, key: String) -> Gated<Option<String>> {
        self.gated(Capability::Config, "server.config", |state| {
            Ok(state.env.settings.get(&*state.plugin).and_then(|s| s.get(&key)).cloned())
        })
    }
}

impl xmpp::sm::amp_conditions::Host for State {
    fn declared(&mut self) -> Gated<Vec<wit::ConditionInfo>> {
        self.gated(Capability::AmpConditions, "amp-conditions.declared", |state| Ok(state.env.conditions.load().list()))
    }

    fn validate(&mut self, name: String, value: String) -> Gated<bool> {
        self.gated(Capability::AmpConditions, "amp-conditions.validate", |state| {
            Ok(state.ask_conditions(|c| c.validate(&name, &value)))
        })
    }

    fn evaluate(&mut self, name: String, value: String, disposition: wit::Disposition) -> Gated<bool> {
        self.gated(Capability::AmpConditions, "amp-conditions.evaluate", |state| {
            let Some(stanza) = state.current() else {
                return Err(wasmtime::format_err!("amp-conditions.evaluate called outside of a process call"));
            };
            let info = message_info(stanza);
            Ok(state.ask_conditions(|c| c.evaluate(&name, &value, &info, &disposition)))
        })
    }
}

impl State {
    /// Calls the custom conditions without charging their CPU time to this
    /// plugin's call: each condition call has its own deadline, and one
    /// that spins to it must cost the rule its answer, not fault the plugin
    /// that asked.
    fn ask_conditions<R>(&mut self, ask: impl FnOnce(&dyn super::AmpConditions) -> R) -> R {
        let env = &self.env;
        // Guard → Arc → Box → the trait object.
        self.budget.excluding(|| ask(&***env.conditions.load()))
    }
}

impl xmpp::sm::log::Host for State {
    fn log(&mut self, level: xmpp::sm::log::Level, message: String) -> wasmtime::Result<()> {
        use xmpp::sm::log::Level;
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => {
                // A plugin's own failure report; rare, so the registry
                // lookup is not on the hot path.
                self.env.metrics.plugin(plugin).error(super::metrics::ErrorKind::Logged);
                tracing::error!(plugin, "{message}")
            }
        }
        Ok(())
    }
}
