//! Guest output without blocking a Tokio worker.
//!
//! wasmtime-wasi's synchronous bindings run WASI's *blocking* calls through
//! `Handle::block_on`, which panics on a Tokio worker thread — and plugin
//! calls run on Tokio workers. A guest reaches those calls when it writes to
//! stdout/stderr: Rust's std does so when a plugin panics or runs out of
//! memory (before it aborts), and plugin authors debug with `println!`.
//! Without this module such a write would panic the connection task instead
//! of being an ordinary, contained trap.
//!
//! The blocking stream and poll functions are therefore redefined here. A
//! plugin's streams are the empty WASI context's sinks, which never block, so
//! "blocking" is immediate; the bytes written go to our log, tagged with the
//! plugin id, which also puts a panicking plugin's message in the log.
//!
//! Both worlds' stores (`sm-plugin` plugins and `amp-condition` components)
//! are served by the same shadowing, through [`GuestName`].

use super::host_api::State;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Val};

/// A store's data that can name the guest it runs, for the log.
pub(super) trait GuestName: 'static {
    /// The plugin id or condition name.
    fn guest_name(&self) -> &str;
}

impl GuestName for State {
    fn guest_name(&self) -> &str {
        self.plugin()
    }
}

/// The WASI 0.2 version wasmtime-wasi 48.0.8 defines; shadowing must use the
/// exact name it registered (guests' 0.2.x imports resolve to it by semver).
const WASI_VERSION: &str = "0.2.12";

/// Replaces the blocking output and poll functions of WASI after
/// `wasmtime_wasi::p2::add_to_linker_sync` has linked the rest.
pub(super) fn shadow_blocking_calls<T: GuestName>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut streams = linker.instance(&format!("wasi:io/streams@{WASI_VERSION}"))?;
    streams.func_new("[method]output-stream.blocking-write-and-flush", |mut store, _, params, results| {
        if let Some(Val::List(bytes)) = params.get(1) {
            let bytes: Vec<u8> =
                bytes.iter().filter_map(|v| if let Val::U8(b) = v { Some(*b) } else { None }).collect();
            let text = String::from_utf8_lossy(&bytes);
            let text = text.trim_end();
            if !text.is_empty() {
                tracing::warn!(plugin = store.data().guest_name(), output = text, "plugin wrote to stdio");
            }
        }
        end_borrows(&mut store, params)?;
        results[0] = Val::Result(Ok(None));
        Ok(())
    })?;
    streams.func_new("[method]output-stream.blocking-flush", |mut store, _, params, results| {
        end_borrows(&mut store, params)?;
        results[0] = Val::Result(Ok(None));
        Ok(())
    })?;
    let mut poll = linker.instance(&format!("wasi:io/poll@{WASI_VERSION}"))?;
    poll.func_new("[method]pollable.block", |mut store, _, params, _| end_borrows(&mut store, params))?;
    // Every pollable a plugin can hold is a sink's, always ready.
    poll.func_new("poll", |mut store, _, params, results| {
        let n = match params.first() {
            Some(Val::List(items)) => {
                end_borrows(&mut store, items)?;
                items.len() as u32
            }
            _ => 0,
        };
        results[0] = Val::List((0..n).map(Val::U32).collect());
        Ok(())
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

/// A dynamic host function must end the borrows it was lent (typed host
/// functions do this implicitly); otherwise the guest's call fails with
/// "borrow handles still remain".
fn end_borrows<T: 'static>(store: &mut StoreContextMut<'_, T>, params: &[Val]) -> wasmtime::Result<()> {
    for p in params {
        if let Val::Resource(r) = p {
            r.resource_drop(&mut *store)?;
        }
    }
    Ok(())
}
