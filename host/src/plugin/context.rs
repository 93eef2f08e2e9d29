//! What plugins see of the server besides their stanza: the session view,
//! what the host resolved before the chain ran, the custom AMP conditions,
//! and the environment (clock, settings, policies, counters) every plugin
//! instance shares.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{PluginMetrics, PluginPolicy};

/// The router's sessions as plugins may see them: read-only.
pub trait SessionView: Send + Sync + 'static {
    /// Every bound session of the local account `bare`.
    fn resources(&self, bare: &jid::BareJid) -> Vec<ResourceInfo>;
}

/// One bound session of a local account.
#[derive(Clone, Debug)]
pub struct ResourceInfo {
    /// The session's resourcepart.
    pub resource: String,
    /// Its presence priority (RFC 6121 §4.7.2.3).
    pub priority: i8,
    /// Whether it has sent available presence.
    pub available: bool,
}

/// What the host resolved about a stanza before running the chain.
#[derive(Clone)]
pub struct StanzaContext {
    /// The session view plugins may query.
    pub sessions: Arc<dyn SessionView>,
    /// Whether the addressee has an account here (looked up by the host, so
    /// plugins never reach the database).
    pub recipient_exists: bool,
    /// Whether the sender may see the addressee's presence (XEP-0079 §9,
    /// ruling D15); resolved only for messages that carry `<amp>`.
    pub sender_may_see_presence: bool,
    /// Whether the addressee is on another server (only XEP-0079 messages
    /// reach the chain then).
    pub recipient_is_remote: bool,
}

impl StanzaContext {
    /// A context with nothing resolved but the session view.
    pub fn new(sessions: Arc<dyn SessionView>, recipient_exists: bool) -> Self {
        StanzaContext { sessions, recipient_exists, sender_may_see_presence: false, recipient_is_remote: false }
    }
}

/// Custom XEP-0079 conditions (`amp-condition` components) as the
/// `amp-conditions` import serves them to session-manager plugins.
pub trait AmpConditions: Send + Sync + 'static {
    /// Every loaded condition's declaration.
    fn list(&self) -> Vec<ConditionInfo>;
    /// Whether `value` is well-formed for `name` (false if unknown).
    fn validate(&self, name: &str, value: &str) -> bool;
    /// Whether `name`/`value` is met; a faulting condition is "not met".
    fn evaluate(&self, name: &str, value: &str, message: &MessageInfo, disposition: &Disposition) -> bool;
}

pub use super::bindings::xmpp::sm::types::{ConditionInfo, DeliverValue, Disposition, MessageInfo};

/// No custom conditions loaded.
pub struct NoConditions;

impl AmpConditions for NoConditions {
    fn list(&self) -> Vec<ConditionInfo> {
        Vec::new()
    }
    fn validate(&self, _: &str, _: &str) -> bool {
        false
    }
    fn evaluate(&self, _: &str, _: &str, _: &MessageInfo, _: &Disposition) -> bool {
        false
    }
}

/// What plugins may ask the host besides the stanza: the clock, their own
/// settings, the custom AMP conditions. Shared by every instance.
pub struct PluginEnv {
    /// The server's clock (`server.now-ms`).
    pub clock: Arc<crate::clock::Clock>,
    /// Settings per plugin id (`server.config`).
    pub settings: std::collections::HashMap<String, std::collections::BTreeMap<String, String>>,
    /// Custom AMP conditions (`amp-conditions`); swappable because they
    /// are compiled by this host's engine, after it exists.
    pub conditions: ArcSwap<Box<dyn AmpConditions>>,
    /// Limits and allowed capabilities per plugin id; a plugin without an
    /// entry gets the server-wide [`Limits`] and all it declares.
    pub policies: std::collections::HashMap<String, PluginPolicy>,
    /// Every plugin's counters, by id; here because the `log` import
    /// counts a plugin's own error reports.
    pub metrics: Arc<PluginMetrics>,
}

impl Default for PluginEnv {
    fn default() -> Self {
        PluginEnv {
            clock: Arc::new(crate::clock::Clock::new()),
            settings: Default::default(),
            conditions: ArcSwap::from_pointee(Box::new(NoConditions)),
            policies: Default::default(),
            metrics: Default::default(),
        }
    }
}
