//! RFC 4616 §2: the PLAIN mechanism message, `[authzid] NUL authcid NUL passwd`.
//!
//! Only parsing lives here: checking the password against stored SCRAM
//! credentials is [`super::ScramCredentials::verify_password`], so PLAIN and
//! SCRAM accounts are one and the same and no plaintext is ever stored.

use std::fmt;

use super::SaslFailure;

/// RFC 4616 §2 caps each field at 255 octets.
const MAX_FIELD: usize = 255;

/// A parsed PLAIN message. The strings are exactly what the client sent:
/// the caller maps `authcid` onto a JID, whose own preparation (nodeprep)
/// is stricter than SASLprep, and the password is SASLprepped when the
/// credentials are derived.
#[derive(Clone, PartialEq, Eq)]
pub struct Plain {
    /// The identity to act as; `None` when empty, which means "the authcid".
    pub authzid: Option<String>,
    /// The identity whose password is being checked.
    pub authcid: String,
    /// The password in clear; kept out of `Debug`.
    pub password: String,
}

impl fmt::Debug for Plain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plain")
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Parses the decoded PLAIN message. Every syntactic problem (wrong number of
/// NULs, invalid UTF-8, an empty or oversize field) is `malformed-request`:
/// `incorrect-encoding` is reserved for the base64 layer (RFC 6120 §6.5.2).
pub fn parse_plain(msg: &[u8]) -> Result<Plain, SaslFailure> {
    let mut parts = msg.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslFailure::MalformedRequest);
    };
    if authcid.is_empty() || password.is_empty() {
        return Err(SaslFailure::MalformedRequest);
    }
    let field = |bytes: &[u8]| -> Result<String, SaslFailure> {
        if bytes.len() > MAX_FIELD {
            return Err(SaslFailure::MalformedRequest);
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| SaslFailure::MalformedRequest)
    };
    let authzid = field(authzid)?;
    Ok(Plain {
        authzid: (!authzid.is_empty()).then_some(authzid),
        authcid: field(authcid)?,
        password: field(password)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_authzid() {
        let p = parse_plain(b"\0juliet\0r0m30myr0m30").unwrap();
        assert_eq!(p.authzid, None);
        assert_eq!(p.authcid, "juliet");
        assert_eq!(p.password, "r0m30myr0m30");
    }

    #[test]
    fn with_authzid_and_unicode() {
        let p = parse_plain("juliet@example.com\0jüliet\0pässwörd".as_bytes()).unwrap();
        assert_eq!(p.authzid.as_deref(), Some("juliet@example.com"));
        assert_eq!(p.authcid, "jüliet");
        assert_eq!(p.password, "pässwörd");
    }

    #[test]
    fn wrong_field_count_is_malformed() {
        for msg in [&b""[..], b"juliet", b"\0juliet", b"a\0b\0c\0d", b"\0\0\0"] {
            assert_eq!(parse_plain(msg), Err(SaslFailure::MalformedRequest), "{msg:?}");
        }
    }

    #[test]
    fn empty_authcid_or_password_is_malformed() {
        assert_eq!(parse_plain(b"\0\0secret"), Err(SaslFailure::MalformedRequest));
        assert_eq!(parse_plain(b"\0juliet\0"), Err(SaslFailure::MalformedRequest));
    }

    #[test]
    fn invalid_utf8_is_malformed() {
        assert_eq!(parse_plain(b"\0jul\xffiet\0pw"), Err(SaslFailure::MalformedRequest));
        assert_eq!(parse_plain(b"\xc3\0juliet\0pw"), Err(SaslFailure::MalformedRequest));
    }

    #[test]
    fn field_length_limit() {
        let ok = format!("\0{}\0{}", "a".repeat(255), "p".repeat(255));
        assert!(parse_plain(ok.as_bytes()).is_ok());
        let long_user = format!("\0{}\0pw", "a".repeat(256));
        assert_eq!(parse_plain(long_user.as_bytes()), Err(SaslFailure::MalformedRequest));
        let long_pw = format!("\0user\0{}", "p".repeat(256));
        assert_eq!(parse_plain(long_pw.as_bytes()), Err(SaslFailure::MalformedRequest));
        let long_authz = format!("{}\0user\0pw", "z".repeat(256));
        assert_eq!(parse_plain(long_authz.as_bytes()), Err(SaslFailure::MalformedRequest));
    }

    #[test]
    fn debug_hides_password() {
        let p = parse_plain(b"\0juliet\0hunter2").unwrap();
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("juliet"));
    }
}
