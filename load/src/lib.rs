//! `wasmpp-load`: a load generator for any XMPP server (RFC 6120/6121), with
//! scenarios for registration (XEP-0077), logins, idle sessions, chat, offline
//! storage (XEP-0160/0203) and AMP (XEP-0079).
//!
//! It is a tokio program with one task per connection. The per-message path
//! never builds a tree: [`xml::Framer`] finds complete top-level elements,
//! [`xml::Stanza`] reads `id`/`type` from their bytes, and the latency comes
//! from a send timestamp carried in the message id ([`xmpp::Stamp`]). Writes
//! are batched per connection. The tool shares no code with the server it
//! measures.
//!
//! # Layout
//! - `args` — the command line and its option table.
//! - `xml/` — framer, byte scanner, small negotiation tree.
//! - `net/` — TCP, STARTTLS (accept-any-certificate verifier), buffered stream.
//! - `xmpp/` — negotiation, SASL, registration, message template and stamps.
//! - `stats/` — latency histograms, progress line, server VmRSS.
//! - `scenario/` — one file per scenario; `chat/` also runs `amp`.
//! - `report` — summary table and JSON line.

pub mod args;
pub mod net;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod xml;
pub mod xmpp;

pub use args::{Options, Scenario, TlsMode};
pub use report::{Report, Status};
pub use scenario::run;

/// Raises the soft open-file limit to the hard one: ten thousand idle
/// sessions need ten thousand sockets. Returns the limit now in force.
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    // `rlim_t` is not u64 on every platform.
    #[allow(clippy::unnecessary_cast)]
    let current = lim.rlim_cur as u64;
    current
}
