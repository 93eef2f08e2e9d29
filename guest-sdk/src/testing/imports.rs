//! The host imports natively: the same functions as the generated WIT
//! bindings (`crate::host` picks one or the other), answered by the
//! [`MockHost`](super::MockHost) whose call is running on this thread.

use std::cell::RefCell;
use std::rc::Rc;

use super::Scope;

thread_local! {
    /// The scope of the `MockHost` call running on this thread, if any.
    static CURRENT: RefCell<Option<Rc<Scope>>> = const { RefCell::new(None) };
}

/// Makes `scope` the host for the duration of `f` (restoring the previous
/// one after, also when `f` panics, so a failed assertion cannot leak it
/// into the next test on this thread).
pub(super) fn enter<R>(scope: Rc<Scope>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Rc<Scope>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| *c.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.borrow_mut().replace(scope)));
    f()
}

/// The running scope; a host import outside one is a mistake in the test.
fn current(import: &str) -> Rc<Scope> {
    CURRENT.with(|c| c.borrow().clone()).unwrap_or_else(|| {
        panic!(
            "wasmpp_guest_sdk: `{import}` is a host call, and no host is running on this thread: \
             in a native test, call the plugin through wasmpp_guest_sdk::testing::MockHost"
        )
    })
}

/// The WIT `stanza` resource is the parsed [`MockStanza`](super::MockStanza).
pub(crate) mod stanza {
    pub(crate) use crate::testing::MockStanza as Stanza;
}

pub(crate) mod sessions {
    use super::current;
    use crate::types::{AddresseeInfo, Capability, Denied, ResourceInfo};

    pub(crate) fn resources(bare: &str) -> Result<Vec<ResourceInfo>, Denied> {
        let scope = current("sessions::resources");
        scope.gate(Capability::Sessions)?;
        Ok(scope.host.accounts.get(bare).cloned().unwrap_or_default())
    }

    pub(crate) fn addressee() -> Result<AddresseeInfo, Denied> {
        let scope = current("sessions::addressee");
        scope.gate(Capability::Sessions)?;
        let stanza = scope.stanza.as_ref();
        let to_bare = stanza.and_then(|s| s.to_bare());
        let remote = scope.host.recipient_is_remote;
        let sessions = to_bare.as_ref().filter(|_| !remote).and_then(|b| scope.host.accounts.get(b)).cloned();
        Ok(AddresseeInfo {
            exists: sessions.is_some(),
            sessions: sessions.unwrap_or_default(),
            to_resource: stanza.and_then(|s| s.to_resource()),
            to_bare,
            remote,
        })
    }

    pub(crate) fn recipient_exists() -> Result<bool, Denied> {
        let scope = current("sessions::recipient_exists");
        scope.gate(Capability::Sessions)?;
        let bare = scope.stanza.as_ref().and_then(|s| s.to_bare());
        Ok(bare.is_some_and(|b| scope.host.accounts.contains_key(&b)))
    }

    pub(crate) fn sender_may_see_presence() -> Result<bool, Denied> {
        let scope = current("sessions::sender_may_see_presence");
        scope.gate(Capability::Sessions)?;
        // The server resolves it only for messages carrying XEP-0079 <amp>.
        let has_amp = scope.stanza.as_ref().is_some_and(|s| s.has_child("amp", crate::testing::AMP));
        Ok(has_amp && scope.host.sender_may_see_presence)
    }

    pub(crate) fn recipient_is_remote() -> Result<bool, Denied> {
        let scope = current("sessions::recipient_is_remote");
        scope.gate(Capability::Sessions)?;
        Ok(scope.host.recipient_is_remote)
    }
}

pub(crate) mod server {
    use super::current;
    use crate::types::{Capability, Denied};

    pub(crate) fn now_ms() -> i64 {
        current("server::now_ms").host.now_ms
    }

    pub(crate) fn config(key: &str) -> Result<Option<String>, Denied> {
        let scope = current("server::config");
        scope.gate(Capability::Config)?;
        Ok(scope.host.config.get(key).cloned())
    }
}

pub(crate) mod log {
    pub use crate::__bindings::xmpp::sm::log::Level;

    /// Recorded for [`MockHost::logs`](crate::testing::MockHost::logs) and
    /// printed, so a failing test shows what the plugin said. Outside a
    /// `MockHost` call (a pure helper that logs) it is only printed.
    pub(crate) fn log(level: Level, message: &str) {
        eprintln!("plugin log {level:?}: {message}");
        if let Some(scope) = super::CURRENT.with(|c| c.borrow().clone())
            && scope.record_logs
        {
            scope.host.logs.borrow_mut().push(crate::testing::LogEntry { level, message: message.to_owned() });
        }
    }
}

pub(crate) mod amp_conditions {
    use super::current;
    use crate::types::{Capability, ConditionInfo, Denied, Disposition};

    pub(crate) fn declared() -> Result<Vec<ConditionInfo>, Denied> {
        let scope = current("amp_conditions::declared");
        scope.gate(Capability::AmpConditions)?;
        Ok(scope.host.conditions.iter().map(|c| c.info.clone()).collect())
    }

    pub(crate) fn validate(name: &str, value: &str) -> Result<bool, Denied> {
        let scope = current("amp_conditions::validate");
        scope.gate(Capability::AmpConditions)?;
        Ok(scope.host.condition(name).is_some_and(|c| (c.validate)(value)))
    }

    pub(crate) fn evaluate(name: &str, value: &str, disposition: &Disposition) -> Result<bool, Denied> {
        let scope = current("amp_conditions::evaluate");
        scope.gate(Capability::AmpConditions)?;
        let Some(stanza) = &scope.stanza else {
            panic!("amp_conditions::evaluate is answered for the current message: call it from process or recheck");
        };
        let info = stanza.message_info();
        Ok(scope.host.condition(name).is_some_and(|c| (c.evaluate)(value, &info, disposition)))
    }
}
