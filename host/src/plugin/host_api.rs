//! What plugins may call (the `stanza`, `sessions` and `log` imports of the
//! `sm-plugin` world): read-only, scoped to the stanza being processed.
//!
//! Per-store state lives in [`State`]; the stanza is moved into a slot of the
//! store's `ResourceTable` for one `process` call and taken back afterwards,
//! so it is never lost, even when the guest traps.

use std::sync::Arc;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::{kind_to_wit, message_type_to_wit, wit, xmpp};
use super::{PluginEnv, SessionView, StanzaContext};
use crate::xml::{Element, Node};
use crate::xmpp::{BareJid, Stanza, StanzaKind};

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
    /// The stanza slot's table index (see `reserve_slot`).
    slot_rep: Option<u32>,
    /// The thread's CPU clock when the current call started.
    call_started: std::time::Duration,
}

impl State {
    pub(super) fn new(plugin: Arc<str>, memory_bytes: usize, env: Arc<PluginEnv>) -> Self {
        State {
            table: ResourceTable::new(),
            wasi: WasiCtx::builder().build(),
            memory: MemoryCap::new(memory_bytes),
            scope: None,
            plugin,
            env,
            slot_rep: None,
            call_started: std::time::Duration::ZERO,
        }
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
        self.start_clock();
    }

    /// Starts the CPU-time budget of a call.
    pub(super) fn start_clock(&mut self) {
        self.call_started = super::cpu::thread_time();
    }

    /// CPU time the current call has used so far.
    pub(super) fn cpu_used(&self) -> std::time::Duration {
        super::cpu::thread_time().saturating_sub(self.call_started)
    }

    /// Takes the stanza back after the call, whatever its outcome.
    pub(super) fn take_back(&mut self, slot: &Resource<StanzaSlot>) -> Option<Stanza> {
        self.scope = None;
        self.table.get_mut(slot).ok().and_then(|entry| entry.0.take())
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

/// The per-instance memory cap: [`StoreLimits`] plus a record of whether it
/// refused growth, so a fault can be reported as "memory limit" rather than
/// as the bare `unreachable` a guest's allocation failure aborts with.
pub(super) struct MemoryCap {
    limits: StoreLimits,
    bytes: usize,
    pub(super) refused: bool,
}

impl MemoryCap {
    pub(super) fn new(bytes: usize) -> Self {
        MemoryCap { limits: StoreLimitsBuilder::new().memory_size(bytes).build(), bytes, refused: false }
    }

    /// The cap in bytes.
    pub(super) fn limit(&self) -> usize {
        self.bytes
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        self.refused |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
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
        Ok(self.stanza(&s)?.to.as_ref().map(|j| j.to_string()))
    }

    fn to_bare(&mut self, s: Resource<StanzaSlot>) -> wasmtime::Result<Option<String>> {
        Ok(self.stanza(&s)?.to.as_ref().map(|j| j.to_bare().to_string()))
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

    fn to_xml(&mut self, s: Resource<StanzaSlot>) -> wasmtime::Result<String> {
        let mut out = String::new();
        write_element(&self.stanza(&s)?.el, "", &mut out);
        Ok(out)
    }

    fn drop(&mut self, _s: Resource<StanzaSlot>) -> wasmtime::Result<()> {
        // Plugins only ever receive borrows; the slot belongs to the host.
        Ok(())
    }
}

impl xmpp::sm::sessions::Host for State {
    fn resources(&mut self, bare: String) -> wasmtime::Result<Vec<wit::ResourceInfo>> {
        let (Some(scope), Ok(bare)) = (&self.scope, BareJid::new(&bare)) else {
            return Ok(Vec::new());
        };
        Ok(scope
            .sessions
            .resources(&bare)
            .into_iter()
            .map(|r| wit::ResourceInfo { resource: r.resource, priority: r.priority, available: r.available })
            .collect())
    }

    fn recipient_exists(&mut self) -> wasmtime::Result<bool> {
        Ok(self.scope.as_ref().is_some_and(|s| s.recipient_exists))
    }

    fn sender_may_see_presence(&mut self) -> wasmtime::Result<bool> {
        Ok(self.scope.as_ref().is_some_and(|s| s.sender_may_see_presence))
    }

    fn recipient_is_remote(&mut self) -> wasmtime::Result<bool> {
        Ok(self.scope.as_ref().is_some_and(|s| s.recipient_is_remote))
    }
}

impl xmpp::sm::server::Host for State {
    fn now_ms(&mut self) -> wasmtime::Result<i64> {
        Ok(self.env.clock.now_ms())
    }

    fn config(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.env.settings.get(&*self.plugin).and_then(|s| s.get(&key)).cloned())
    }
}

impl xmpp::sm::amp_conditions::Host for State {
    fn declared(&mut self) -> wasmtime::Result<Vec<wit::ConditionInfo>> {
        Ok(self.env.conditions.load().list())
    }

    fn validate(&mut self, name: String, value: String) -> wasmtime::Result<bool> {
        Ok(self.ask_conditions(|c| c.validate(&name, &value)))
    }

    fn evaluate(&mut self, name: String, value: String, disposition: wit::Disposition) -> wasmtime::Result<bool> {
        let Some(stanza) = self.current() else {
            return Err(wasmtime::format_err!("amp-conditions.evaluate called outside of a process call"));
        };
        let info = message_info(stanza);
        Ok(self.ask_conditions(|c| c.evaluate(&name, &value, &info, &disposition)))
    }
}

impl State {
    /// Calls the custom conditions without charging their CPU time to this
    /// plugin's call: each condition call has its own deadline, and one
    /// that spins to it must cost the rule its answer, not fault the plugin
    /// that asked.
    fn ask_conditions<R>(&mut self, ask: impl FnOnce(&dyn super::AmpConditions) -> R) -> R {
        let started = super::cpu::thread_time();
        // Guard → Arc → Box → the trait object.
        let answer = ask(&***self.env.conditions.load());
        self.call_started += super::cpu::thread_time().saturating_sub(started);
        answer
    }
}

/// The narrow view of a message custom AMP conditions get.
fn message_info(stanza: &Stanza) -> wit::MessageInfo {
    let mut size = Vec::new();
    stanza.el.write_to(&mut size, crate::xmpp::ns::CLIENT);
    wit::MessageInfo {
        from: stanza.from.as_ref().map(|j| j.to_string()).unwrap_or_default(),
        to: stanza.to.as_ref().map(|j| j.to_string()).unwrap_or_default(),
        message_type: message_type_to_wit(stanza.message_type()),
        id: stanza.id().map(str::to_owned),
        body: stanza.el.child("body", crate::xmpp::ns::CLIENT).map(Element::text),
        size: u32::try_from(size.len()).unwrap_or(u32::MAX),
    }
}

/// Two levels of `el`, for the `child-element` accessor.
fn element_view(el: &Element) -> wit::ElementView {
    let attrs = |e: &Element| e.attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    wit::ElementView {
        name: el.name.to_string(),
        ns: el.ns.to_string(),
        attrs: attrs(el),
        children: el
            .children
            .iter()
            .filter_map(|c| match c {
                Node::Element(c) => Some(wit::LeafView {
                    name: c.name.to_string(),
                    ns: c.ns.to_string(),
                    attrs: attrs(c),
                    text: c.text(),
                }),
                Node::Text(_) => None,
            })
            .collect(),
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

/// Serialises `el` for the `to-xml` escape hatch, declaring a namespace only
/// where it differs from the parent's (the tree stores resolved names).
fn write_element(el: &Element, parent_ns: &str, out: &mut String) {
    use quick_xml::escape::escape;
    out.push('<');
    out.push_str(&el.name);
    if el.ns != parent_ns {
        out.push_str(" xmlns=\"");
        out.push_str(&escape(el.ns.as_str()));
        out.push('"');
    }
    for (k, v) in &el.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        out.push_str(&escape(v.as_str()));
        out.push('"');
    }
    if el.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &el.children {
        match child {
            Node::Element(c) => write_element(c, &el.ns, out),
            Node::Text(t) => out.push_str(&escape(t.as_str())),
        }
    }
    out.push_str("</");
    out.push_str(&el.name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_xml_declares_namespaces_once_and_escapes() {
        let el = Element::new("message", "jabber:client")
            .with_attr("to", "a@b")
            .with_child(Element::new("body", "jabber:client").with_text("1 < 2 & \"q\""))
            .with_child(Element::new("x", "urn:x"));
        let mut out = String::new();
        write_element(&el, "", &mut out);
        assert_eq!(
            out,
            "<message xmlns=\"jabber:client\" to=\"a@b\"><body>1 &lt; 2 &amp; &quot;q&quot;</body>\
             <x xmlns=\"urn:x\"/></message>"
        );
    }

    #[test]
    fn memory_cap_records_refusal() {
        let mut cap = MemoryCap::new(1 << 20);
        assert!(cap.memory_growing(0, 1 << 19, None).unwrap());
        assert!(!cap.refused);
        assert!(!cap.memory_growing(1 << 19, 2 << 20, None).unwrap());
        assert!(cap.refused);
    }
}
