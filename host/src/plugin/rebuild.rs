//! Hot reload, the plugin side: a new chain or a new set of custom AMP
//! conditions built from what is on disk now, then published with one
//! store, so a stanza already in the old chain finishes there (it holds the
//! old `Arc`) and the next one takes the new chain.
//!
//! The unit is one component. Each is looked up again (`locate`: the plugin
//! directory, then the built-ins) and hashed; bytes equal to the running
//! version's are reused as they are, the same `Arc` with its warm pool, so
//! a reload that changes nothing costs a few hashes. New or changed bytes
//! go through exactly the start-up checks — compile, link against this
//! host's WIT world, trial instantiation, `manifest()` and its id — and a
//! component failing any of them is rejected: a warning names the file and
//! the reason, and the running version takes its place in the new chain.
//!
//! **Architecture Invariant:** a reload never takes a plugin out of the
//! chain by failing. A plugin with no version that passed (one being
//! enabled whose component is broken) means the new chain is not
//! published at all.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};

use sha2::{Digest as _, Sha256};

use super::chain::{Loaded, PluginChain, Source};
use super::condition::{self, Conditions};
use super::{PluginError, PluginHost, builtin, locate};

/// SHA-256 of a component's bytes: how a reload recognises an unchanged one.
pub(super) fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// What a reload did to one component (a plugin, or a custom AMP
/// condition, whose `version` is empty: conditions have none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The same bytes as the running version: kept, warm instances and all.
    Unchanged {
        /// Plugin id or condition name.
        name: String,
        /// The running version.
        version: String,
    },
    /// New or changed bytes passed every check and serve from now on.
    Loaded {
        /// Plugin id or condition name.
        name: String,
        /// The new version.
        version: String,
        /// Where it came from (a path, or `<built-in>`).
        file: String,
        /// The version it replaced, if one ran.
        replaced: Option<String>,
    },
    /// Failed a check and was not loaded.
    Rejected {
        /// Plugin id, or the condition's running name (else its file name).
        name: String,
        /// The file that failed (a path, or `<built-in>`).
        file: String,
        /// Why, for the operator.
        reason: String,
        /// The version that goes on serving instead, if one ran.
        kept: Option<String>,
    },
    /// Left the chain (disabled) or the conditions directory (deleted).
    Removed {
        /// Plugin id or condition name.
        name: String,
        /// The version that stopped serving.
        version: String,
    },
}

impl Change {
    /// Whether what serves changed (a component loaded or removed).
    pub fn is_update(&self) -> bool {
        matches!(self, Change::Loaded { .. } | Change::Removed { .. })
    }

    /// Whether a component was refused.
    pub fn is_rejection(&self) -> bool {
        matches!(self, Change::Rejected { .. })
    }
}

/// `name version`, or `name` for a condition.
fn labelled(name: &str, version: &str) -> String {
    if version.is_empty() { name.to_owned() } else { format!("{name} {version}") }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Unchanged { name, version } => write!(f, "{}: unchanged", labelled(name, version)),
            Change::Loaded { name, version, file, replaced } => {
                write!(f, "{}: loaded from {file}", labelled(name, version))?;
                match replaced.as_deref() {
                    Some("") => f.write_str(", replacing the running one"),
                    Some(old) => write!(f, ", replacing {old}"),
                    None => Ok(()),
                }
            }
            Change::Rejected { name, file, reason, kept } => {
                write!(f, "{name}: rejected {file}: {reason}; ")?;
                match kept {
                    Some(version) => write!(f, "{} keeps serving", labelled(name, version)),
                    None => f.write_str("nothing of that name is loaded"),
                }
            }
            Change::Removed { name, version } => write!(f, "{}: removed", labelled(name, version)),
        }
    }
}

/// What [`PluginHost::rebuild_chain`] did.
#[derive(Clone, Debug)]
pub struct Rebuild {
    /// One entry per plugin of the old and the new chain, in chain order,
    /// then the removed ones.
    pub changes: Vec<Change>,
    /// Whether the new chain was published (see the module's invariant).
    pub published: bool,
}

impl PluginHost {
    /// Builds the chain `ids` again from `plugin_dir` and the built-ins,
    /// component by component as the module docs describe, and publishes
    /// it unless a plugin of it has no version at all. With `remanifest`,
    /// reused plugins are asked for their manifest again (the `amp`
    /// plugin lists the custom conditions in its features).
    /// Blocking and slow when something changed (tens of ms per compiled
    /// plugin): call it off the hot path.
    pub fn rebuild_chain(&self, ids: &[String], plugin_dir: Option<&Path>, remanifest: bool) -> Rebuild {
        let current = self.chain();
        let mut next: Vec<Arc<Loaded>> = Vec::with_capacity(ids.len());
        let mut changes = Vec::with_capacity(ids.len());
        let mut complete = true;
        for id in ids {
            if next.iter().any(|p| &p.info.id == id) {
                continue;
            }
            let running = current.loaded(id);
            match self.rebuild_plugin(id, plugin_dir, running, remanifest) {
                Ok((loaded, change)) => {
                    next.push(loaded);
                    changes.push(change);
                }
                Err((file, reason)) => {
                    let kept = running.map(|r| r.info.version.clone());
                    tracing::warn!(plugin = %id, %file, %reason, kept = kept.as_deref().unwrap_or("none"),
                        "plugin component rejected; the running version keeps serving");
                    changes.push(Change::Rejected { name: id.clone(), file, reason, kept });
                    match running {
                        Some(running) => next.push(running.clone()),
                        None => complete = false,
                    }
                }
            }
        }
        for gone in current.plugins().iter().filter(|p| !ids.contains(&p.id)) {
            changes.push(Change::Removed { name: gone.id.clone(), version: gone.version.clone() });
        }
        if complete {
            self.chain.store(Arc::new(PluginChain::new(next)));
        }
        Rebuild { changes, published: complete }
    }

    /// The plugin `id` as it should serve now, or the file and the reason
    /// it cannot.
    fn rebuild_plugin(
        &self,
        id: &str,
        plugin_dir: Option<&Path>,
        running: Option<&Arc<Loaded>>,
        remanifest: bool,
    ) -> Result<(Arc<Loaded>, Change), (String, String)> {
        let (bytes, origin) = locate(id, plugin_dir).map_err(|e| (expected_file(id, plugin_dir), e.to_string()))?;
        let source = Source { file: origin.to_string(), digest: digest(&bytes) };
        if let Some(running) = running.filter(|r| r.source.digest == source.digest) {
            let unchanged = Change::Unchanged { name: id.to_owned(), version: running.info.version.clone() };
            if !remanifest {
                return Ok((running.clone(), unchanged));
            }
            let refreshed = running.remanifested().map_err(|reason| (source.file.clone(), reason))?;
            return Ok((Arc::new(refreshed), unchanged));
        }
        let file = source.file.clone();
        let loaded = self.load(id, &bytes, origin).map_err(|e| (file.clone(), e.to_string()))?;
        let change = Change::Loaded {
            name: id.to_owned(),
            version: loaded.info.version.clone(),
            file,
            replaced: running.map(|r| r.info.version.clone()),
        };
        Ok((Arc::new(loaded.with_source(source)), change))
    }

    /// Loads the custom AMP conditions in `dir` again, file by file like
    /// the chain: unchanged files keep their loaded condition, a new or
    /// changed file is compiled and checked, and one that fails (or takes
    /// a name already in use) is rejected while the condition its file
    /// held before, if any, stays. A deleted file's condition goes.
    /// Publishes the new set when something was loaded or removed.
    pub fn rebuild_conditions(&self, dir: &Path) -> Vec<Change> {
        let previous = self.conditions.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let loaded_from = |file: &Path| previous.loaded.iter().find(|c| c.file == file).cloned();
        let mut changes = Vec::new();
        let (files, linker) = match condition::component_files(dir)
            .and_then(|f| Ok((f, condition::linker(&self.runtime)?)))
        {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "AMP conditions not reloaded; the loaded ones keep serving");
                let name = dir.display().to_string();
                return vec![Change::Rejected {
                    name,
                    file: dir.display().to_string(),
                    reason: e.to_string(),
                    kept: None,
                }];
            }
        };
        // Unchanged files first, so a new file cannot take a running name.
        let mut next: Vec<Arc<condition::Loaded>> = Vec::new();
        let mut fresh: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        for file in files.iter().cloned() {
            let bytes = match condition::read(&file) {
                Ok(bytes) => bytes,
                Err(e) => {
                    changes.push(reject_condition(&file, e, loaded_from(&file), &mut next));
                    continue;
                }
            };
            match loaded_from(&file) {
                Some(running) if running.digest == digest(&bytes) => {
                    changes.push(Change::Unchanged { name: running.info.name.clone(), version: String::new() });
                    next.push(running);
                }
                _ => fresh.push((file, bytes)),
            }
        }
        for (file, bytes) in fresh {
            let running = loaded_from(&file);
            let checked = condition::load_one(&self.runtime, &self.cache, &self.env.metrics, &linker, &file, &bytes)
                .and_then(|c| {
                    condition::check_name(&c.info.name, &next)
                        .map(|()| c)
                        .map_err(|reason| PluginError::Condition { file: file.clone(), reason })
                });
            match checked {
                Ok(c) => {
                    let replaced = running.map(|_| String::new());
                    let file = file.display().to_string();
                    changes.push(Change::Loaded { name: c.info.name.clone(), version: String::new(), file, replaced });
                    next.push(Arc::new(c));
                }
                Err(e) => changes.push(reject_condition(&file, e, running, &mut next)),
            }
        }
        for gone in previous.loaded.iter().filter(|c| !files.contains(&c.file)) {
            changes.push(Change::Removed { name: gone.info.name.clone(), version: String::new() });
        }
        if changes.iter().any(Change::is_update) {
            self.publish_conditions(Conditions { loaded: next });
        }
        changes
    }
}

/// Logs and records a refused condition file; the condition it held
/// before (if any, and if its name is still free) goes on serving.
fn reject_condition(
    file: &Path,
    error: PluginError,
    running: Option<Arc<condition::Loaded>>,
    next: &mut Vec<Arc<condition::Loaded>>,
) -> Change {
    let reason = match error {
        PluginError::Condition { reason, .. } => reason,
        other => other.to_string(),
    };
    let running = running.filter(|r| condition::check_name(&r.info.name, next).is_ok());
    let name = running.as_ref().map_or_else(
        || file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned()),
        |r| r.info.name.clone(),
    );
    tracing::warn!(condition = %name, file = %file.display(), %reason, kept = running.is_some(),
        "AMP condition component rejected; the running version keeps serving");
    let kept = running.map(|r| {
        next.push(r);
        String::new()
    });
    Change::Rejected { name, file: file.display().to_string(), reason, kept }
}

/// The file a missing plugin was looked for in, for the rejection.
fn expected_file(id: &str, plugin_dir: Option<&Path>) -> String {
    match plugin_dir {
        Some(dir) => builtin::candidates(dir, id)[0].display().to_string(),
        None => "<built-in>".to_owned(),
    }
}

#[cfg(test)]
#[path = "rebuild_tests.rs"]
mod tests;
