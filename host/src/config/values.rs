//! Value shapes of configuration keys (RFC 6120 §2.1 domainparts, RFC 6122 bare JIDs).
//!
//! Each parser returns the problem as a sentence fragment (`"52x2" is not a port number`);
//! the caller adds the key, the origin and what the key expects.

use std::path::PathBuf;

/// `true/false/yes/no/on/off/1/0`, case-insensitive, as operators write them in Tigase files.
pub fn boolean(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("{text:?} is not a boolean")),
    }
}

/// Splits a comma list into trimmed items; the empty string is the empty list, but an empty
/// item inside a list is a typo worth reporting.
pub fn list(text: &str) -> Result<Vec<&str>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.iter().any(|item| item.is_empty()) {
        return Err(format!("{text:?} has an empty item"));
    }
    Ok(items)
}

/// A list that must have at least one item.
pub fn non_empty_list(text: &str) -> Result<Vec<&str>, String> {
    let items = list(text)?;
    if items.is_empty() {
        return Err("the list is empty".into());
    }
    Ok(items)
}

/// An unsigned integer of type `T` no smaller than `min`.
pub fn number<T>(text: &str, min: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let value: T = text.parse().map_err(|_| format!("{text:?} is not a number"))?;
    if value < min {
        return Err(format!("{value} is too small"));
    }
    Ok(value)
}

/// A port number; 0 asks the OS for an ephemeral port.
pub fn port(text: &str) -> Result<u16, String> {
    text.parse().map_err(|_| format!("{text:?} is not a port number"))
}

/// `IP:port` (`[::1]:9100` for IPv6); port 0 asks the OS for a free one.
pub fn socket_address(text: &str) -> Result<std::net::SocketAddr, String> {
    text.parse().map_err(|_| format!("{text:?} is not an IP:port address"))
}

/// A non-empty filesystem path.
pub fn path(text: &str) -> Result<PathBuf, String> {
    if text.is_empty() {
        return Err("the path is empty".into());
    }
    Ok(PathBuf::from(text))
}

/// A domainpart: dot-separated labels of letters, digits and inner hyphens, each at most
/// 63 bytes, 253 bytes in all (DNS limits, which RFC 6120 §2.1 inherits for server names).
/// Returned lowercased, since domains compare case-insensitively.
pub fn domain(text: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("{text:?} is not a domain name ({why})"));
    if text.is_empty() || text.len() > 253 {
        return bad("length must be 1-253");
    }
    for label in text.split('.') {
        if label.is_empty() || label.len() > 63 {
            return bad("each dot-separated label must have 1-63 characters");
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return bad("only letters, digits, '-' and '.' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a label cannot start or end with '-'");
        }
    }
    Ok(text.to_lowercase())
}

/// A bare JID, `local@domain` or `domain`: no resource, and a localpart free of the
/// characters RFC 6122 Appendix A forbids. Full stringprep is left to the `jid` crate
/// where the JID is used; this catches typos at startup. The domain is lowercased.
pub fn bare_jid(text: &str) -> Result<String, String> {
    if text.contains('/') {
        return Err(format!("{text:?} has a resource (expected a bare JID)"));
    }
    let (local, host) = match text.split_once('@') {
        Some((local, host)) => (Some(local), host),
        None => (None, text),
    };
    let host = domain(host).map_err(|_| format!("{text:?} has an invalid domain"))?;
    match local {
        None => Ok(host),
        Some(local) => {
            let forbidden = |c: char| c.is_whitespace() || "\"&'/:<>@".contains(c);
            if local.is_empty() || local.len() > 1023 || local.chars().any(forbidden) {
                return Err(format!("{text:?} has an invalid local part"));
            }
            Ok(format!("{local}@{host}"))
        }
    }
}

/// A bare JID the server itself answers at (a service address such as `amp@example.org`),
/// checked by [`bare_jid`] for typos and then by the `jid` crate's RFC 7622 preparation, so
/// what is stored is the normalised form stanzas will be compared against.
pub fn service_jid(text: &str) -> Result<String, String> {
    let shape = bare_jid(text)?;
    let jid = jid::BareJid::new(&shape).map_err(|e| format!("{text:?} is not a valid JID ({e})"))?;
    Ok(jid.to_string())
}

/// A bare JID that names an account, so it must have a local part.
pub fn account_jid(text: &str) -> Result<String, String> {
    let jid = bare_jid(text)?;
    if !jid.contains('@') {
        return Err(format!("{text:?} has no local part"));
    }
    Ok(jid)
}

/// A `--debug` module name: `*`, `all`, or a module path written with `.` (Tigase style)
/// or `::`, normalised to `::` so it can be used as a tracing target under `wasmpp::`.
pub fn debug_module(text: &str) -> Result<String, String> {
    if text == "*" || text.eq_ignore_ascii_case("all") {
        return Ok(text.to_ascii_lowercase());
    }
    let normalised = text.replace("::", ".");
    let valid_segment =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !normalised.split('.').all(valid_segment) {
        return Err(format!("{text:?} is not a module name"));
    }
    Ok(normalised.replace('.', "::"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_the_tigase_spellings() {
        for yes in ["true", "YES", "On", "1"] {
            assert_eq!(boolean(yes), Ok(true), "{yes}");
        }
        for no in ["false", "No", "OFF", "0"] {
            assert_eq!(boolean(no), Ok(false), "{no}");
        }
        assert!(boolean("maybe").is_err());
        assert!(boolean("").is_err());
    }

    #[test]
    fn lists_trim_items_and_reject_holes() {
        assert_eq!(list(" a , b ").unwrap(), ["a", "b"]);
        assert!(list("").unwrap().is_empty());
        assert!(list("a,,b").is_err());
        assert!(list("a,").is_err());
        assert!(non_empty_list(" ").is_err());
    }

    #[test]
    fn numbers_enforce_minimums() {
        assert_eq!(number::<u32>("4096", 4096), Ok(4096));
        assert_eq!(number::<u32>("4095", 4096), Err("4095 is too small".into()));
        assert!(number::<u64>("-1", 0).is_err());
        assert!(number::<usize>("1e3", 0).is_err());
    }

    #[test]
    fn domains_follow_dns_label_rules() {
        assert_eq!(domain("Example.COM").unwrap(), "example.com");
        assert_eq!(domain("localhost").unwrap(), "localhost");
        assert!(domain("münchen.de").is_ok());
        for bad in ["", "a..b", "-a.b", "a-.b", "a b", "a@b", "a/b", "a.", &"x".repeat(64)] {
            assert!(domain(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bare_jids_reject_resources_and_bad_locals() {
        assert_eq!(bare_jid("Admin@Example.org").unwrap(), "Admin@example.org");
        assert_eq!(bare_jid("example.org").unwrap(), "example.org");
        for bad in ["a@b/c", "@b", "a b@c", "a@", "a@b@c", "a:b@c"] {
            assert!(bare_jid(bad).is_err(), "{bad:?}");
        }
        assert!(account_jid("example.org").is_err());
        assert!(account_jid("u@example.org").is_ok());
    }

    #[test]
    fn service_jids_are_normalised_bare_jids() {
        assert_eq!(service_jid("amp@your-domain.tld").unwrap(), "amp@your-domain.tld");
        assert_eq!(service_jid("AMP@Example.ORG").unwrap(), "amp@example.org");
        assert_eq!(service_jid("amp.example.org").unwrap(), "amp.example.org");
        for bad in ["amp@example.org/res", "", "@example.org", "amp@", "a b@example.org", "amp@bad_host"] {
            assert!(service_jid(bad).is_err(), "{bad:?}");
        }
        // Passes the typo check but not nodeprep (U+0000-U+001F and U+FFFD-like prohibited code points).
        assert!(service_jid("a\u{fffe}b@example.org").unwrap_err().contains("not a valid JID"));
    }

    #[test]
    fn debug_modules_accept_tigase_dots() {
        assert_eq!(debug_module("xmpp.impl").unwrap(), "xmpp::impl");
        assert_eq!(debug_module("c2s::sasl").unwrap(), "c2s::sasl");
        assert_eq!(debug_module("ALL").unwrap(), "all");
        assert!(debug_module("c2s.").is_err());
        assert!(debug_module("C2S").is_err());
        assert!(debug_module("a-b").is_err());
    }
}
