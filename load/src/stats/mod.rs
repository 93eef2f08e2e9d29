//! What a run measures: latency histograms, progress counters, CPU use, server memory.

pub mod cpu;
pub mod latency;
pub mod progress;
pub mod rss;

pub use latency::{Latency, Summary, per_second};
pub use progress::Progress;
