//! Custom XEP-0079 conditions (the `xmpp:sm/amp-condition@0.2.1` world):
//! implement [`AmpCondition`] and call [`export_condition!`](crate::export_condition) once.
//!
//! A condition is pure logic over a narrow view of the message
//! ([`MessageInfo`]) and the default disposition the server computed
//! ([`Disposition`], XEP-0079 §3.3.1). The component imports nothing but
//! [`log`](crate::log): it cannot route, store or look at sessions, so a
//! user-written condition can only ever answer "met" or "not met".
//!
//! ```ignore
//! struct Shouting;
//! impl wasmpp_guest_sdk::AmpCondition for Shouting {
//!     fn declare() -> ConditionInfo {
//!         ConditionInfo { name: "shouting".into(), presence_safe: true, per_hop: true }
//!     }
//!     fn validate(value: &str) -> bool { value == "true" }
//!     fn evaluate(_value: &str, message: &MessageInfo, _d: &Disposition) -> bool {
//!         message.body.as_deref().is_some_and(|b| b.chars().any(char::is_uppercase))
//!     }
//! }
//! wasmpp_guest_sdk::export_condition!(Shouting);
//! ```
//!
//! This is not the [`amp_conditions`](crate::amp_conditions) module: that one
//! is how the `amp` plugin *calls* the conditions the host loaded.

use crate::types::{ConditionInfo, Disposition, MessageInfo};

/// One custom XEP-0079 condition, answering to the `condition` attribute
/// value it declares (R29 of the AMP requirements: a condition states its
/// name, whether it applies per hop, its value syntax and when it is met).
///
/// All functions are associated (no `self`): the host keeps several warm
/// instances and discards one that faults, so statics are per instance.
/// A trap, an endless loop or runaway memory in `validate` or `evaluate` is
/// contained by the host and counts as "invalid" or "not met".
pub trait AmpCondition: 'static {
    /// The condition's name (an XML NCName, other than the defined
    /// `deliver`, `expire-at` and `match-resource`), whether it is
    /// presence-safe and whether it applies per hop. Called once at load.
    ///
    /// `presence_safe` tells the server's security level (ruling D15) that
    /// the condition reveals nothing about the recipient's presence, so a
    /// rule using it is never refused as "leaky". Declare it only if
    /// `evaluate` ignores `disposition` or uses it in a way a sender cannot
    /// learn presence from.
    fn declare() -> ConditionInfo;

    /// Whether `value` is well-formed; a rule with a malformed value is
    /// refused with `<invalid-rules/>` before the message goes anywhere.
    fn validate(value: &str) -> bool;

    /// Whether the condition with `value` (already validated) is met by
    /// `message`, given what the server would do with it.
    fn evaluate(value: &str, message: &MessageInfo, disposition: &Disposition) -> bool;
}

/// Generated bindings of the `amp-condition` world; not part of the API
/// (used by [`export_condition!`](crate::export_condition)).
///
/// The shared types and `log` are mapped onto the `sm-plugin` bindings so a
/// crate sees one `MessageInfo`, one `log`, whichever world it exports.
#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod __condition_bindings {
    wit_bindgen::generate!({
        world: "amp-condition",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_amp_condition",
        default_bindings_module: "::wasmpp_guest_sdk::condition::__condition_bindings",
        with: {
            "xmpp:sm/types@0.2.1": crate::__bindings::xmpp::sm::types,
            "xmpp:sm/log@0.2.1": crate::__bindings::xmpp::sm::log,
        },
    });

    use super::AmpCondition;
    use crate::types::{ConditionInfo, Disposition, MessageInfo};
    use exports::xmpp::sm::condition::Guest;

    /// Bridges the public [`AmpCondition`] trait onto the generated export trait.
    pub struct Adapter<T>(core::marker::PhantomData<T>);

    impl<T: AmpCondition> Guest for Adapter<T> {
        fn declare() -> ConditionInfo {
            T::declare()
        }

        fn validate(value: String) -> bool {
            T::validate(&value)
        }

        fn evaluate(value: String, message: MessageInfo, disposition: Disposition) -> bool {
            T::evaluate(&value, &message, &disposition)
        }
    }
}

/// Exports an [`AmpCondition`] implementation as the component's
/// `condition` interface.
///
/// Expands to nothing outside `wasm32`, so condition crates still build
/// (and their logic is unit-tested) on the host target. A crate exports
/// either a plugin or a condition, never both.
#[macro_export]
macro_rules! export_condition {
    ($condition:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __WasmppCondition = $crate::condition::__condition_bindings::Adapter<$condition>;
            $crate::condition::__condition_bindings::__export_amp_condition! {
                __WasmppCondition with_types_in $crate::condition::__condition_bindings
            }
        };
    };
}
