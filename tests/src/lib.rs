//! End-to-end test support: a real wasmpp on 127.0.0.1:0 ([`server`]) and an
//! independent XMPP client ([`client`], [`xml`]) that shares no code with the
//! server's parser or SASL implementation; [`metrics`] scrapes the
//! Prometheus endpoint the same way.

pub mod client;
pub mod metrics;
pub mod server;
pub mod xml;
