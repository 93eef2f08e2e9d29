//! CPU time of the tool itself (`getrusage`) and of the server under test
//! (Linux `/proc/PID/stat`), so a report shows who used the cores: on a
//! shared machine a load tool that eats them measures itself, not the server.

use anyhow::{Context, Result, anyhow};

/// User + system CPU seconds this process has used.
pub fn own_seconds() -> f64 {
    // SAFETY: an all-zero rusage is valid; getrusage only writes into it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// User + system CPU seconds process `pid` has used.
pub fn process_seconds(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    parse_stat_ticks(&text).map(|t| t as f64 / ticks).ok_or_else(|| anyhow!("unexpected format of {path}"))
}

/// `utime + stime` (fields 14 and 15) of a stat line. The command name
/// (field 2) is in parentheses and may itself contain spaces and `)`.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// CPU use over an interval, in cores (1.0 = one core busy throughout).
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    own: f64,
    server: Option<f64>,
    at: std::time::Instant,
}

impl Sample {
    /// Samples now; the server only when its pid is known and readable.
    pub fn take(server_pid: Option<u32>) -> Sample {
        Sample {
            own: own_seconds(),
            server: server_pid.and_then(|p| process_seconds(p).ok()),
            at: std::time::Instant::now(),
        }
    }

    /// Cores used by the tool and by the server between `self` and `later`.
    pub fn cores_until(&self, later: &Sample) -> (f64, Option<f64>) {
        let wall = (later.at - self.at).as_secs_f64().max(1e-9);
        let server = match (self.server, later.server) {
            (Some(a), Some(b)) => Some((b - a) / wall),
            _ => None,
        };
        ((later.own - self.own) / wall, server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names() {
        let line = "4242 (wasm pp) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 8 0 100 0 0";
        assert_eq!(parse_stat_ticks(line), Some(300));
        let tricky = "7 (a) b) R 1 2 3 4 5 6 7 8 9 10 1 2 0";
        assert_eq!(parse_stat_ticks(tricky), Some(3));
        assert_eq!(parse_stat_ticks("7 (x) R 1 2"), None);
        assert_eq!(parse_stat_ticks("no parens"), None);
    }

    #[test]
    fn our_own_cpu_time_is_readable_both_ways() {
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(own_seconds() > 0.0);
        assert!(process_seconds(std::process::id()).unwrap() >= 0.0);
        let a = Sample::take(Some(std::process::id()));
        let (own, server) = a.cores_until(&Sample::take(Some(std::process::id())));
        assert!(own >= 0.0 && server.is_some());
    }
}
