//! XML 1.0 §2.2-§2.4 and §4.1 as restricted by RFC 6120 §11.1: which
//! characters, names and references inbound XML may contain.
//!
//! Only the five predefined entities and numeric character references are
//! resolved; any other entity reference is refused and never expanded, which
//! is what keeps entity-expansion attacks out.

use super::error::XmlError;
use std::borrow::Cow;

/// XML 1.0 `Char`: what may appear in a document at all.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Refuses raw control characters and U+FFFE/U+FFFF in UTF-8 that is
/// already known to be valid (surrogates cannot occur in valid UTF-8).
pub(crate) fn check_chars(bytes: &[u8]) -> Result<(), XmlError> {
    let mut i = clean_prefix(bytes);
    while let Some(off) = bytes[i..].iter().position(|&b| b < 0x20 || b == 0xEF) {
        i += off;
        let b = bytes[i];
        if b == 0xEF {
            if bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) {
                let c = if bytes[i + 2] == 0xBE { "U+FFFE" } else { "U+FFFF" };
                return Err(XmlError::InvalidChar(c.into()));
            }
        } else if !matches!(b, b'\t' | b'\n' | b'\r') {
            return Err(XmlError::InvalidChar(format!("U+{b:04X}")));
        }
        i += 1;
    }
    Ok(())
}

/// How many leading bytes certainly hold neither a byte below 0x20 nor
/// 0xEF, found eight at a time: every byte of a stanza passes here, and
/// almost none of them is one of those. The exact per-byte check goes on
/// from the first word that may hold one (a tab or newline is enough).
fn clean_prefix(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const SPACES: u64 = u64::from_ne_bytes([0x20; 8]);
    const EFS: u64 = u64::from_ne_bytes([0xEF; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut clean = 0;
    for word in &mut words {
        let w = u64::from_ne_bytes(word.try_into().expect("eight bytes"));
        // The classic "has a byte less than n" test: nonzero when some byte
        // is below 0x20, or (second term) when some byte of w ^ EFS is zero,
        // i.e. equals 0xEF. It has no false negatives.
        let below_space = w.wrapping_sub(SPACES) & !w & HIGHS;
        let e = w ^ EFS;
        let is_ef = e.wrapping_sub(ONES) & !e & HIGHS;
        if below_space | is_ef != 0 {
            break;
        }
        clean += 8;
    }
    clean
}

/// Bytes that may start a name: ASCII letters, `_`, and every byte of a
/// non-ASCII character (UTF-8 puts only bytes ≥ 0x80 in those).
fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_name_byte(b: u8) -> bool {
    is_name_start(b) || b.is_ascii_digit() || b == b'-' || b == b'.'
}

/// An XML Namespaces `NCName` (a name without a colon). Non-ASCII
/// characters are accepted wholesale: the exact Unicode classes buy no
/// safety here, and the bytes are already valid UTF-8. Checked byte by
/// byte (every element and attribute name of every stanza passes here).
pub(crate) fn is_ncname(s: &str) -> bool {
    match s.as_bytes().split_first() {
        Some((&first, rest)) => is_name_start(first) && rest.iter().all(|&b| is_name_byte(b)),
        None => false,
    }
}

/// Splits a qualified name into (prefix, local); the prefix is `""` when
/// absent. Refuses anything that is not `NCName` or `NCName:NCName`.
pub(crate) fn split_qname(name: &str) -> Result<(&str, &str), XmlError> {
    let bad = || XmlError::Syntax(format!("bad name {name:?}"));
    let (prefix, local) = match name.bytes().position(|b| b == b':') {
        // An empty prefix fails `is_ncname`; `:` is not a name byte, so a
        // second colon fails `is_ncname(local)`.
        Some(i) if is_ncname(&name[..i]) => (&name[..i], &name[i + 1..]),
        Some(_) => return Err(bad()),
        None => ("", name),
    };
    if !is_ncname(local) {
        return Err(bad());
    }
    Ok((prefix, local))
}

/// Appends what the reference `&name;` stands for, or refuses it.
pub(crate) fn push_ref(name: &str, out: &mut String) -> Result<(), XmlError> {
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => match name.strip_prefix('#') {
            Some(num) => char_ref(num)?,
            None if is_ncname(name) => return Err(XmlError::UndefinedEntity(name.into())),
            None => return Err(XmlError::Syntax(format!("bad reference &{name};"))),
        },
    };
    out.push(c);
    Ok(())
}

/// `&#123;` or `&#x7B;` (XML 1.0 §4.1: only a lower-case `x`, digits only).
fn char_ref(num: &str) -> Result<char, XmlError> {
    let (digits, radix) = match num.strip_prefix('x') {
        Some(hex) => (hex, 16),
        None => (num, 10),
    };
    let bad = || XmlError::Syntax(format!("bad character reference &#{num};"));
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(bad());
    }
    let c = u32::from_str_radix(digits, radix).ok().and_then(char::from_u32).ok_or_else(bad)?;
    if !is_xml_char(c) {
        return Err(XmlError::InvalidChar(format!("&#{num};")));
    }
    Ok(c)
}

/// Unescapes an attribute value and applies XML 1.0 §3.3.3 normalisation
/// (literal tab, newline and CR become spaces); borrows when nothing changes.
pub(crate) fn unescape_attr(raw: &str) -> Result<Cow<'_, str>, XmlError> {
    const SPECIAL: [char; 5] = ['&', '<', '\t', '\n', '\r'];
    if !raw.contains(SPECIAL) {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(SPECIAL) {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        rest = match rest.as_bytes()[i] {
            b'<' => return Err(XmlError::BadAttribute("'<' in an attribute value".into())),
            b'&' => {
                let end = after.find(';').ok_or_else(|| XmlError::Syntax("unterminated reference".into()))?;
                push_ref(&after[..end], &mut out)?;
                &after[end + 1..]
            }
            b'\r' => {
                out.push(' ');
                after.strip_prefix('\n').unwrap_or(after)
            }
            _ => {
                out.push(' ');
                after
            }
        };
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_and_numeric_references_resolve() {
        let v = unescape_attr("a&lt;b&gt;&amp;&quot;&apos;&#65;&#x42;").unwrap();
        assert_eq!(v, "a<b>&\"'AB");
    }

    #[test]
    fn other_entities_are_refused_not_expanded() {
        assert_eq!(unescape_attr("&xxe;"), Err(XmlError::UndefinedEntity("xxe".into())));
        assert_eq!(unescape_attr("&nbsp;").unwrap_err().to_stream_error().condition.as_str(), "restricted-xml");
    }

    #[test]
    fn bad_references_are_malformed() {
        for bad in ["&#;", "&#x;", "&#X41;", "&#+65;", "&#99999999999;", "&#xD800;", "&lt", "& b;"] {
            assert!(matches!(unescape_attr(bad), Err(XmlError::Syntax(_))), "{bad}");
        }
        assert!(matches!(unescape_attr("&#0;"), Err(XmlError::InvalidChar(_))));
        assert!(matches!(unescape_attr("&#x1;"), Err(XmlError::InvalidChar(_))));
        assert!(matches!(unescape_attr("&#xFFFE;"), Err(XmlError::InvalidChar(_))));
    }

    #[test]
    fn attribute_whitespace_is_normalised() {
        assert_eq!(unescape_attr("a\r\nb\tc\nd\re").unwrap(), "a b c d e");
        assert!(matches!(unescape_attr("plain"), Ok(Cow::Borrowed("plain"))));
        assert!(unescape_attr("a<b").is_err());
    }

    #[test]
    fn raw_control_characters_are_refused() {
        assert!(check_chars("ok\t\r\n é ☃ 😀".as_bytes()).is_ok());
        assert!(check_chars(b"a\x00b").is_err());
        assert!(check_chars(b"a\x1bb").is_err());
        assert!(check_chars("a\u{FFFF}".as_bytes()).is_err());
        assert!(check_chars("a\u{FFFE}".as_bytes()).is_err());
        assert!(check_chars("\u{FFFD}\u{FEFF}".as_bytes()).is_ok());
    }

    #[test]
    fn word_scan_agrees_with_the_byte_check() {
        // Every position and byte value that matters, at every offset in
        // a word: the word scan stops at the word holding the first byte the
        // exact check must see, never later.
        let ok = |b: u8| b >= 0x20 && b != 0xEF;
        for len in 0..40 {
            for pos in 0..len {
                for bad in [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x7F, 0x80, 0xBF, 0xEE, 0xEF, 0xF0, 0xFF] {
                    let mut v = vec![b'x'; len];
                    v[pos] = bad;
                    let clean = clean_prefix(&v);
                    let first_bad = v.iter().position(|&b| !ok(b)).unwrap_or(len);
                    // Exactly the whole words before the one holding it.
                    assert_eq!(clean, first_bad / 8 * 8, "len {len} pos {pos} byte {bad:#x}");
                }
            }
        }
        // The whole check still finds what the word scan skips to.
        let mut long = "a".repeat(64);
        long.push('\u{1}');
        assert_eq!(check_chars(long.as_bytes()), Err(XmlError::InvalidChar("U+0001".into())));
        let mut long = "é".repeat(40);
        long.push('\u{FFFF}');
        assert_eq!(check_chars(long.as_bytes()), Err(XmlError::InvalidChar("U+FFFF".into())));
        assert!(check_chars("\u{FFFD}é\u{EFFF}".repeat(20).as_bytes()).is_ok());
    }

    #[test]
    fn qualified_names() {
        assert_eq!(split_qname("stream:stream").unwrap(), ("stream", "stream"));
        assert_eq!(split_qname("body").unwrap(), ("", "body"));
        assert_eq!(split_qname("x-y.z_1").unwrap(), ("", "x-y.z_1"));
        assert_eq!(split_qname("é:ü").unwrap(), ("é", "ü"));
        assert!(is_ncname("_x") && is_ncname("☃-1") && !is_ncname(".a") && !is_ncname("9"));
        for bad in ["", ":a", "a:", "a:b:c", "1a", "-a", "a b", "a'", "a:1b", "é:"] {
            assert!(split_qname(bad).is_err(), "{bad:?}");
        }
    }
}
