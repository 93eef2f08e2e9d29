//! The session-manager plugin chain: the path a stanza takes between c2s
//! and the router, in configured order (each plugin answers with a verdict:
//! pass, handled with effects, drop, bounce).
//!
//! A `PluginChain` is immutable once built; the host publishes it through an
//! `ArcSwap`, so a reload swaps chains while in-flight stanzas finish on the
//! old one, whose instances are freed when its last `Arc` drops.

use super::StanzaContext;
use super::bindings::{error_from_wit, kind_to_wit, wit};
use super::pool::{Fault, Pool};
use crate::xmpp::{FullJid, Stanza, StanzaError, StanzaKind};

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

/// A loaded plugin: its manifest and its warm instances.
pub(super) struct Loaded {
    pub(super) info: PluginInfo,
    handles: Vec<wit::StanzaKind>,
    pool: Pool,
}

impl Loaded {
    pub(super) fn new(info: PluginInfo, pool: Pool) -> Self {
        let handles = info.handles.iter().map(|k| kind_to_wit(*k)).collect();
        Loaded { info, handles, pool }
    }

    fn handles(&self, kind: StanzaKind) -> bool {
        self.handles.contains(&kind_to_wit(kind))
    }

    /// One call, with the instance checked out for exactly its duration.
    fn call(&self, stanza: Stanza, ctx: &StanzaContext) -> (Stanza, Result<wit::Verdict, Fault>) {
        let mut warm = match self.pool.checkout() {
            Ok(warm) => warm,
            Err(e) => return (stanza, Err(Fault { error: format!("cannot instantiate: {e:#}") })),
        };
        let (stanza, result) = warm.process(stanza, ctx, self.pool.deadline_ticks());
        if result.is_ok() {
            self.pool.checkin(warm);
        }
        // A faulted instance is dropped here; a trapped component instance
        // refuses re-entry anyway, and its memory may be inconsistent.
        (stanza, result)
    }

    #[cfg(test)]
    pub(super) fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// An immutable, ordered set of loaded plugins.
pub struct PluginChain {
    plugins: Vec<Loaded>,
    infos: Vec<PluginInfo>,
}

impl PluginChain {
    pub(super) fn new(plugins: Vec<Loaded>) -> Self {
        let infos = plugins.iter().map(|p| p.info.clone()).collect();
        PluginChain { plugins, infos }
    }

    /// The plugins in chain order.
    pub fn plugins(&self) -> &[PluginInfo] {
        &self.infos
    }

    /// Runs `stanza` through the chain. Synchronous and bounded by the
    /// per-call deadline, so it may be called from Tokio tasks directly.
    pub fn run(&self, stanza: Stanza, ctx: &StanzaContext) -> ChainOutcome {
        let mut stanza = stanza;
        let kind = stanza.kind;
        // Effects deferred by `pass-with`, performed after whatever ends the
        // chain; a fault discards them with the stanza's processing.
        let mut after: Vec<Effect> = Vec::new();
        for plugin in self.plugins.iter().filter(|p| p.handles(kind)) {
            let (back, result) = plugin.call(stanza, ctx);
            stanza = back;
            let verdict = match result {
                Ok(verdict) => verdict,
                Err(fault) => return faulted(stanza, &plugin.info, fault.error),
            };
            match verdict {
                wit::Verdict::Pass => continue,
                wit::Verdict::PassWith(effects) => match convert_effects(effects) {
                    Ok(effects) => after.extend(effects),
                    Err(error) => return faulted(stanza, &plugin.info, error),
                },
                wit::Verdict::Drop if after.is_empty() => return ChainOutcome::Dropped,
                wit::Verdict::Drop => return ChainOutcome::Handled(stanza, after),
                wit::Verdict::Bounce(e) if after.is_empty() => return ChainOutcome::Bounce(stanza, error_from_wit(e)),
                wit::Verdict::Bounce(e) => {
                    let mut effects = vec![Effect::Bounce(error_from_wit(e))];
                    effects.append(&mut after);
                    return ChainOutcome::Handled(stanza, effects);
                }
                wit::Verdict::Handled(effects) => {
                    return match convert_effects(effects) {
                        Ok(mut effects) => {
                            effects.append(&mut after);
                            ChainOutcome::Handled(stanza, effects)
                        }
                        Err(error) => faulted(stanza, &plugin.info, error),
                    };
                }
            }
        }
        ChainOutcome::Unhandled(stanza, after)
    }

    #[cfg(test)]
    pub(super) fn loaded(&self, id: &str) -> Option<&Loaded> {
        self.plugins.iter().find(|p| p.info.id == id)
    }
}

/// A delivery target that is not a full JID is a broken plugin, not a
/// routing decision: it is treated like a trap.
fn convert_effects(effects: Vec<wit::Effect>) -> Result<Vec<Effect>, String> {
    effects
        .into_iter()
        .map(|e| match e {
            wit::Effect::Deliver(jid) => FullJid::new(&jid)
                .map(Effect::Deliver)
                .map_err(|err| format!("deliver target {jid:?} is not a full JID: {err}")),
            wit::Effect::Bounce(e) => Ok(Effect::Bounce(error_from_wit(e))),
            wit::Effect::StoreOffline => Ok(Effect::StoreOffline),
            wit::Effect::FlushOffline => Ok(Effect::FlushOffline),
        })
        .collect()
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
        let err = convert_effects(vec![wit::Effect::Deliver("juliet@example.com".into())]).unwrap_err();
        assert!(err.contains("not a full JID"), "{err}");
        let ok = convert_effects(vec![wit::Effect::Deliver("juliet@example.com/balcony".into())]).unwrap();
        assert!(matches!(&ok[..], [Effect::Deliver(j)] if j.resource().as_str() == "balcony"));
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
