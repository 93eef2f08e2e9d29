//! Latency distributions: an HDR histogram in microseconds, one per task and
//! merged at the end, so recording never contends.

use hdrhistogram::Histogram;

/// Largest latency kept apart; anything slower is counted at this value.
const MAX_MICROS: u64 = 60_000_000;

/// Recorded latencies of one task or one run.
#[derive(Clone, Debug)]
pub struct Latency(Histogram<u64>);

/// The figures a report prints, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

impl Latency {
    /// An empty histogram (3 significant digits, 1 µs to 60 s).
    pub fn new() -> Latency {
        Latency(Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds"))
    }

    /// Records one sample given in nanoseconds.
    pub fn record_nanos(&mut self, nanos: u64) {
        self.0.saturating_record(nanos / 1000);
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &Latency) {
        self.0.add(&other.0).expect("same bounds");
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// Percentiles in milliseconds (all zero when empty).
    pub fn summary(&self) -> Summary {
        if self.0.is_empty() {
            return Summary::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Summary {
            count: self.0.len(),
            p50: ms(self.0.value_at_quantile(0.50)),
            p99: ms(self.0.value_at_quantile(0.99)),
            p999: ms(self.0.value_at_quantile(0.999)),
            max: ms(self.0.max()),
            mean: self.0.mean() / 1000.0,
        }
    }
}

impl Default for Latency {
    fn default() -> Self {
        Latency::new()
    }
}

/// Events per second; zero for an empty interval.
pub fn per_second(count: u64, secs: f64) -> f64 {
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b.abs() * 0.002 + 0.001
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut l = Latency::new();
        for ms in 1..=1000u64 {
            l.record_nanos(ms * 1_000_000);
        }
        let s = l.summary();
        assert_eq!(s.count, 1000);
        assert!(close(s.p50, 500.0), "{s:?}");
        assert!(close(s.p99, 990.0), "{s:?}");
        assert!(close(s.p999, 999.0), "{s:?}");
        assert!(close(s.max, 1000.0), "{s:?}");
        assert!(close(s.mean, 500.5), "{s:?}");
    }

    #[test]
    fn merging_adds_samples_and_outliers_saturate() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        for _ in 0..99 {
            a.record_nanos(200_000);
        }
        b.record_nanos(u64::MAX);
        a.merge(&b);
        let s = a.summary();
        assert_eq!(s.count, 100);
        assert!(close(s.p50, 0.2), "{s:?}");
        assert!(close(s.max, 60_000.0), "{s:?}");
        assert!(s.p50 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max);
    }

    #[test]
    fn empty_and_rates() {
        assert_eq!(Latency::new().summary(), Summary::default());
        let mut l = Latency::new();
        l.record_nanos(10);
        assert_eq!(l.summary().max, 0.0, "sub-microsecond samples count as 0");
        assert_eq!(per_second(500, 0.5), 1000.0);
        assert_eq!(per_second(5, 0.0), 0.0);
    }
}
