//! Sandbox limits (WASM-NOTES §7): the server-wide defaults, what the
//! operator sets for one plugin, and the [`Budget`] a plugin's instances
//! run under.
//!
//! The defaults keep a misbehaving plugin from hurting other sessions; a
//! per-plugin policy can tighten them for an untrusted plugin, or loosen
//! the deadline and pool for a heavy one. Memory can only be lowered: the
//! pooling allocator reserves every instance slot at the server-wide size.

use std::time::Duration;

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use super::capability::Capabilities;

/// Server-wide sandbox limits, and the defaults of every plugin's.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall-clock budget of one plugin call; overrunning traps the guest.
    /// Default 50 ms: orders of magnitude above a normal call (~1 µs).
    pub deadline: Duration,
    /// Linear memory one plugin instance may grow to, and the ceiling of
    /// every per-plugin cap. Default 16 MiB.
    pub memory_bytes: usize,
    /// Warm instances kept per plugin; 0 = 2 × available parallelism.
    pub pool_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { deadline: Duration::from_millis(50), memory_bytes: 16 << 20, pool_size: 0 }
    }
}

/// What the operator set for one plugin (`sess-man/plugins-conf/<id>/…`);
/// `None` everywhere means the server-wide defaults and every declared
/// capability.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginPolicy {
    /// `deadline-ms`: this plugin's call budget.
    pub deadline: Option<Duration>,
    /// `memory-mb`: this plugin's memory cap, at most [`Limits::memory_bytes`].
    pub memory_bytes: Option<usize>,
    /// `pool-size`: warm instances kept (0 = automatic, as server-wide).
    pub pool_size: Option<usize>,
    /// `capabilities`: the most the plugin may be granted; the grant is
    /// this ∩ what its manifest declares. `None` allows all it declares.
    pub allowed: Option<Capabilities>,
}

impl PluginPolicy {
    /// The capabilities the operator allows this plugin.
    pub fn allowed(&self) -> Capabilities {
        self.allowed.unwrap_or_else(Capabilities::all)
    }
}

/// One plugin's resolved limits, in the units the sandbox enforces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Budget {
    /// The CPU time one call may use (see `cpu`).
    pub(super) deadline: Duration,
    /// Ticks of the epoch ticker after which the CPU time is checked.
    pub(super) deadline_ticks: u64,
    /// The instance's memory cap (`ResourceLimiter`).
    pub(super) memory_bytes: usize,
    /// Warm instances kept.
    pub(super) pool_size: usize,
}

impl Budget {
    /// `policy` over the server-wide `defaults` (already resolved), with
    /// the epoch ticker's `tick`. A memory cap above the ceiling is refused:
    /// the pooling allocator could not honour it.
    pub(super) fn resolve(defaults: &Budget, policy: &PluginPolicy, tick: Duration) -> Result<Budget, String> {
        let memory_bytes = policy.memory_bytes.unwrap_or(defaults.memory_bytes);
        if memory_bytes > defaults.memory_bytes {
            return Err(format!(
                "memory cap of {} MiB is above the server-wide ceiling of {} MiB (--plugin-memory-mb)",
                memory_bytes >> 20,
                defaults.memory_bytes >> 20
            ));
        }
        let deadline = policy.deadline.unwrap_or(defaults.deadline);
        let pool_size = match policy.pool_size {
            None => defaults.pool_size,
            Some(0) => auto_pool_size(),
            Some(n) => n,
        };
        Ok(Budget { deadline, deadline_ticks: ticks(deadline, tick), memory_bytes, pool_size })
    }
}

/// Warm instances when none is configured: two per core, enough for every
/// worker thread to have one while another is being rebuilt.
pub(super) fn auto_pool_size() -> usize {
    2 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Whole ticks in `deadline`, at least one.
pub(super) fn ticks(deadline: Duration, tick: Duration) -> u64 {
    deadline.as_nanos().div_ceil(tick.as_nanos()).max(1) as u64
}

/// The per-instance memory cap: [`StoreLimits`] plus a record of whether it
/// refused growth, so a fault can be reported as "memory limit" rather than
/// as the bare `unreachable` a guest's allocation failure aborts with.
pub(super) struct MemoryCap {
    limits: StoreLimits,
    bytes: usize,
    pub(super) refused: bool,
}

impl MemoryCap {
    pub(super) fn new(bytes: usize) -> Self {
        MemoryCap { limits: StoreLimitsBuilder::new().memory_size(bytes).build(), bytes, refused: false }
    }

    /// The cap in bytes.
    pub(super) fn limit(&self) -> usize {
        self.bytes
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        self.refused |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_cap_records_refusal() {
        let mut cap = MemoryCap::new(1 << 20);
        assert!(cap.memory_growing(0, 1 << 19, None).unwrap());
        assert!(!cap.refused);
        assert!(!cap.memory_growing(1 << 19, 2 << 20, None).unwrap());
        assert!(cap.refused);
    }

    fn defaults() -> Budget {
        Budget { deadline: Duration::from_millis(50), deadline_ticks: 10, memory_bytes: 16 << 20, pool_size: 4 }
    }

    #[test]
    fn no_policy_keeps_the_defaults() {
        let tick = Duration::from_millis(5);
        assert_eq!(Budget::resolve(&defaults(), &PluginPolicy::default(), tick).unwrap(), defaults());
        assert_eq!(PluginPolicy::default().allowed(), Capabilities::all());
    }

    #[test]
    fn overrides_apply_in_whole_ticks() {
        let policy = PluginPolicy {
            deadline: Some(Duration::from_millis(12)),
            memory_bytes: Some(4 << 20),
            pool_size: Some(1),
            allowed: None,
        };
        let b = Budget::resolve(&defaults(), &policy, Duration::from_millis(5)).unwrap();
        assert_eq!((b.deadline, b.deadline_ticks), (Duration::from_millis(12), 3));
        assert_eq!((b.memory_bytes, b.pool_size), (4 << 20, 1));
        let auto = PluginPolicy { pool_size: Some(0), ..PluginPolicy::default() };
        assert_eq!(Budget::resolve(&defaults(), &auto, Duration::from_millis(5)).unwrap().pool_size, auto_pool_size());
    }

    #[test]
    fn memory_above_the_ceiling_is_refused() {
        let policy = PluginPolicy { memory_bytes: Some(32 << 20), ..PluginPolicy::default() };
        let err = Budget::resolve(&defaults(), &policy, Duration::from_millis(5)).unwrap_err();
        assert!(err.contains("32 MiB is above the server-wide ceiling of 16 MiB"), "{err}");
    }
}
