//! XEP-0079 Advanced Message Processing, as the `amp` plugin of the
//! session-manager chain: a pure core, natively tested, and the WASM glue
//! ([`glue`]) that feeds it from the host.
//!
//! The plugin replaces `message` + `msgoffline`: it routes every
//! `<message/>` and, for one carrying `<amp xmlns='http://jabber.org/protocol/amp'>`,
//! runs XEP-0079 §2.2's flow. Each step is one module here, a pure function
//! over plain values, so that the WASM glue only gathers facts from the host
//! and performs effects (see README.md for what it needs from the host):
//!
//! 1. **Screen** ([`request::should_evaluate`], D13): error messages and
//!    server-made events are not requests.
//! 2. **Validate** ([`request::validate`], R17, R19, D6–D15): every rule,
//!    before anything else, with the security level's refusals
//!    ([`security`], D15); a [`Rejection`] becomes the error of
//!    [`events::rejection`].
//! 3. **Default disposition** ([`strategy::default_disposition`], R20): from
//!    the SDK's routing and the offline store's answer.
//! 4. **Evaluate** ([`resolver::resolve`], R21, D4): first match wins.
//! 5. **Act**: [`Outcome`] says whether the default disposition proceeds and
//!    which event ([`events::event`]) goes to the sender. A stored message
//!    keeps its `expire-at` rules ([`resolver::kept_for_storage`]) and is
//!    [`resolver::recheck`]ed by the sweeper or at flush (D18).
//!
//! # Layout
//! - [`node`]: the small owned XML tree the codec reads and writes.
//! - [`ns`]: namespaces and disco feature strings (R7, R8, R12, R58).
//! - [`datetime`]: XEP-0082 UTC DateTime for `expire-at` (R33, R34, D18).
//! - [`rules`]: the rule codec — actions, conditions, values (R17, R53–R55).
//! - [`request`]: whole-request validation (R19, D6, D7, D9–D13).
//! - [`security`]: the STRICT/PERFORMANCE/NONE levels (R59–R61, D15).
//! - [`strategy`]: the default disposition (R20, R30).
//! - [`resolver`]: rule evaluation at receipt and in storage (R21, R35, R38–R40, D3, D4, D18).
//! - [`events`]: alert/notify/error events and error replies (R24–R27, R41–R57, D1, D2, D16).
#![warn(missing_docs)]

pub mod datetime;
pub mod events;
pub mod glue;
pub mod node;
pub mod ns;
pub mod request;
pub mod resolver;
pub mod rules;
pub mod security;
pub mod strategy;

#[cfg(test)]
mod testing;

/// Every AMP message allocates its rules, events and delivered `<amp>`
/// anew, all freed once the host has read the verdict: a per-call bump
/// region serves them for a few instructions each (see the SDK's `arena`).
#[cfg(all(target_arch = "wasm32", feature = "export"))]
#[global_allocator]
static ALLOC: wasmpp_guest_sdk::arena::CallArena = wasmpp_guest_sdk::arena::CallArena::new();

pub use datetime::Timestamp;
pub use events::{AmpError, Original, Reply};
pub use node::Node;
pub use request::{AmpRequest, Origin, Policy, Reason, Rejection};
pub use resolver::{Context, Hop, Outcome, Recheck};
pub use rules::{
    Action, Condition, CustomConditions, Declaration, DeliverValue, MatchResource, NoCustomConditions, Offence,
    OffenceKind, RawRule, Rule,
};
pub use security::SecurityLevel;
pub use strategy::{Disposition, Offline, Recipient, Undelivered};
