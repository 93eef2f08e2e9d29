//! Where the host imports come from: the generated WIT bindings in a
//! component, the [`testing`](crate::testing) mock host everywhere else.
//! Both have the same functions and signatures, so every wrapper in this
//! crate is one piece of code for both.

#[cfg(target_arch = "wasm32")]
pub(crate) use crate::__bindings::xmpp::sm::{amp_conditions, log, server, sessions, stanza};
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::testing::{amp_conditions, log, server, sessions, stanza_resource as stanza};
