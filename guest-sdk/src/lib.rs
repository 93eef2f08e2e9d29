//! Write wasmpp session-manager plugins (the `xmpp:sm/sm-plugin@0.2.1` world
//! in `wit/`) as plain Rust.
//!
//! The generated WIT bindings stay private (`__bindings`): plugin authors
//! implement [`Plugin`], call [`export_plugin!`] once, and use the small
//! wrappers here, so the contract can evolve without breaking every plugin.
//!
//! ```ignore
//! struct Echo;
//! impl wasmpp_guest_sdk::Plugin for Echo {
//!     fn manifest() -> Manifest { .. }
//!     fn process(stanza: &Stanza) -> Verdict { Verdict::Pass }
//! }
//! wasmpp_guest_sdk::export_plugin!(Echo);
//! ```
//!
//! The crate also compiles for the host target, where [`testing::MockHost`]
//! answers the calls into the host: `cargo test` runs a plugin's real
//! `process` natively against a stanza written as XML, sessions, settings
//! and a clock the test chooses. Decisions kept in pure functions (like
//! [`routing`]) need not even that.
//!
//! # Capabilities
//! A plugin may always read its stanza, [`log`] and read the clock
//! ([`server::now_ms`]). Anything else is a [`Capability`] it lists in its
//! [`Manifest`] ([`Manifest::with_capabilities`]): the [`sessions`] view,
//! its [`server::config`], the [`amp_conditions`], and the effects
//! [`Effect::Deliver`], [`Effect::StoreOffline`]/[`Effect::FlushOffline`]/
//! [`Effect::StoreAmp`] and [`Effect::Send`]. The host grants what the
//! manifest lists and the operator allows; a gated call without the grant
//! returns `Err(`[`Denied`]`)`, and a verdict with an effect it does not
//! cover is refused (the stanza goes on as if the plugin had passed).
//!
//! # Layout
//! - [`stanza`]: the borrowed [`Stanza`] and its accessors; [`packed`] reads
//!   the packed attributes of [`Stanza::child_attrs`].
//! - [`sessions`], [`log`], [`server`] (clock, configuration),
//!   [`amp_conditions`] (custom XEP-0079 conditions): the other host imports.
//! - [`types`]: the plain WIT types, re-exported with helper constructors.
//! - [`arena`]: an opt-in per-call bump allocator for allocation-heavy plugins.
//! - [`routing`]: RFC 6121 §8.5 routing decisions shared by delivery plugins.
//! - [`offline`]: XEP-0160 storage policy shared by storing plugins.
//! - [`condition`]: the other world, a custom XEP-0079 condition
//!   ([`AmpCondition`], [`export_condition!`]).
//! - `testing` (not in components): the mock host for native unit tests.
#![warn(missing_docs)]

pub mod amp_conditions;
pub mod arena;
pub mod condition;
mod host;
pub mod log;
pub mod offline;
pub mod packed;
pub mod routing;
pub mod server;
pub mod sessions;
pub mod stanza;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod types;

pub use condition::AmpCondition;
pub use stanza::Stanza;
pub use types::{
    AddresseeInfo, Capability, Condition, ConditionInfo, DeliverValue, Denied, Disposition, Effect, ElementView,
    ErrorType, KeptFate, LeafView, Manifest, MessageInfo, MessageType, PackedAttrs, Recheck, ResourceInfo, StanzaError,
    StanzaKind, Verdict,
};

/// Generated bindings; not part of the API (used by [`export_plugin!`]).
#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod __bindings {
    wit_bindgen::generate!({
        world: "sm-plugin",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_sm_plugin",
        default_bindings_module: "::wasmpp_guest_sdk::__bindings",
        additional_derives: [PartialEq, Eq],
    });

    /// Bridges the public [`Plugin`](crate::Plugin) trait onto the generated export trait
    /// (components only: natively the stanza is a mock, see `testing`).
    #[cfg(target_arch = "wasm32")]
    pub struct Adapter<T>(core::marker::PhantomData<T>);

    #[cfg(target_arch = "wasm32")]
    impl<T: super::Plugin> exports::xmpp::sm::plugin::Guest for Adapter<T> {
        fn manifest() -> super::Manifest {
            T::manifest()
        }

        fn process(s: &xmpp::sm::stanza::Stanza) -> super::Verdict {
            T::process(&super::Stanza::new(s))
        }

        fn recheck(s: &xmpp::sm::stanza::Stanza) -> super::Recheck {
            T::recheck(&super::Stanza::new(s))
        }
    }
}

/// A session-manager plugin: one link of the host's chain.
///
/// Both functions are associated (no `self`): the host may run several warm
/// instances of a plugin and discards one after a fault, so state kept in
/// statics is per instance and must not be relied on across stanzas.
pub trait Plugin: 'static {
    /// Describes the plugin; called once when the host loads it. `id` must
    /// equal the name the plugin is configured under; `version` is
    /// semver-like; `handles` is not empty; `capabilities` lists everything
    /// the plugin uses beyond its stanza, logging and the clock. Only
    /// [`server::config`] and [`amp_conditions`] may be called from here.
    fn manifest() -> Manifest;

    /// Decides what happens to one stanza of a kind listed in the manifest.
    fn process(stanza: &Stanza) -> Verdict;

    /// Decides the fate of a message this plugin stored with
    /// [`Effect::StoreAmp`] once its expiry has passed. Only plugins that
    /// store with an expiry are ever called; the default discards, because
    /// an expired message must never be delivered (XEP-0079 §7).
    fn recheck(_stanza: &Stanza) -> Recheck {
        Recheck { events: Vec::new(), fate: KeptFate::Discard }
    }
}

/// Exports a [`Plugin`] implementation as the component's `plugin` interface.
///
/// Expands to nothing outside `wasm32`, so plugin crates still build (and
/// their pure logic is unit-tested) on the host target.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __WasmppPlugin = $crate::__bindings::Adapter<$plugin>;
            $crate::__bindings::__export_sm_plugin! { __WasmppPlugin with_types_in $crate::__bindings }
        };
    };
}
