//! Per-plugin counters: calls and time per entry point, faults, refused
//! answers and verdicts, kept in a registry keyed by plugin id.
//!
//! The registry outlives every chain: a plugin loaded again (a restart of
//! the chain, a hot reload) gets the same [`PluginCounters`], so its series
//! never restart from zero while the process runs. Each `Loaded` plugin
//! holds its `Arc<PluginCounters>`, so counting on the hot path is a few
//! relaxed atomic adds: no lock, no lookup, no allocation per stanza. The
//! registry's lock is taken only when a plugin is loaded and when the
//! metrics are read (`crate::metrics`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

/// An export the host calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// `sm-plugin.process`: one stanza on its way through the chain.
    Process,
    /// `sm-plugin.recheck`: a stored XEP-0079 message whose expiry came.
    Recheck,
    /// `amp-condition.validate`: is a rule's value well-formed.
    Validate,
    /// `amp-condition.evaluate`: is a rule's condition met.
    Evaluate,
}

impl Entry {
    /// The entry points of a session-manager plugin (`sm-plugin` world).
    pub const SM_PLUGIN: &'static [Entry] = &[Entry::Process, Entry::Recheck];
    /// The entry points of a custom AMP condition (`amp-condition` world).
    pub const AMP_CONDITION: &'static [Entry] = &[Entry::Validate, Entry::Evaluate];

    /// The label value, the export's WIT name.
    pub fn as_str(self) -> &'static str {
        match self {
            Entry::Process => "process",
            Entry::Recheck => "recheck",
            Entry::Validate => "validate",
            Entry::Evaluate => "evaluate",
        }
    }
}

/// Why a call did not return: the instance is discarded in every case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The guest trapped (a panic, `unreachable`, an out-of-bounds access…).
    Trap,
    /// The call used up its CPU-time deadline (epoch interrupt).
    Deadline,
    /// The guest asked for more memory than `--plugin-memory-mb`.
    Memory,
    /// No instance could be built for the call.
    Instantiate,
}

impl FaultKind {
    /// Every kind, in exposition order.
    pub const ALL: [FaultKind; 4] = [FaultKind::Trap, FaultKind::Deadline, FaultKind::Memory, FaultKind::Instantiate];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Trap => "trap",
            FaultKind::Deadline => "deadline",
            FaultKind::Memory => "memory",
            FaultKind::Instantiate => "instantiate",
        }
    }
}

/// A plugin error that is not a fault: the call returned, but something
/// went wrong in the plugin's own judgement or in the host's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The host refused the answer because it broke the contract (a
    /// delivery target that is not a full JID, XML that does not parse);
    /// the stanza is then bounced as after a fault.
    Refused,
    /// The plugin reported a failure itself: a `log` call at level `error`.
    Logged,
}

impl ErrorKind {
    /// Every kind, in exposition order.
    pub const ALL: [ErrorKind; 2] = [ErrorKind::Refused, ErrorKind::Logged];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Refused => "refused",
            ErrorKind::Logged => "logged",
        }
    }
}

/// The WIT `verdict` a `process` call returned (`sm-plugin` only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerdictKind {
    /// `pass`.
    Pass,
    /// `pass-with(effects)`.
    PassWith,
    /// `handled(effects)`.
    Handled,
    /// `drop`.
    Drop,
    /// `bounce(error)`: an ordinary refusal, not an error of the plugin.
    Bounce,
}

impl VerdictKind {
    /// Every kind, in exposition order.
    pub const ALL: [VerdictKind; 5] =
        [VerdictKind::Pass, VerdictKind::PassWith, VerdictKind::Handled, VerdictKind::Drop, VerdictKind::Bounce];

    /// The label value, the WIT case name.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Pass => "pass",
            VerdictKind::PassWith => "pass-with",
            VerdictKind::Handled => "handled",
            VerdictKind::Drop => "drop",
            VerdictKind::Bounce => "bounce",
        }
    }
}

/// Upper bounds of the call-duration buckets, in seconds: a warm call takes
/// about a microsecond, a fresh instance tens, the default deadline 50 ms.
pub const BUCKETS: [f64; 13] =
    [5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3];

/// The same bounds in nanoseconds, for the hot path's integer compare.
const BUCKET_NANOS: [u64; 13] = [
    5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000,
    50_000_000,
];

/// Call durations of one entry point: a histogram of atomics.
#[derive(Default)]
struct Durations {
    /// Per bucket (not cumulative); the last one is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

/// What a histogram held when it was read.
#[derive(Clone, Debug, PartialEq)]
pub struct DurationSnapshot {
    /// Calls observed (the sum of the buckets).
    pub count: u64,
    /// Seconds spent in them.
    pub sum_seconds: f64,
    /// `(upper bound in seconds, calls in that bucket)`, not cumulative,
    /// ending with `f64::INFINITY`.
    pub buckets: Vec<(f64, u64)>,
}

impl Durations {
    fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BUCKET_NANOS.iter().position(|&bound| nanos <= bound).unwrap_or(BUCKET_NANOS.len());
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }

    fn snapshot(&self) -> DurationSnapshot {
        let buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(&self.buckets)
            .map(|(bound, n)| (bound, n.load(Relaxed)))
            .collect();
        DurationSnapshot {
            count: buckets.iter().map(|(_, n)| n).sum(),
            sum_seconds: self.sum_nanos.load(Relaxed) as f64 / 1e9,
            buckets,
        }
    }
}

/// The counters of one plugin (or one custom AMP condition).
pub struct PluginCounters {
    entries: &'static [Entry],
    durations: [Durations; 4],
    faults: [AtomicU64; FaultKind::ALL.len()],
    errors: [AtomicU64; ErrorKind::ALL.len()],
    verdicts: [AtomicU64; VerdictKind::ALL.len()],
}

impl PluginCounters {
    fn new(entries: &'static [Entry]) -> Self {
        PluginCounters {
            entries,
            durations: Default::default(),
            faults: Default::default(),
            errors: Default::default(),
            verdicts: Default::default(),
        }
    }

    /// One call of `entry` that took `elapsed` (faulted or not).
    pub fn call(&self, entry: Entry, elapsed: Duration) {
        self.durations[entry as usize].observe(elapsed);
    }

    /// One fault; the call itself is counted by [`PluginCounters::call`].
    pub fn fault(&self, kind: FaultKind) {
        self.faults[kind as usize].fetch_add(1, Relaxed);
    }

    /// One error that was not a fault.
    pub fn error(&self, kind: ErrorKind) {
        self.errors[kind as usize].fetch_add(1, Relaxed);
    }

    /// One verdict returned by `process`.
    pub fn verdict(&self, kind: VerdictKind) {
        self.verdicts[kind as usize].fetch_add(1, Relaxed);
    }

    /// The entry points this plugin's world has.
    pub fn entries(&self) -> &'static [Entry] {
        self.entries
    }

    /// Calls of `entry` so far, with their durations.
    pub fn durations(&self, entry: Entry) -> DurationSnapshot {
        self.durations[entry as usize].snapshot()
    }

    /// Faults of `kind` so far.
    pub fn faults(&self, kind: FaultKind) -> u64 {
        self.faults[kind as usize].load(Relaxed)
    }

    /// Errors of `kind` so far.
    pub fn errors(&self, kind: ErrorKind) -> u64 {
        self.errors[kind as usize].load(Relaxed)
    }

    /// Verdicts of `kind` so far.
    pub fn verdicts(&self, kind: VerdictKind) -> u64 {
        self.verdicts[kind as usize].load(Relaxed)
    }
}

/// Every plugin's counters, by the name its series carry: the plugin id,
/// or `amp-condition:<name>` for a custom AMP condition (a colon cannot
/// occur in a plugin id, so the two never collide).
#[derive(Default)]
pub struct PluginMetrics {
    plugins: RwLock<Vec<(Arc<str>, Arc<PluginCounters>)>>,
}

impl PluginMetrics {
    /// The counters of session-manager plugin `id`, created on first use.
    pub fn plugin(&self, id: &str) -> Arc<PluginCounters> {
        self.get_or_insert(id, Entry::SM_PLUGIN)
    }

    /// The counters of custom AMP condition `name`, created on first use.
    pub fn condition(&self, name: &str) -> Arc<PluginCounters> {
        self.get_or_insert(&format!("amp-condition:{name}"), Entry::AMP_CONDITION)
    }

    fn get_or_insert(&self, key: &str, entries: &'static [Entry]) -> Arc<PluginCounters> {
        let found = self
            .plugins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, c)| c.clone());
        if let Some(counters) = found {
            return counters;
        }
        let mut plugins = self.plugins.write().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, counters)) = plugins.iter().find(|(k, _)| &**k == key) {
            return counters.clone();
        }
        let counters = Arc::new(PluginCounters::new(entries));
        plugins.push((key.into(), counters.clone()));
        plugins.sort_by(|a, b| a.0.cmp(&b.0));
        counters
    }

    /// Every plugin seen so far, sorted by name.
    pub fn all(&self) -> Vec<(Arc<str>, Arc<PluginCounters>)> {
        self.plugins.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_bounds_agree_in_both_units() {
        for (secs, nanos) in BUCKETS.iter().zip(BUCKET_NANOS) {
            assert_eq!((secs * 1e9).round() as u64, nanos);
        }
    }

    #[test]
    fn durations_fall_into_the_first_bucket_that_holds_them() {
        let c = PluginCounters::new(Entry::SM_PLUGIN);
        c.call(Entry::Process, Duration::from_micros(1));
        c.call(Entry::Process, Duration::from_micros(5)); // on the bound: le="5e-6"
        c.call(Entry::Process, Duration::from_micros(6));
        c.call(Entry::Process, Duration::from_secs(1)); // beyond the last bound
        let snap = c.durations(Entry::Process);
        assert_eq!(snap.count, 4);
        assert!((snap.sum_seconds - 1.000_012).abs() < 1e-9, "{}", snap.sum_seconds);
        assert_eq!(snap.buckets[0], (5e-6, 2));
        assert_eq!(snap.buckets[1], (10e-6, 1));
        assert_eq!(snap.buckets.last(), Some(&(f64::INFINITY, 1)));
        assert_eq!(c.durations(Entry::Recheck).count, 0);
    }

    #[test]
    fn the_same_name_gets_the_same_counters_and_conditions_their_own() {
        let m = PluginMetrics::default();
        let amp = m.plugin("amp");
        amp.fault(FaultKind::Trap);
        assert_eq!(m.plugin("amp").faults(FaultKind::Trap), 1, "a reloaded plugin keeps its counters");
        let cond = m.condition("amp");
        assert_eq!(cond.faults(FaultKind::Trap), 0);
        assert_eq!(cond.entries(), Entry::AMP_CONDITION);
        let names: Vec<_> = m.all().iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names, ["amp", "amp-condition:amp"]);
    }
}
