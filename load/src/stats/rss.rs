//! Resident memory of the server under test, from Linux `/proc/PID/status`
//! (`VmRSS`), to put a price on each idle connection.

use anyhow::{Context, Result, anyhow};

/// The process's resident set in KiB.
pub fn vm_rss_kib(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_vm_rss(&text).ok_or_else(|| anyhow!("no VmRSS line in {path}"))
}

/// The `VmRSS:  1234 kB` line of a status file.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let mut parts = line.split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vm_rss_line_is_found() {
        let status = "Name:\twasmpp\nVmPeak:\t  999 kB\nVmRSS:\t   52340 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(parse_vm_rss(status), Some(52340));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        assert_eq!(parse_vm_rss("VmRSS: lots kB\n"), None);
        assert_eq!(parse_vm_rss("VmRSS: 5 MB\n"), None);
    }

    #[test]
    fn our_own_process_has_a_resident_set() {
        assert!(vm_rss_kib(std::process::id()).unwrap() > 0);
    }
}
