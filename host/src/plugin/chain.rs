//! The session-manager plugin chain: the path a stanza takes between c2s
//! and the router, in configured order (each plugin answers with a verdict:
//! pass, handled with effects, drop, bounce).
//!
//! A `PluginChain` is immutable once built; the host publishes it through an
//! `ArcSwap`, so a reload swaps chains while in-flight stanzas finish on the
//! old one, whose instances are freed when its last `Arc` drops.

use super::StanzaContext;
use super::bindings::{error_from_wit, kind_to_wit, wit};
use super::capability::{self, Capabilities, Capability, Denials};
use super::metrics::{Entry, ErrorKind, FaultKind, PluginCounters, VerdictKind};
use super::pool::{Fault, Pool, Prebuilt, Warm};
use crate::xml::Element;
use crate::xmpp::{FullJid, Stanza, StanzaError, StanzaKind, ns};
use std::sync::Arc;
use std::time::Instant;

/// What a loaded plugin declared in its manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    /// The configured id (equal to the manifest id).
    pub id: String,
    /// The plugin's version, logged with every fault.
    pub version: String,
    /// Stanza kinds the plugin is called for.
    pub handles: Vec<StanzaKind>,
    /// XEP-0030 features the plugin adds to the server's disco#info.
    pub features: Vec<String>,
    /// The capabilities its manifest declares.
    pub capabilities: Capabilities,
    /// What the host granted: declared ∩ what the operator allows.
    pub granted: Capabilities,
}

/// One action a plugin asked the host to perform.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Send the stanza, unchanged, to this session.
    Deliver(FullJid),
    /// Send an error reply to the stanza's sender.
    Bounce(StanzaError),
    /// Keep the message for its addressee's account (XEP-0160).
    StoreOffline,
    /// Deliver the sender's stored messages to the sending session.
    FlushOffline,
    /// Route a stanza the plugin built (an XEP-0079 event) to a local
    /// session, storing it offline when that session is gone (D16).
    Send(Stanza),
    /// For the effects that follow, replace the stanza's first child with
    /// this element's name and namespace by it (or append it).
    ReplaceChild(Element),
    /// Keep the message in the AMP store until its addressee is available.
    StoreAmp {
        /// The plugin that stored it, whose `recheck` decides at expiry.
        owner: Arc<str>,
        /// When its earliest kept rule falls due (ms since the epoch).
        expires_at_ms: Option<i64>,
    },
}

/// A plugin's decision about a stored message whose expiry came.
#[derive(Debug)]
pub struct Recheck {
    /// Stanzas to route first (events to the original sender).
    pub events: Vec<Stanza>,
    /// Whether the message stays.
    pub fate: Fate,
}

/// The stored message's fate after a recheck.
#[derive(Debug)]
pub enum Fate {
    /// Remove it.
    Discard,
    /// Keep it, as this stanza (its child already replaced), until the
    /// next expiry (if any).
    Keep(Stanza, Option<i64>),
}

/// Where the chain left a stanza. Every variant except `Dropped` hands the
/// stanza back to the host, which owns it throughout.
#[derive(Debug)]
pub enum ChainOutcome {
    /// Every plugin passed, or none handles this kind: the host's fallback,
    /// then these effects that plugins asked for with `pass-with`.
    Unhandled(Stanza, Vec<Effect>),
    /// A plugin took it: perform these effects.
    Handled(Stanza, Vec<Effect>),
    /// A plugin discarded it silently.
    Dropped,
    /// A plugin refused it: send this error reply to the sender.
    Bounce(Stanza, StanzaError),
    /// A plugin trapped, overran its deadline or its memory, or broke the
    /// contract; the host bounces `internal-server-error`.
    Faulted {
        /// The stanza, intact.
        stanza: Stanza,
        /// The failing plugin's id.
        plugin: String,
        /// The failing plugin's version.
        version: String,
        /// What went wrong, for logs.
        error: String,
    },
}

/// A loaded plugin: its manifest, its warm instances and its counters
/// (shared with every other load of the same id, see `metrics`). Shared
/// (`Arc`) between the chain that loaded it and every later chain a reload
/// builds while its bytes stay the same, so its pool stays warm across
/// reloads.
pub(super) struct Loaded {
    pub(super) info: PluginInfo,
    id: Arc<str>,
    handles: Vec<wit::StanzaKind>,
    pool: Arc<Pool>,
    counters: Arc<PluginCounters>,
    /// Where its bytes came from and their digest (see `rebuild.rs`).
    pub(super) source: Source,
}

/// The bytes a plugin was loaded from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Source {
    /// The file, or `<built-in>`.
    pub(super) file: String,
    /// SHA-256 of the component bytes.
    pub(super) digest: [u8; 32],
}

impl Loaded {
    pub(super) fn new(info: PluginInfo, pool: Pool, counters: Arc<PluginCounters>) -> Self {
        let handles = info.handles.iter().map(|k| kind_to_wit(*k)).collect();
        Loaded { id: info.id.as_str().into(), info, handles, pool: Arc::new(pool), source: Source::default(), counters }
    }

    /// Records where the bytes came from.
    pub(super) fn with_source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// The same component and warm pool with the disco features of its
    /// manifest read again: they can depend on the custom conditions loaded
    /// meanwhile (`amp` lists them). The rest of the manifest is the
    /// component's own, so it is kept as loaded and checked.
    pub(super) fn remanifested(&self) -> Result<Loaded, String> {
        let mut warm = self.pool.checkout().map_err(|e| format!("cannot instantiate: {e:#}"))?;
        let manifest =
            warm.manifest(self.pool.deadline_ticks()).map_err(|f| format!("manifest() failed: {}", f.error))?;
        self.pool.checkin(warm);
        let info = PluginInfo { features: manifest.features, ..self.info.clone() };
        Ok(Loaded {
            id: self.id.clone(),
            info,
            handles: self.handles.clone(),
            pool: self.pool.clone(),
            source: self.source.clone(),
            counters: self.counters.clone(),
        })
    }

    fn handles(&self, kind: StanzaKind) -> bool {
        self.handles.contains(&kind_to_wit(kind))
    }

    /// Counts and logs a verdict refused for `capability` (an error of the
    /// plugin's in the metrics as well).
    fn denied(&self, capability: Capability) {
        self.pool.denials().verdict(&self.info.id, &self.info.version, capability);
        self.counters.error(ErrorKind::Refused);
    }

    /// One `process` call, with the instance checked out for exactly its duration.
    fn call(&self, stanza: Stanza, ctx: &StanzaContext) -> (Stanza, Result<(wit::Verdict, Prebuilt), Fault>) {
        self.with_instance(Entry::Process, stanza, |warm, s, ticks| warm.process(s, ctx, ticks))
    }

    /// One `recheck` call; like `call`, the stanza always comes back.
    fn recheck(&self, stanza: Stanza, ctx: &StanzaContext) -> (Stanza, Result<wit::Recheck, Fault>) {
        self.with_instance(Entry::Recheck, stanza, |warm, s, ticks| warm.recheck(s, ctx, ticks))
    }

    /// Counts the call, its time (building an instance included, when none
    /// was warm) and its fault, if any.
    fn with_instance<T>(
        &self,
        entry: Entry,
        stanza: Stanza,
        call: impl FnOnce(&mut Warm, Stanza, u64) -> (Stanza, Result<T, Fault>),
    ) -> (Stanza, Result<T, Fault>) {
        let started = Instant::now();
        let (stanza, result) = match self.pool.checkout() {
            Ok(mut warm) => {
                let (stanza, result) = call(&mut warm, stanza, self.pool.deadline_ticks());
                if result.is_ok() {
                    self.pool.checkin(warm);
                }
                // A faulted instance is dropped here; a trapped component instance
                // refuses re-entry anyway, and its memory may be inconsistent.
                (stanza, result)
            }
            Err(e) => {
                let fault = Fault { kind: FaultKind::Instantiate, error: format!("cannot instantiate: {e:#}") };
                (stanza, Err(fault))
            }
        };
        self.counters.call(entry, started.elapsed());
        if let Err(fault) = &result {
            self.counters.fault(fault.kind);
        }
        (stanza, result)
    }

    /// The host refuses an answer that broke the contract: counted, then
    /// treated like a fault.
    fn refused(&self, stanza: Stanza, error: String) -> ChainOutcome {
        self.counters.error(ErrorKind::Refused);
        faulted(stanza, &self.info, error)
    }

    #[cfg(test)]
    pub(super) fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// An immutable, ordered set of loaded plugins.
pub struct PluginChain {
    plugins: Vec<Arc<Loaded>>,
    infos: Vec<PluginInfo>,
}

impl PluginChain {
    pub(super) fn new(plugins: Vec<Arc<Loaded>>) -> Self {
        let infos = plugins.iter().map(|p| p.info.clone()).collect();
        PluginChain { plugins, infos }
    }

    /// The plugins in chain order.
    pub fn plugins(&self) -> &[PluginInfo] {
        &self.infos
    }

    /// How often plugin `id` was refused what it was not granted.
    pub fn denials(&self, id: &str) -> Option<&Denials> {
        self.plugins.iter().find(|p| p.info.id == id).map(|p| &**p.pool.denials())
    }

    /// Whether some plugin declares the disco feature `feature`.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.infos.iter().any(|p| p.features.iter().any(|f| f == feature))
    }

    /// Runs `stanza` through the chain. Synchronous and bounded by the
    /// per-call deadline, so it may be called from Tokio tasks directly.
    ///
    /// A verdict with an effect its plugin was not granted is refused as a
    /// whole and the stanza goes on as if that plugin had passed: the
    /// operator's narrowing of a plugin degrades that plugin, not the
    /// server's message flow, and the remaining chain (or the host's
    /// fallback) still answers for the stanza. A broken verdict (bad JID,
    /// unparsable XML) is a bug and is treated like a trap.
    pub fn run(&self, stanza: Stanza, ctx: &StanzaContext) -> ChainOutcome {
        let mut stanza = stanza;
        let kind = stanza.kind;
        // Effects deferred by `pass-with`, performed after whatever ends the
        // chain; a fault discards them with the stanza's processing.
        let mut after: Vec<Effect> = Vec::new();
        for plugin in self.plugins.iter().filter(|p| p.handles(kind)) {
            let (back, result) = plugin.call(stanza, ctx);
            stanza = back;
            let (verdict, mut prebuilt) = match result {
                Ok(answer) => answer,
                Err(fault) => return faulted(stanza, &plugin.info, fault.error),
            };
            plugin.counters.verdict(verdict_kind(&verdict));
            match verdict {
                wit::Verdict::Pass => continue,
                wit::Verdict::PassWith(effects) => {
                    match convert_effects(effects, &plugin.id, plugin.info.granted, &mut prebuilt) {
                        Ok(effects) => after.extend(effects),
                        Err(Refusal::Denied(capability)) => plugin.denied(capability),
                        Err(Refusal::Broken(error)) => return plugin.refused(stanza, error),
                    }
                }
                wit::Verdict::Drop if after.is_empty() => return ChainOutcome::Dropped,
                wit::Verdict::Drop => return ChainOutcome::Handled(stanza, after),
                wit::Verdict::Bounce(e) if after.is_empty() => return ChainOutcome::Bounce(stanza, error_from_wit(e)),
                wit::Verdict::Bounce(e) => {
                    let mut effects = vec![Effect::Bounce(error_from_wit(e))];
                    effects.append(&mut after);
                    return ChainOutcome::Handled(stanza, effects);
                }
                wit::Verdict::Handled(effects) => {
                    match convert_effects(effects, &plugin.id, plugin.info.granted, &mut prebuilt) {
                        Ok(mut effects) => {
                            effects.append(&mut after);
                            return ChainOutcome::Handled(stanza, effects);
                        }
                        Err(Refusal::Denied(capability)) => plugin.denied(capability),
                        Err(Refusal::Broken(error)) => return plugin.refused(stanza, error),
                    }
                }
            }
        }
        ChainOutcome::Unhandled(stanza, after)
    }

    /// Asks plugin `owner` what becomes of `stanza`, a message it stored
    /// with `store-amp` whose expiry came. Errors (the plugin is not in the
    /// chain, or it faulted or broke the contract) are for the log; the
    /// caller must then not deliver the message.
    pub fn recheck(&self, owner: &str, stanza: Stanza, ctx: &StanzaContext) -> Result<Recheck, String> {
        let plugin =
            self.plugins.iter().find(|p| p.info.id == owner).ok_or_else(|| format!("plugin {owner} is not loaded"))?;
        let (stanza, result) = plugin.recheck(stanza, ctx);
        let answer = result.map_err(|f| format!("plugin {owner}: {}", f.error))?;
        let refused = |error: String| {
            plugin.counters.error(ErrorKind::Refused);
            format!("plugin {owner}: {error}")
        };
        if !answer.events.is_empty() && !plugin.info.granted.contains(Capability::Send) {
            plugin.denied(Capability::Send);
            return Err(format!("plugin {owner}: recheck events need the capability send, not granted"));
        }
        let events =
            answer.events.iter().map(|xml| built_stanza(xml)).collect::<Result<Vec<_>, _>>().map_err(refused)?;
        let fate = match answer.fate {
            wit::KeptFate::Discard => Fate::Discard,
            wit::KeptFate::Keep((xml, expires)) => {
                let mut kept = stanza;
                replace_child(&mut kept.el, parse_child(&xml).map_err(refused)?);
                Fate::Keep(kept, expires)
            }
        };
        Ok(Recheck { events, fate })
    }

    /// The loaded plugin `id`, shared, for a reload to reuse.
    pub(super) fn loaded(&self, id: &str) -> Option<&Arc<Loaded>> {
        self.plugins.iter().find(|p| p.info.id == id)
    }
}

/// Why the host did not take a verdict's effects.
#[derive(Debug, PartialEq)]
enum Refusal {
    /// An effect needs this capability, which the plugin was not granted.
    Denied(Capability),
    /// The verdict breaks the contract (see `convert_effects`).
    Broken(String),
}

/// Checks every effect against the grant first, so a refused verdict has
/// no part performed. Then a delivery target that is not a full JID, or
/// XML that is not a stanza, is a broken plugin, not a routing decision:
/// it is treated like a trap.
///
/// A `replace-child` whose XML is the call's last `child-copy` answer takes
/// the element the host built for it (`prebuilt`) instead of parsing it.
fn convert_effects(
    effects: Vec<wit::Effect>,
    owner: &Arc<str>,
    granted: Capabilities,
    prebuilt: &mut Prebuilt,
) -> Result<Vec<Effect>, Refusal> {
    if let Some(missing) = effects.iter().filter_map(capability::required_by).find(|c| !granted.contains(*c)) {
        return Err(Refusal::Denied(missing));
    }
    effects
        .into_iter()
        .map(|e| match e {
            wit::Effect::Deliver(jid) => crate::xmpp::address::parse_full(&jid)
                .map(Effect::Deliver)
                .map_err(|err| format!("deliver target {jid:?} is not a full JID: {err}")),
            wit::Effect::Bounce(e) => Ok(Effect::Bounce(error_from_wit(e))),
            wit::Effect::StoreOffline => Ok(Effect::StoreOffline),
            wit::Effect::FlushOffline => Ok(Effect::FlushOffline),
            wit::Effect::Send(xml) => built_stanza(&xml).map(Effect::Send),
            wit::Effect::ReplaceChild(xml) => match prebuilt.take_if(|(built, _)| *built == xml) {
                Some((_, element)) => Ok(Effect::ReplaceChild(element)),
                None => parse_child(&xml).map(Effect::ReplaceChild),
            },
            wit::Effect::StoreAmp(expires_at_ms) => Ok(Effect::StoreAmp { owner: owner.clone(), expires_at_ms }),
        })
        .collect::<Result<_, String>>()
        .map_err(Refusal::Broken)
}

/// A stanza a plugin serialised for `send`: it must parse and name a
/// recipient.
fn built_stanza(xml: &str) -> Result<Stanza, String> {
    let el = Element::from_xml(xml, ns::CLIENT).map_err(|e| format!("sent XML does not parse: {e}"))?;
    match Stanza::from_element(el) {
        Some(Ok(s)) if s.to.is_some() => Ok(s),
        Some(Ok(_)) => Err("sent stanza has no 'to'".to_owned()),
        Some(Err((_, e))) => Err(format!("sent stanza has a bad address: {e}")),
        None => Err("sent XML is not a stanza".to_owned()),
    }
}

/// A child element a plugin serialised for `replace-child` or a kept copy.
fn parse_child(xml: &str) -> Result<Element, String> {
    Element::from_xml(xml, ns::CLIENT).map_err(|e| format!("replacement child does not parse: {e}"))
}

/// Replaces `el`'s first child with `child`'s name and namespace (or
/// appends `child`): the `replace-child` effect.
pub fn replace_child(el: &mut Element, child: Element) {
    use crate::xml::Node;
    let slot =
        el.children.iter_mut().find(|c| matches!(c, Node::Element(e) if e.name == child.name && e.ns == child.ns));
    match slot {
        Some(slot) => *slot = Node::Element(child),
        None => el.children.push(Node::Element(child)),
    }
}

fn verdict_kind(verdict: &wit::Verdict) -> VerdictKind {
    match verdict {
        wit::Verdict::Pass => VerdictKind::Pass,
        wit::Verdict::PassWith(_) => VerdictKind::PassWith,
        wit::Verdict::Handled(_) => VerdictKind::Handled,
        wit::Verdict::Drop => VerdictKind::Drop,
        wit::Verdict::Bounce(_) => VerdictKind::Bounce,
    }
}

fn faulted(stanza: Stanza, info: &PluginInfo, error: String) -> ChainOutcome {
    tracing::error!(plugin = %info.id, version = %info.version, %error, "plugin fault; the host answers internal-server-error");
    ChainOutcome::Faulted { stanza, plugin: info.id.clone(), version: info.version.clone(), error }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_deliver_target_is_a_contract_fault() {
        let owner: Arc<str> = "message".into();
        let all = Capabilities::all();
        let err = convert_effects(vec![wit::Effect::Deliver("juliet@example.com".into())], &owner, all, &mut None)
            .unwrap_err();
        assert!(matches!(&err, Refusal::Broken(e) if e.contains("not a full JID")), "{err:?}");
        let ok =
            convert_effects(vec![wit::Effect::Deliver("juliet@example.com/balcony".into())], &owner, all, &mut None)
                .unwrap();
        assert!(matches!(&ok[..], [Effect::Deliver(j)] if j.resource().as_str() == "balcony"));
    }

    #[test]
    fn replaced_children_and_sent_stanzas_must_parse() {
        let mut s = crate::plugin::tests::message("juliet@example.com", "chat", "hi");
        let owner: Arc<str> = "amp".into();
        let effects = vec![
            wit::Effect::ReplaceChild("<body>changed</body>".into()),
            wit::Effect::Send("<message from='example.com' to='romeo@example.com/r' id='e'/>".into()),
            wit::Effect::StoreAmp(Some(42)),
        ];
        match convert_effects(effects, &owner, Capabilities::all(), &mut None).unwrap().as_slice() {
            [Effect::ReplaceChild(el), Effect::Send(sent), Effect::StoreAmp { owner, expires_at_ms: Some(42) }] => {
                replace_child(&mut s.el, el.clone());
                assert_eq!(s.el.child("body", ns::CLIENT).unwrap().text(), "changed");
                assert_eq!(s.el.children.len(), 1, "replaced, not appended");
                replace_child(&mut s.el, Element::new("amp", ns::AMP));
                assert!(s.el.child("amp", ns::AMP).is_some(), "appended when missing");
                assert_eq!(sent.id(), Some("e"));
                assert_eq!(&**owner, "amp");
            }
            other => panic!("unexpected {other:?}"),
        }
        let all = Capabilities::all();
        for bad in ["<message", "<message id='no-to'/>", "<stream/>"] {
            assert!(convert_effects(vec![wit::Effect::Send(bad.into())], &owner, all, &mut None).is_err(), "{bad}");
        }
        assert!(convert_effects(vec![wit::Effect::ReplaceChild("<a><b></a>".into())], &owner, all, &mut None).is_err());
    }

    #[test]
    fn an_effect_not_granted_refuses_the_whole_verdict_before_any_check() {
        let owner: Arc<str> = "filter".into();
        let granted = Capabilities::parse_list("deliver").unwrap();
        let effects =
            vec![wit::Effect::Deliver("juliet@example.com/balcony".into()), wit::Effect::Send("not even XML".into())];
        assert_eq!(convert_effects(effects, &owner, granted, &mut None), Err(Refusal::Denied(Capability::Send)));
        let free = vec![wit::Effect::ReplaceChild("<body>x</body>".into())];
        assert!(convert_effects(free, &owner, Capabilities::NONE, &mut None).is_ok());
        let stored = vec![wit::Effect::StoreOffline];
        assert_eq!(convert_effects(stored, &owner, granted, &mut None), Err(Refusal::Denied(Capability::OfflineStore)));
    }

    #[test]
    fn an_empty_chain_leaves_stanzas_unhandled() {
        let chain = PluginChain::new(Vec::new());
        let stanza = crate::plugin::tests::message("juliet@example.com", "chat", "hi");
        match chain.run(stanza, &crate::plugin::tests::ctx(true)) {
            ChainOutcome::Unhandled(s, after) => {
                assert_eq!(s.el.attr("type"), Some("chat"));
                assert!(after.is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
