//! The one wasmtime `Engine` of the process and its epoch ticker: the
//! sandbox every plugin call runs in (WASM-NOTES §1, §7).
//!
//! One engine is configured once: component model on, component-model
//! concurrency off (it triples the cost of small sync calls), epoch
//! interruption for runaway guests, and a pooling allocator sized for warm
//! instances rather than for connections.

use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::limits::{self, Budget, Limits, PluginPolicy};

/// Upper bound on distinct plugins (custom AMP conditions included) a host
/// serves at once; it only sizes the instance pool (virtual address space),
/// not any per-stanza work.
const MAX_PLUGINS: u32 = 16;

/// Core instances, memories and tables one Rust `wasm32-wasip2` component
/// needs (main module plus the small shim modules `wasm-component-ld` adds).
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;
const TABLES_PER_COMPONENT: u32 = 4;
const MEMORIES_PER_COMPONENT: u32 = 2;

/// The engine plus what a store needs to enforce [`Limits`]: the
/// server-wide defaults (used as they are by custom AMP conditions) and
/// the tick that per-plugin [`Budget`]s are counted in.
pub(super) struct Runtime {
    pub(super) engine: Engine,
    /// Ticks of the epoch ticker in one call's deadline.
    pub(super) deadline_ticks: u64,
    /// The CPU time one call may use (see `cpu`).
    pub(super) deadline: Duration,
    pub(super) memory_bytes: usize,
    /// Warm instances kept per plugin.
    pub(super) pool_size: usize,
    /// The epoch ticker's period.
    tick: Duration,
}

impl Runtime {
    /// `pool_sizes` are the per-plugin pool sizes the operator set, so the
    /// allocator has room for plugins that keep more instances than the
    /// default.
    pub(super) fn new(limits: &Limits, pool_sizes: impl IntoIterator<Item = usize>) -> wasmtime::Result<Runtime> {
        let pool_size = match limits.pool_size {
            0 => limits::auto_pool_size(),
            n => n,
        };
        let beyond: usize = pool_sizes
            .into_iter()
            .map(|n| if n == 0 { limits::auto_pool_size() } else { n })
            .map(|n| n.saturating_sub(pool_size))
            .sum();
        // Warm slots plus as many checked out at once, twice over so that a
        // chain being replaced and its successor can coexist (hot swap).
        let instances = (MAX_PLUGINS as usize).saturating_mul(pool_size).saturating_add(beyond);
        let slots = u32::try_from(instances.saturating_mul(2 * 2))
            .unwrap_or(u32::MAX)
            .min(u32::MAX / CORE_INSTANCES_PER_COMPONENT);
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
        let deadline_ticks = limits::ticks(limits.deadline, tick);
        Ok(Runtime {
            engine,
            deadline_ticks,
            deadline: limits.deadline,
            memory_bytes: limits.memory_bytes,
            pool_size,
            tick,
        })
    }

    /// The limits of a plugin the operator set `policy` for.
    pub(super) fn budget(&self, policy: &PluginPolicy) -> Result<Budget, String> {
        let defaults = Budget {
            deadline: self.deadline,
            deadline_ticks: self.deadline_ticks,
            memory_bytes: self.memory_bytes,
            pool_size: self.pool_size,
        };
        Budget::resolve(&defaults, policy, self.tick)
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
        let rt = Runtime::new(&limits, [8]).unwrap();
        assert_eq!(rt.deadline_ticks, 10);
        assert_eq!(rt.pool_size, 1);
        let slow = PluginPolicy { deadline: Some(Duration::from_millis(200)), ..PluginPolicy::default() };
        assert_eq!(rt.budget(&slow).unwrap().deadline_ticks, 40);
        assert_eq!(rt.budget(&PluginPolicy::default()).unwrap().pool_size, 1);
    }
}
