//! The server's clock and this plugin's configuration.
//!
//! Plugins read the time from the host rather than from WASI so that every
//! plugin and the host agree on "now", and tests can move it.

use crate::host::server as wit;
use crate::types::Denied;

/// Now, in ms since the Unix epoch (UTC), by the host's clock. Every
/// plugin may read it.
pub fn now_ms() -> i64 {
    wit::now_ms()
}

/// This plugin's setting `key` (`sess-man/plugins-conf/<id>/<key>`, or a
/// value the host derives for the plugin); `Ok(None)` when unset. Needs
/// [`Capability::Config`](crate::Capability::Config).
pub fn config(key: &str) -> Result<Option<String>, Denied> {
    wit::config(key)
}
