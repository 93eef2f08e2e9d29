//! The plugin directory watcher (`--plugin-watch`, on by default): a
//! `notify` watch on `--plugin-dir` and `--amp-conditions-dir` that reloads
//! once a `*.wasm` file there has been quiet for [`QUIET`].
//!
//! Waiting for quiet covers the usual ways a file arrives: copied in place
//! (many writes), or written elsewhere and renamed in (one event). A file
//! still being written when the reload reads it fails to compile and is
//! rejected like any broken component; the writes that follow are events
//! too, so the next reload takes the finished file. Events that arrive
//! during a reload ring the bell again, and reloads take turns, so the
//! last state of the directory is always the one that ends up loaded.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, DebouncedEventKind, new_debouncer};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{Reloader, Trigger};

/// How long a component file must stay unchanged before a reload.
pub const QUIET: Duration = Duration::from_millis(150);

/// Watches the reloader's two directories (creating them if missing, so a
/// component dropped in later is seen) and reloads on changes until the
/// returned task is aborted. `None` if no watch could be set up (e.g. the
/// system's inotify limit): then reloads come from SIGHUP and the
/// `reload-plugins` command only, as the warning says.
pub fn spawn(reloader: Arc<Reloader>) -> Option<JoinHandle<()>> {
    let mut dirs = vec![reloader.plugin_dir().to_owned(), reloader.conditions_dir().to_owned()];
    dirs.dedup();
    let bell = Arc::new(Notify::new());
    let ring = bell.clone();
    let debounced = new_debouncer(QUIET, move |events: DebounceEventResult| match events {
        Ok(events) => {
            if events.iter().any(|e| e.kind == DebouncedEventKind::Any && is_component(&e.path)) {
                ring.notify_one();
            }
        }
        Err(error) => tracing::warn!(%error, "plugin directory watcher"),
    });
    let mut debouncer = match debounced {
        Ok(debouncer) => debouncer,
        Err(error) => {
            tracing::warn!(%error, "cannot watch the plugin directories; reload with SIGHUP or the reload-plugins command");
            return None;
        }
    };
    let mut watching = 0;
    for dir in &dirs {
        let watched = std::fs::create_dir_all(dir)
            .map_err(|e| e.to_string())
            .and_then(|()| debouncer.watcher().watch(dir, RecursiveMode::NonRecursive).map_err(|e| e.to_string()));
        match watched {
            Ok(()) => watching += 1,
            Err(error) => tracing::warn!(dir = %dir.display(), %error,
                "cannot watch this directory; reload with SIGHUP or the reload-plugins command"),
        }
    }
    if watching == 0 {
        return None;
    }
    tracing::debug!(dirs = ?dirs, "watching the plugin directories");
    Some(tokio::spawn(async move {
        // Dropping the debouncer (when this task is aborted) ends the watch.
        let _debouncer = debouncer;
        loop {
            bell.notified().await;
            // A refused reload is logged by `Reloader::run`; keep watching.
            let _ = reloader.reload(Trigger::Watcher).await;
        }
    }))
}

/// Whether `path` names a component: the only files a reload reads.
fn is_component(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "wasm")
}
