//! wasmpp: an XMPP server (RFC 6120/6121) whose session-manager plugin chain
//! runs as WebAssembly components.
//!
//! # Layout
//! - [`xml`]: bytes ↔ elements; the only code that sees raw XML.
//! - [`xmpp`]: typed stanzas, JIDs, namespaces, stanza and stream errors.
//! - [`c2s`]: client connections — STARTTLS, SASL, registration, binding,
//!   then a bound session's reader/writer tasks.
//! - [`sm`]: the session manager — what happens to a stanza from a client.
//! - [`plugin`]: the wasmtime runtime running the WASM plugin chain.
//! - [`reload`]: hot reload of that chain (watcher, SIGHUP, admin command).
//! - [`router`]: local delivery and the effects plugins return.
//! - [`store`]: accounts over sqlx (SQLite, PostgreSQL, MySQL/MariaDB).
//! - [`config`]: CLI flags and Tigase-style `init.properties`.
//! - [`metrics`]: server and plugin counters, the Prometheus endpoint.
//! - [`server`]: start-up; [`services`]: the handles tasks share.
//! - [`toolkit`]: `wasmpp plugin new`, for plugin authors.
//!
//! See `host/ARCHITECTURE.md` for the path of one `<message/>`.

pub mod c2s;
pub mod clock;
pub mod config;
pub mod metrics;
pub mod plugin;
pub mod reload;
pub mod router;
pub mod server;
pub mod services;
pub mod sm;
pub mod store;
pub mod toolkit;
pub mod xml;
pub mod xmpp;
