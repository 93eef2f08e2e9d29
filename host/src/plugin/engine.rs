//! The one wasmtime `Engine` of the process and its epoch ticker: the
//! sandbox every plugin call runs in (WASM-NOTES §1, §7).
//!
//! One engine is configured once: component model on, component-model
//! concurrency off (it triples the cost of small sync calls), epoch
//! interruption for runaway guests, and a pooling allocator sized for warm
//! instances rather than for connections.

use std::num::NonZeroUsize;
use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::Limits;

/// Upper bound on distinct plugins (custom AMP conditions included) a host
/// serves at once; it only sizes the instance pool (virtual address space),
/// not any per-stanza work.
const MAX_PLUGINS: u32 = 16;

/// Core instances, memories and tables one Rust `wasm32-wasip2` component
/// needs (main module plus the small shim modules `wasm-component-ld` adds).
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;
const TABLES_PER_COMPONENT: u32 = 4;
const MEMORIES_PER_COMPONENT: u32 = 2;

/// The engine plus what a store needs to enforce [`Limits`].
pub(super) struct Runtime {
    pub(super) engine: Engine,
    /// Ticks of the epoch ticker in one call's deadline.
    pub(super) deadline_ticks: u64,
    /// The CPU time one call may use (see `cpu`).
    pub(super) deadline: Duration,
    pub(super) memory_bytes: usize,
    /// Warm instances kept per plugin.
    pub(super) pool_size: usize,
}

impl Runtime {
    pub(super) fn new(limits: &Limits) -> wasmtime::Result<Runtime> {
        let pool_size = match limits.pool_size {
            0 => 2 * thread::available_parallelism().map_or(1, NonZeroUsize::get),
            n => n,
        };
        // Warm slots plus as many checked out at once, twice over so that a
        // chain being replaced and its successor can coexist (hot swap).
        let slots = MAX_PLUGINS * u32::try_from(pool_size * 2 * 2).unwrap_or(u32::MAX / MAX_PLUGINS);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(slots)
            .total_core_instances(slots * CORE_INSTANCES_PER_COMPONENT)
            .total_memories(slots * MEMORIES_PER_COMPONENT)
            .total_tables(slots * TABLES_PER_COMPONENT)
            .max_memory_size(limits.memory_bytes);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .concurrency_support(false)
            .epoch_interruption(true)
            // Small reservations keep `slots` memories cheap in address
            // space; plugins are not memory-bound, so explicit bounds checks
            // cost little.
            .memory_reservation(limits.memory_bytes as u64)
            .memory_guard_size(64 << 10)
            .memory_reservation_for_growth(0)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        // `perf record` can name JIT-compiled guest functions only through
        // a perf map (/tmp/perf-PID.map); it costs a file write per
        // compiled component, so it is opt-in for profiling runs.
        if std::env::var_os("WASMPP_PERFMAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)?;
        let tick = tick_for(limits.deadline);
        spawn_ticker(&engine, tick).map_err(|e| wasmtime::format_err!("cannot start the epoch ticker: {e}"))?;
        let deadline_ticks = limits.deadline.as_nanos().div_ceil(tick.as_nanos()).max(1) as u64;
        Ok(Runtime { engine, deadline_ticks, deadline: limits.deadline, memory_bytes: limits.memory_bytes, pool_size })
    }
}

/// A tenth of the deadline, between 1 and 10 ms: precise enough (a guest is
/// stopped after deadline + one tick) without waking the CPU needlessly.
fn tick_for(deadline: Duration) -> Duration {
    (deadline / 10).clamp(Duration::from_millis(1), Duration::from_millis(10))
}

/// Advances the engine's epoch every `tick` until the engine is dropped;
/// without it no deadline would ever fire.
fn spawn_ticker(engine: &Engine, tick: Duration) -> std::io::Result<()> {
    let weak = engine.weak();
    thread::Builder::new().name("wasm-epoch".into()).spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            thread::sleep(tick);
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_is_a_tenth_of_the_deadline_within_bounds() {
        assert_eq!(tick_for(Duration::from_millis(50)), Duration::from_millis(5));
        assert_eq!(tick_for(Duration::from_millis(2)), Duration::from_millis(1));
        assert_eq!(tick_for(Duration::from_secs(5)), Duration::from_millis(10));
    }

    #[test]
    fn deadline_becomes_whole_ticks() {
        let limits = Limits { deadline: Duration::from_millis(50), memory_bytes: 1 << 20, pool_size: 1 };
        let rt = Runtime::new(&limits).unwrap();
        assert_eq!(rt.deadline_ticks, 10);
        assert_eq!(rt.pool_size, 1);
    }
}
