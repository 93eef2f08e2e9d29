//! Database URIs: Tigase-style JDBC URIs and native sqlx URLs, mapped onto the
//! URL the sqlx `Any` driver understands (`mysql://`, `postgres://`, `sqlite:`).
//!
//! JDBC URIs carry the credentials in the query (`?user=U&password=P`); sqlx
//! wants them in the authority, percent-encoded, so they are moved there.
//! Query values are percent-decoded but `+` is kept literally, as JDBC drivers
//! do, so a password containing `+` survives the trip.

use super::{Backend, StoreError};

/// Maps a configured URI to its backend and sqlx URL. SQLite files are opened
/// with `mode=rwc` unless the URI names a mode, so a fresh install needs no
/// manual `touch`.
pub fn to_sqlx_url(uri: &str) -> Result<(Backend, String), StoreError> {
    let bad = || StoreError::BadUri(redact(uri));
    let (scheme, rest) = uri.split_once(':').ok_or_else(bad)?;
    match scheme {
        "jdbc" => {
            let (sub, rest) = rest.split_once("://").ok_or_else(bad)?;
            let backend = match sub {
                "mysql" | "mariadb" => Backend::MySql,
                "postgresql" | "postgres" => Backend::Postgres,
                _ => return Err(bad()),
            };
            from_jdbc(backend, rest).ok_or_else(bad).map(|url| (backend, url))
        }
        "mysql" | "mariadb" => Ok((Backend::MySql, format!("mysql:{rest}"))),
        "postgres" | "postgresql" => Ok((Backend::Postgres, format!("postgres:{rest}"))),
        "sqlite" => {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path_only = path.split('?').next().unwrap_or_default();
            if path_only.is_empty() {
                return Err(bad());
            }
            if path_only == ":memory:" || path.contains("mode=") {
                return Ok((Backend::Sqlite, format!("sqlite:{rest}")));
            }
            let sep = if path.contains('?') { '&' } else { '?' };
            Ok((Backend::Sqlite, format!("sqlite://{path}{sep}mode=rwc")))
        }
        _ => Err(bad()),
    }
}

/// Rebuilds `host[:port]/db?user=U&password=P&…` as a sqlx URL. Connection
/// options we can translate (TLS) are kept; JDBC-only tuning flags such as
/// `useUnicode` are dropped, since sqlx always speaks UTF-8.
fn from_jdbc(backend: Backend, rest: &str) -> Option<String> {
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, db) = location.split_once('/').unwrap_or((location, ""));
    if host.is_empty() || host.contains('@') || db.is_empty() {
        return None;
    }
    let (mut user, mut password, mut params) = (None, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value)?;
        match (backend, key) {
            (_, "user") => user = Some(value),
            (_, "password") => password = Some(value),
            (Backend::Postgres, "sslmode") => params.push(format!("sslmode={}", encode(&value))),
            (Backend::Postgres, "ssl") if value == "true" => params.push("sslmode=require".into()),
            (Backend::MySql, "useSSL" | "requireSSL") if value == "true" => params.push("ssl-mode=required".into()),
            _ => tracing::debug!(key, "ignoring JDBC URI parameter"),
        }
    }
    let scheme = if backend == Backend::MySql { "mysql" } else { "postgres" };
    let auth = match (user, password) {
        (Some(u), Some(p)) => format!("{}:{}@", encode(&u), encode(&p)),
        (Some(u), None) => format!("{}@", encode(&u)),
        (None, Some(_)) => return None,
        (None, None) => String::new(),
    };
    let query = if params.is_empty() { String::new() } else { format!("?{}", params.join("&")) };
    Some(format!("{scheme}://{auth}{host}/{db}{query}"))
}

/// The URI with any password replaced by `***`, for logs and error messages.
/// Covers both `user:password@host` and a `password=` query parameter.
pub fn redact(uri: &str) -> String {
    let mut out = uri.to_owned();
    if let Some(start) = out.find("://").map(|i| i + 3) {
        let end = out[start..].find(['/', '?', '#']).map_or(out.len(), |i| start + i);
        if let Some(at) = out[start..end].rfind('@').map(|i| start + i)
            && let Some(colon) = out[start..at].find(':').map(|i| start + i)
        {
            out.replace_range(colon + 1..at, "***");
        }
    }
    if let Some(q) = out.find('?') {
        let redacted: Vec<String> = out[q + 1..]
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{}?{}", &out[..q], redacted.join("&"));
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters, which is
/// always safe inside userinfo and query values.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; `None` on a malformed escape or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(uri: &str) -> (Backend, String) {
        to_sqlx_url(uri).unwrap()
    }

    #[test]
    fn jdbc_mysql_moves_and_encodes_credentials() {
        assert_eq!(
            url("jdbc:mysql://db.example:3307/tigase?user=tig%40se&password=p+w:@/%25&useUnicode=true"),
            (Backend::MySql, "mysql://tig%40se:p%2Bw%3A%40%2F%25@db.example:3307/tigase".into())
        );
        assert_eq!(url("jdbc:mysql://localhost/x?user=root").1, "mysql://root@localhost/x");
        assert_eq!(url("jdbc:mysql://h/x?useSSL=true").1, "mysql://h/x?ssl-mode=required");
    }

    #[test]
    fn jdbc_postgresql() {
        assert_eq!(
            url("jdbc:postgresql://[::1]/xmpp?user=u&password=s%C3%A9cret&ssl=true"),
            (Backend::Postgres, "postgres://u:s%C3%A9cret@[::1]/xmpp?sslmode=require".into())
        );
        assert_eq!(url("jdbc:postgresql://h:5433/d").1, "postgres://h:5433/d");
    }

    #[test]
    fn native_urls_pass_through() {
        assert_eq!(url("mysql://u:p@h/d"), (Backend::MySql, "mysql://u:p@h/d".into()));
        assert_eq!(url("mariadb://u@h:3306/d"), (Backend::MySql, "mysql://u@h:3306/d".into()));
        assert_eq!(url("postgres://u@h/d"), (Backend::Postgres, "postgres://u@h/d".into()));
        assert_eq!(url("postgresql://h/d?sslmode=verify-full").1, "postgres://h/d?sslmode=verify-full");
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(url("sqlite://data/x.db"), (Backend::Sqlite, "sqlite://data/x.db?mode=rwc".into()));
        assert_eq!(url("sqlite:x.db").1, "sqlite://x.db?mode=rwc");
        assert_eq!(url("sqlite:///var/lib/x.db").1, "sqlite:///var/lib/x.db?mode=rwc");
        assert_eq!(url("sqlite://x.db?cache=shared").1, "sqlite://x.db?cache=shared&mode=rwc");
        assert_eq!(url("sqlite://x.db?mode=ro").1, "sqlite://x.db?mode=ro");
        assert_eq!(url("sqlite::memory:"), (Backend::Sqlite, "sqlite::memory:".into()));
    }

    #[test]
    fn bad_uris_name_the_uri_without_password() {
        for uri in [
            "oracle://u:hunter2@h/d",
            "jdbc:derby://h/d?password=hunter2",
            "jdbc:mysql://h?password=hunter2",
            "jdbc:mysql://u:hunter2@h/d",
            "jdbc:mysql://h/d?password=hunter2",
            "jdbc:mysql://h/d?user=u&password=%zz",
            "sqlite:",
            "no-scheme",
        ] {
            let err = to_sqlx_url(uri).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, StoreError::BadUri(_)), "{uri}");
            assert!(!msg.contains("hunter2"), "{msg}");
            assert!(msg.contains(&redact(uri)), "{msg}");
        }
    }

    #[test]
    fn redact_hides_passwords() {
        assert_eq!(redact("mysql://u:hunter2@h/d"), "mysql://u:***@h/d");
        assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(redact("jdbc:mysql://h/d?user=u&password=hunter2&x=1"), "jdbc:mysql://h/d?user=u&password=***&x=1");
        assert_eq!(redact("sqlite::memory:"), "sqlite::memory:");
    }
}
