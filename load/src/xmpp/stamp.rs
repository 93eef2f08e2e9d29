//! The message `id` (RFC 6120 §8.1.3) as a send timestamp: `NONCE.SEQ.NANOS`.
//!
//! Servers route `id` untouched, so the receiver learns when a message left
//! without any clock but the tool's own monotonic one. The run's nonce tells
//! this run's messages from leftovers of earlier runs (offline storage keeps
//! them). Digits and dots only: nothing to escape, cheap to parse.

use tokio::time::Instant;

/// One decoded stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Identifies the run.
    pub nonce: u64,
    /// Per-sender sequence number.
    pub seq: u64,
    /// Nanoseconds since the run's epoch when the message was written.
    pub nanos: u64,
}

/// The run's clock and nonce.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    epoch: Instant,
    /// Written into every id.
    pub nonce: u64,
}

impl Clock {
    /// A new epoch; the nonce is taken from the wall clock, unique enough to
    /// tell runs apart.
    pub fn new() -> Clock {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 % 1_000_000_000_000)
            .unwrap_or(1);
        Clock { epoch: Instant::now(), nonce }
    }

    /// Nanoseconds since the epoch.
    pub fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// The instant `nanos` after the epoch.
    pub fn at(&self, nanos: u64) -> Instant {
        self.epoch + std::time::Duration::from_nanos(nanos)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Stamp {
    /// Appends the id text to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        write_u64(out, self.nonce);
        out.push(b'.');
        write_u64(out, self.seq);
        out.push(b'.');
        write_u64(out, self.nanos);
    }

    /// Decodes an id written by [`Stamp::write`]; anything else is `None`.
    pub fn parse(id: &[u8]) -> Option<Stamp> {
        let mut parts = id.split(|&b| b == b'.');
        let stamp =
            Stamp { nonce: read_u64(parts.next()?)?, seq: read_u64(parts.next()?)?, nanos: read_u64(parts.next()?)? };
        parts.next().is_none().then_some(stamp)
    }
}

/// Decimal digits of `v`, without going through `fmt`.
pub fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

fn read_u64(d: &[u8]) -> Option<u64> {
    if d.is_empty() || d.len() > 20 {
        return None;
    }
    d.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|x| *x < 10)?;
        acc.checked_mul(10)?.checked_add(digit as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip() {
        for s in [
            Stamp { nonce: 0, seq: 0, nanos: 0 },
            Stamp { nonce: 123_456, seq: 7, nanos: 1_000_000_007 },
            Stamp { nonce: u64::MAX, seq: u64::MAX, nanos: u64::MAX },
        ] {
            let mut out = Vec::new();
            s.write(&mut out);
            assert_eq!(Stamp::parse(&out), Some(s), "{}", String::from_utf8_lossy(&out));
        }
    }

    #[test]
    fn foreign_ids_are_rejected() {
        for id in [&b""[..], b"abc", b"1.2", b"1.2.3.4", b"1..3", b"1.2.x", b"1.2.-3", b"99999999999999999999999.1.1"] {
            assert_eq!(Stamp::parse(id), None, "{}", String::from_utf8_lossy(id));
        }
        assert_eq!(Stamp::parse(b"18446744073709551616.0.0"), None, "overflow");
    }

    #[test]
    fn the_clock_moves_forward() {
        let c = Clock::new();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
        assert!(c.at(a) <= c.at(b));
    }
}
