//! A mock host for native unit tests of plugin logic (not in components).
//!
//! Natively, every host call the SDK wraps ([`Stanza`] accessors,
//! [`sessions`](crate::sessions), [`server`](crate::server),
//! [`log`](crate::log), [`amp_conditions`](crate::amp_conditions)) is
//! answered by the `MockHost` whose call is running on the current thread,
//! so `cargo test` runs a plugin's real `process` with no server and no
//! WebAssembly:
//!
//! ```
//! use wasmpp_guest_sdk::testing::MockHost;
//! use wasmpp_guest_sdk::{Capability, Manifest, Plugin, Stanza, StanzaKind, Verdict, server};
//!
//! struct Quiet;
//! impl Plugin for Quiet {
//!     fn manifest() -> Manifest {
//!         Manifest::new("quiet", "1.0.0", &[StanzaKind::Message]).with_capabilities(&[Capability::Config])
//!     }
//!     fn process(stanza: &Stanza) -> Verdict {
//!         match server::config("drop-headlines") {
//!             Ok(Some(v)) if v == "true" && stanza.attr("type").as_deref() == Some("headline") => Verdict::Drop,
//!             _ => Verdict::Pass,
//!         }
//!     }
//! }
//!
//! let host = MockHost::new()
//!     .config("drop-headlines", "true")
//!     .stanza_xml("<message from='a@localhost/r' to='b@localhost' type='headline'/>");
//! assert_eq!(host.process::<Quiet>(), Verdict::Drop);
//! // The operator withheld `config`: the plugin gets Err(Denied), as from the server.
//! let host = MockHost::new()
//!     .config("drop-headlines", "true")
//!     .deny(Capability::Config)
//!     .stanza_xml("<message from='a@localhost/r' to='b@localhost' type='headline'/>");
//! assert_eq!(host.process::<Quiet>(), Verdict::Pass);
//! ```
//!
//! It grants what the server grants: what the plugin's manifest declares,
//! less what [`MockHost::deny`] withholds; while `manifest()` runs, only
//! `config` and `amp-conditions`. The verdict is returned as the plugin
//! answered it: the server would also refuse one whose effects need a
//! capability that was not granted (see the README's Capabilities).

mod imports;
mod stanza;

pub(crate) use imports::{amp_conditions, log, server, sessions, stanza as stanza_resource};
pub use stanza::{MockStanza, ParseError};

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::log::Level;
use crate::types::{Capability, ConditionInfo, Denied, Disposition, Manifest, MessageInfo, Recheck, ResourceInfo};
use crate::{AmpCondition, Plugin, Stanza, Verdict};

/// XEP-0079's namespace: the server resolves `sender-may-see-presence`
/// only for messages carrying `<amp>` in it.
pub(crate) const AMP: &str = "http://jabber.org/protocol/amp";

/// One line a plugin logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its level.
    pub level: Level,
    /// What it said.
    pub message: String,
}

/// The server as one test sees it: the stanza being processed, the
/// accounts and their sessions, the plugin's configuration, the clock, the
/// operator's capability policy and the custom AMP conditions; and what the
/// plugin logged. Build it, then call the plugin through it.
#[derive(Default)]
pub struct MockHost {
    state: State,
    stanza: Option<MockStanza>,
}

/// What the imports answer from; cloned into each call's [`Scope`].
#[derive(Clone, Default)]
pub(crate) struct State {
    pub(crate) accounts: BTreeMap<String, Vec<ResourceInfo>>,
    pub(crate) config: BTreeMap<String, String>,
    pub(crate) now_ms: i64,
    pub(crate) denied: Vec<Capability>,
    pub(crate) sender_may_see_presence: bool,
    pub(crate) recipient_is_remote: bool,
    pub(crate) conditions: Vec<MockCondition>,
    pub(crate) logs: Rc<RefCell<Vec<LogEntry>>>,
}

/// A custom XEP-0079 condition served by the mock `amp-conditions` import.
#[derive(Clone)]
pub(crate) struct MockCondition {
    pub(crate) info: ConditionInfo,
    pub(crate) validate: fn(&str) -> bool,
    pub(crate) evaluate: fn(&str, &MessageInfo, &Disposition) -> bool,
}

impl State {
    pub(crate) fn condition(&self, name: &str) -> Option<&MockCondition> {
        self.conditions.iter().find(|c| c.info.name == name)
    }
}

/// One call into the plugin: the host, the stanza lent, the grant.
pub(crate) struct Scope {
    pub(crate) host: State,
    pub(crate) stanza: Option<MockStanza>,
    granted: Vec<Capability>,
    /// False for the manifest call `process` makes to learn the grant.
    pub(crate) record_logs: bool,
}

impl Scope {
    /// `Err(Denied)` for a capability this call was not granted.
    pub(crate) fn gate(&self, capability: Capability) -> Result<(), Denied> {
        match self.granted.contains(&capability) {
            true => Ok(()),
            false => Err(Denied { capability }),
        }
    }
}

impl MockHost {
    /// No stanza, no accounts, no configuration, the clock at 0, every
    /// declared capability granted.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stanza `process` and `recheck` get, as the server would lend it
    /// (see [`MockStanza::parse`]). Panics with the reason if it is not one.
    pub fn stanza_xml(mut self, xml: &str) -> Self {
        self.stanza = Some(MockStanza::parse(xml).unwrap_or_else(|e| panic!("MockHost::stanza_xml: {e}\n{xml}")));
        self
    }

    /// A local account (bare JID) with no session bound.
    pub fn account(mut self, bare: &str) -> Self {
        self.state.accounts.entry(bare.to_lowercase()).or_default();
        self
    }

    /// A local account (bare JID) with these sessions bound.
    pub fn sessions(mut self, bare: &str, sessions: &[ResourceInfo]) -> Self {
        self.state.accounts.insert(bare.to_lowercase(), sessions.to_vec());
        self
    }

    /// The plugin's setting `key` (`sess-man/plugins-conf/<id>/<key>`).
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.state.config.insert(key.to_owned(), value.to_owned());
        self
    }

    /// What [`server::now_ms`](crate::server::now_ms) answers.
    pub fn now_ms(mut self, ms: i64) -> Self {
        self.state.now_ms = ms;
        self
    }

    /// Withholds a capability, as `sess-man/plugins-conf/<id>/capabilities`
    /// does: gated calls needing it return `Err(Denied)`.
    pub fn deny(mut self, capability: Capability) -> Self {
        self.state.denied.push(capability);
        self
    }

    /// What `sessions::sender_may_see_presence` answers for a message with
    /// XEP-0079 `<amp>` (for anything else it is false, as on the server).
    pub fn sender_may_see_presence(mut self, may: bool) -> Self {
        self.state.sender_may_see_presence = may;
        self
    }

    /// What `sessions::recipient_is_remote` answers.
    pub fn recipient_is_remote(mut self, remote: bool) -> Self {
        self.state.recipient_is_remote = remote;
        self
    }

    /// Loads a custom XEP-0079 condition, as a component in
    /// `--amp-conditions-dir` would be: the `amp_conditions` calls ask it.
    pub fn amp_condition<C: AmpCondition>(mut self) -> Self {
        self.state.conditions.push(MockCondition { info: C::declare(), validate: C::validate, evaluate: C::evaluate });
        self
    }

    /// Calls `P::manifest()` as the server does at load.
    pub fn manifest<P: Plugin>(&self) -> Manifest {
        self.enter(None, self.allowed(&[Capability::Config, Capability::AmpConditions]), true, P::manifest)
    }

    /// What the server would grant `P`: declared, less what is denied.
    pub fn granted<P: Plugin>(&self) -> Vec<Capability> {
        let at_load = self.allowed(&[Capability::Config, Capability::AmpConditions]);
        self.allowed(&self.enter(None, at_load, false, P::manifest).capabilities)
    }

    /// Calls `P::process` with the stanza, under `P`'s grant.
    pub fn process<P: Plugin>(&self) -> Verdict {
        self.run::<P, _>(P::process)
    }

    /// Calls `P::recheck` with the stanza (a stored message whose expiry
    /// came), under `P`'s grant.
    pub fn recheck<P: Plugin>(&self) -> Recheck {
        self.run::<P, _>(P::recheck)
    }

    /// Runs any code of the plugin with the stanza, under `P`'s grant: for
    /// testing a helper rather than the whole `process`.
    pub fn run<P: Plugin, R>(&self, f: impl FnOnce(&Stanza) -> R) -> R {
        let Some(stanza) = self.stanza.clone() else {
            panic!("MockHost: no stanza to lend; give one with .stanza_xml(\"<message .../>\")");
        };
        let granted = self.granted::<P>();
        let lent = stanza.clone();
        self.enter(Some(stanza), granted, true, || f(&lent.stanza()))
    }

    /// Everything the plugin logged so far, oldest first.
    pub fn logs(&self) -> Vec<LogEntry> {
        self.state.logs.borrow().clone()
    }

    fn allowed(&self, capabilities: &[Capability]) -> Vec<Capability> {
        capabilities.iter().copied().filter(|c| !self.state.denied.contains(c)).collect()
    }

    fn enter<R>(
        &self,
        stanza: Option<MockStanza>,
        granted: Vec<Capability>,
        record_logs: bool,
        f: impl FnOnce() -> R,
    ) -> R {
        let scope = Scope { host: self.state.clone(), stanza, granted, record_logs };
        imports::enter(Rc::new(scope), f)
    }
}

#[cfg(test)]
mod tests;
