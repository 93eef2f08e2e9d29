//! RFC 7622 addresses on the hot path: parsing without redoing the
//! stringprep/IDNA work for an address seen a moment ago, and the bare part
//! of an address without building a new one.
//!
//! `Jid::new` runs nodeprep, nameprep, UTS #46 and resourceprep on every
//! call (about 700 instructions for `juliet@localhost`), and a chat message
//! has its addressee parsed several times on its way (the `to` attribute,
//! the plugin's delivery target, the plugin's session lookup). The same few
//! addresses recur, so each thread keeps the results it computed recently:
//! a hit is one hash and one copy. The cache maps the exact input to what
//! `Jid::new` returned for it, so the result is the same by construction;
//! failures are not kept (they are rare, and answered the slow way).

use crate::xmpp::{BareJid, FullJid, Jid};
use std::cell::RefCell;
use std::collections::HashMap;

/// Addresses kept per thread; the map is emptied when it is full, so a
/// client cycling through many addresses costs at most one `clear` each
/// time and never more memory than this.
const KEPT: usize = 1024;
/// Longer inputs are never kept (RFC 7622 allows 3071 bytes).
const KEPT_LEN: usize = 256;

thread_local! {
    static RECENT: RefCell<HashMap<Box<str>, Jid>> = RefCell::new(HashMap::new());
}

/// `Jid::new(s)`, from the thread's recent results when `s` was parsed
/// before.
pub fn parse(s: &str) -> Result<Jid, jid::Error> {
    if s.len() > KEPT_LEN {
        return Jid::new(s);
    }
    if let Some(jid) = RECENT.with(|r| r.borrow().get(s).cloned()) {
        return Ok(jid);
    }
    let jid = Jid::new(s)?;
    RECENT.with(|r| {
        let mut r = r.borrow_mut();
        if r.len() >= KEPT {
            r.clear();
        }
        r.insert(s.into(), jid.clone());
    });
    Ok(jid)
}

/// `FullJid::new(s)` through [`parse`].
pub fn parse_full(s: &str) -> Result<FullJid, jid::Error> {
    parse(s)?.try_into()
}

/// `BareJid::new(s)` through [`parse`].
pub fn parse_bare(s: &str) -> Result<BareJid, jid::Error> {
    parse(s)?.try_into()
}

/// The bare part of `jid` (`node@domain` or `domain`) as a slice of its
/// normalised form: what `jid.to_bare().as_str()` is, without allocating.
pub fn bare_str(jid: &Jid) -> &str {
    let s = jid.as_str();
    match jid.resource() {
        Some(resource) => &s[..s.len() - resource.as_str().len() - 1],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Addresses of every shape RFC 7622 has, ASCII and not, that need
    /// normalising and that do not, valid and not.
    const INPUTS: &[&str] = &[
        "juliet@localhost",
        "juliet@localhost/balcony",
        "romeo@example.com/orchard",
        "localhost",
        "localhost/res",
        "example.com.",
        "Juliet@LocalHost/Balcony",
        "JULIET@EXAMPLE.COM",
        "ju\u{0308}liet@example.com",
        "jüliet@exämple.com/rés ource",
        "\u{1F600}@example.com",
        "user@xn--mnchen-3ya.de",
        "user@münchen.de",
        "user@[::1]/r",
        "user@127.0.0.1",
        "user@MÜNCHEN.DE/R",
        "a@b/c/d@e",
        "",
        "@example.com",
        "user@",
        "user@example.com/",
        "a@b@c",
        "us er@example.com",
        "user\"@example.com",
        "user@exa mple.com",
        "user@-bad-.com",
        "user@example..com",
        "\u{0661}\u{0041}@example.com",
        "user@example.com/\u{0007}",
        "/res",
        "user@\u{FF21}\u{FF22}.com",
    ];

    #[test]
    fn cached_results_equal_the_full_parse() {
        for round in 0..3 {
            for s in INPUTS {
                let full = Jid::new(s);
                assert_eq!(parse(s), full, "round {round}: {s:?}");
                assert_eq!(parse_full(s).ok(), FullJid::new(s).ok(), "{s:?}");
                assert_eq!(parse_bare(s).ok(), BareJid::new(s).ok(), "{s:?}");
                if let Ok(jid) = full {
                    assert_eq!(bare_str(&jid), jid.to_bare().as_str(), "{s:?}");
                    let got = parse(s).unwrap();
                    assert_eq!((got.node(), got.domain(), got.resource()), (jid.node(), jid.domain(), jid.resource()));
                }
            }
        }
        let long = format!("{}@example.com", "a".repeat(600));
        assert_eq!(parse(&long), Jid::new(&long));
        let too_long = format!("{}@example.com", "a".repeat(1100));
        assert_eq!(parse(&too_long), Jid::new(&too_long));
    }

    #[test]
    fn the_cache_stays_bounded_and_right_when_it_overflows() {
        for i in 0..3 * KEPT {
            let s = format!("user{i}@Example.com/R{i}");
            assert_eq!(parse(&s), Jid::new(&s));
            assert!(RECENT.with(|r| r.borrow().len()) <= KEPT);
        }
        // Entries from before the overflow are parsed again, the same.
        assert_eq!(parse("user0@Example.com/R0").unwrap().as_str(), "user0@example.com/R0");
    }
}
