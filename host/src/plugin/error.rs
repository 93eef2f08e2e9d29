//! The plugin layer's one error type: why a component could not be loaded.

use std::path::PathBuf;

use super::{WIT_PACKAGE, WIT_VERSION};

/// Why a plugin could not be loaded; each names the plugin and its file.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The wasmtime engine or linker could not be set up.
    #[error("plugin engine: {0}")]
    Engine(String),
    /// The id is not a plain name (it becomes a file name).
    #[error("plugin id {0:?} is not a plain name")]
    InvalidId(String),
    /// The same id appears twice in the chain.
    #[error("plugin {0}: listed twice in the chain")]
    Duplicate(String),
    /// Neither a file nor a built-in plugin has this id.
    #[error("plugin {id}: no {id}.wasm in {dir} and no built-in plugin of that name")]
    NotFound {
        /// The requested id.
        id: String,
        /// The plugin directory searched, or "(none)".
        dir: String,
    },
    /// The file exists but cannot be read.
    #[error("plugin {id}: cannot read {}: {source}", path.display())]
    Read {
        /// The requested id.
        id: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a valid component for this engine.
    #[error("plugin {id} ({file}): cannot compile: {detail}")]
    Compile {
        /// The requested id.
        id: String,
        /// The file, or `<built-in>`.
        file: String,
        /// wasmtime's explanation.
        detail: String,
    },
    /// The component was built for another version of the contract
    /// (checked before linking, from its import and export names).
    #[error("plugin {id} ({file}): built for {WIT_PACKAGE}@{found}, this server provides {WIT_PACKAGE}@{WIT_VERSION}")]
    ApiVersion {
        /// The requested id.
        id: String,
        /// The file, or `<built-in>`.
        file: String,
        /// The version its `xmpp:sm` imports or exports name.
        found: String,
    },
    /// The component does not fit the `sm-plugin` world (WIT mismatch).
    #[error("plugin {id} ({file}): does not implement {WIT_PACKAGE}/sm-plugin@{WIT_VERSION}: {detail}")]
    Link {
        /// The requested id.
        id: String,
        /// The file, or `<built-in>`.
        file: String,
        /// wasmtime's explanation.
        detail: String,
    },
    /// Instantiating or calling `manifest()` failed (a trap, the deadline
    /// or the memory cap); `detail` says which.
    #[error("plugin {id} ({file}): cannot start: {detail}")]
    Start {
        /// The requested id.
        id: String,
        /// The file, or `<built-in>`.
        file: String,
        /// What went wrong.
        detail: String,
    },
    /// The manifest names another plugin than the one configured.
    #[error("plugin {id} ({file}): its manifest calls it {found:?}")]
    IdMismatch {
        /// The requested id.
        id: String,
        /// The file, or `<built-in>`.
        file: String,
        /// The id in the manifest.
        found: String,
    },
    /// The manifest breaks a rule of `wit/types.wit` (version, handles,
    /// features, id).
    #[error("plugin {id} ({file}): invalid manifest: {reason}")]
    InvalidManifest {
        /// The requested id.
        id: String,
        /// The file, or `<built-in>`.
        file: String,
        /// The rule it breaks.
        reason: String,
    },
    /// The plugin's configured limits cannot be honoured.
    #[error("plugin {id}: {reason}")]
    Limits {
        /// The plugin id.
        id: String,
        /// What is wrong with its limits.
        reason: String,
    },
    /// A custom AMP condition (`amp-condition` component) cannot be loaded:
    /// unreadable, not a component of that world, or a bad name.
    #[error("AMP condition {}: {reason}", file.display())]
    Condition {
        /// The component file (or the directory, if it cannot be listed).
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}
