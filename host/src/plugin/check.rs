//! `wasmpp plugin check FILE`: a plugin author's question "would the
//! server load this, and what would it do with it?", answered by the
//! server's own load path ([`PluginHost::check_file`]) on one file, with no
//! network, database or chain involved.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{PluginError, PluginHost, PluginInfo, WIT_PACKAGE, builtin};
use crate::xmpp::StanzaKind;

/// What `plugin check` found in a component that passed every check.
#[derive(Debug)]
pub struct CheckReport {
    /// The file checked.
    pub file: PathBuf,
    /// Its manifest, with what this configuration would grant.
    pub info: PluginInfo,
    /// The contract version it was built for.
    pub api_version: String,
    /// How long compiling took.
    pub compile: Duration,
}

impl CheckReport {
    /// Whether the file name is one the server looks up for the plugin's
    /// id (`<id>.wasm`, or cargo's `<id_with_underscores>.wasm`).
    pub fn named_for_its_id(&self) -> bool {
        let dir = self.file.parent().unwrap_or(Path::new(""));
        builtin::candidates(dir, &self.info.id).contains(&self.file)
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |items: Vec<String>| if items.is_empty() { "(none)".to_owned() } else { items.join(", ") };
        let info = &self.info;
        writeln!(f, "{}: ok", self.file.display())?;
        writeln!(f, "  id            {}", info.id)?;
        writeln!(f, "  version       {}", info.version)?;
        writeln!(f, "  WIT API       {WIT_PACKAGE}@{}", self.api_version)?;
        writeln!(f, "  handles       {}", list(info.handles.iter().map(|k| kind_name(*k).to_owned()).collect()))?;
        writeln!(f, "  features      {}", list(info.features.clone()))?;
        writeln!(f, "  capabilities  {}", list(info.capabilities.iter().map(|c| c.to_string()).collect()))?;
        if info.granted != info.capabilities {
            writeln!(
                f,
                "  granted       {} (narrowed by the configuration)",
                list(info.granted.iter().map(|c| c.to_string()).collect())
            )?;
        }
        writeln!(f, "  compile time  {} ms", self.compile.as_millis())?;
        if !self.named_for_its_id() {
            writeln!(f, "  install as    <plugin-dir>/{}.wasm (the server finds a plugin by its id)", info.id)?;
        }
        Ok(())
    }
}

/// The stanza's element name, as the WIT enum spells the kind.
fn kind_name(kind: StanzaKind) -> &'static str {
    match kind {
        StanzaKind::Message => "message",
        StanzaKind::Presence => "presence",
        StanzaKind::Iq => "iq",
    }
}

impl PluginHost {
    /// Runs every load check on the component in `file` as if it were
    /// configured under the id its file name suggests (whose
    /// `sess-man/plugins-conf/<id>/…` policy applies), except that the
    /// manifest may name any id. Nothing is added to the chain.
    pub fn check_file(&self, file: &Path) -> Result<CheckReport, PluginError> {
        let label = file.file_stem().and_then(|s| s.to_str()).unwrap_or("plugin").replace('_', "-");
        let bytes = std::fs::read(file).map_err(|source| PluginError::Read {
            id: label.clone(),
            path: file.to_owned(),
            source,
        })?;
        let prepared = self.prepare(None, &label, &bytes, &file.display().to_string())?;
        Ok(CheckReport {
            file: file.to_owned(),
            info: prepared.loaded.info,
            api_version: prepared.api,
            compile: prepared.compiled,
        })
    }
}
