//! The plugins shipped inside the binary, and where `cargo build` put every
//! guest it built (see `host/build.rs`).
//!
//! Embedding `message` and `msgoffline` means a fresh install routes RFC 6121 §8.5 messages
//! without any plugin directory configured.

use std::path::{Path, PathBuf};

/// Directory holding every guest component this build produced, as
/// `<id>.wasm` (including the fault-test plugins, which are not embedded).
pub const GUEST_DIR: &str = env!("WASMPP_GUEST_DIR");

/// `(id, component bytes)` of the embedded plugins.
const EMBEDDED: &[(&str, &[u8])] = &[
    ("amp", include_bytes!(concat!(env!("OUT_DIR"), "/amp.wasm"))),
    ("message", include_bytes!(concat!(env!("OUT_DIR"), "/message.wasm"))),
    ("msgoffline", include_bytes!(concat!(env!("OUT_DIR"), "/msgoffline.wasm"))),
];

/// Where a plugin's bytes came from, for error messages and logs.
#[derive(Clone, Debug)]
pub(super) enum Origin {
    File(PathBuf),
    Builtin,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Builtin => f.write_str("<built-in>"),
        }
    }
}

/// Ids of the embedded plugins.
pub(super) fn ids() -> impl Iterator<Item = &'static str> {
    EMBEDDED.iter().map(|(id, _)| *id)
}

/// The embedded component for `id`.
pub(super) fn bytes(id: &str) -> Option<&'static [u8]> {
    EMBEDDED.iter().find(|(i, _)| *i == id).map(|(_, b)| *b)
}

/// Candidate files for `id` in `dir`: `<id>.wasm`, then the name cargo gives
/// a cdylib crate `<id>` (`-` becomes `_`), so a target directory works too.
pub(super) fn candidates(dir: &Path, id: &str) -> Vec<PathBuf> {
    let mut files = vec![dir.join(format!("{id}.wasm"))];
    if id.contains('-') {
        files.push(dir.join(format!("{}.wasm", id.replace('-', "_"))));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_is_embedded_and_is_a_component() {
        let bytes = bytes("message").unwrap();
        // Component binaries carry layer 1 in the version field (0x0d 0x00 0x01 0x00).
        assert_eq!(&bytes[..8], b"\0asm\x0d\x00\x01\x00");
        assert_eq!(ids().collect::<Vec<_>>(), ["amp", "message", "msgoffline"]);
    }

    #[test]
    fn candidates_include_cargo_artifact_names() {
        let c = candidates(Path::new("/p"), "fault-trap");
        assert_eq!(c, [PathBuf::from("/p/fault-trap.wasm"), PathBuf::from("/p/fault_trap.wasm")]);
        assert_eq!(candidates(Path::new("/p"), "message").len(), 1);
    }
}
