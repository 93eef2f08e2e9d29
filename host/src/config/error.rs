//! Configuration errors, which name the key and where its value came from (file:line or
//! command line), so the operator can go straight to the value to fix.

use std::fmt;

/// Where a configuration value came from, so an error points the operator at the line to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The key table's default.
    Default,
    /// A `--key=value` argument.
    CommandLine,
    /// Line `line` (1-based) of the properties file `name`.
    File {
        /// The file name as the operator wrote it.
        name: String,
        /// 1-based line number.
        line: usize,
    },
    /// A check that spans values whose origin is not known (e.g. a chain resolved from
    /// toggles built in code).
    Unknown,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::CommandLine => f.write_str("command line"),
            Origin::File { name, line } => write!(f, "{name}:{line}"),
            Origin::Unknown => f.write_str("configuration"),
        }
    }
}

/// A rejected key or value. Displays as `init.properties:3: --c2s-ports: "52x2" is not a
/// port number (expected …)`, which is everything the operator needs to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {key}: {message}")]
pub struct ConfigError {
    /// Where the offending value was given.
    pub origin: Origin,
    /// The key as shown to operators (`--c2s-ports`), or the offending word for arguments.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(origin: &Origin, key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError { origin: origin.clone(), key: key.into(), message: message.into() }
    }
}
