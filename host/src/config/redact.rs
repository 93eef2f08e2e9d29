//! Password redaction for database URIs (RFC 3986 §3.2.1 userinfo, JDBC query parameters).
//!
//! Tigase-style URIs carry credentials either as `user:pass@` userinfo or as
//! `?user=U&password=P`; both must stay out of logs and `Debug` output.

const MASK: &str = "***";

/// The URI with the userinfo password and any `password=` query value replaced by `***`.
pub fn redact_uri(uri: &str) -> String {
    let (head, query) = match uri.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (uri, None),
    };
    let mut out = redact_userinfo(head);
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query.split('&').map(redact_param).collect();
        out.push_str(&params.join("&"));
    }
    out
}

/// `scheme://user:pass@host/path` → `scheme://user:***@host/path`. The userinfo ends at
/// the last `@`, not at the first `/`, so an unencoded `/` or `@` in a password still
/// counts as password: redacting a little too much beats leaking.
fn redact_userinfo(head: &str) -> String {
    let Some(start) = head.find("://").map(|i| i + 3) else {
        return head.to_string();
    };
    let Some(at) = head[start..].rfind('@') else {
        return head.to_string();
    };
    match head[start..start + at].split_once(':') {
        Some((user, _password)) => {
            format!("{}{user}:{MASK}{}", &head[..start], &head[start + at..])
        }
        None => head.to_string(),
    }
}

/// `password=secret` → `password=***`; other parameters are kept as they are.
fn redact_param(param: &str) -> String {
    match param.split_once('=') {
        Some((name, _)) if is_secret(name) => format!("{name}={MASK}"),
        _ => param.to_string(),
    }
}

fn is_secret(name: &str) -> bool {
    ["password", "passwd", "pwd"].iter().any(|secret| name.eq_ignore_ascii_case(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_jdbc_password_parameters() {
        assert_eq!(
            redact_uri("jdbc:mysql://localhost/tigasedb?user=db_usr&password=db_pwd"),
            "jdbc:mysql://localhost/tigasedb?user=db_usr&password=***"
        );
        assert_eq!(
            redact_uri("jdbc:postgresql://h/db?Password=x&ssl=true"),
            "jdbc:postgresql://h/db?Password=***&ssl=true"
        );
    }

    #[test]
    fn redacts_userinfo_passwords() {
        assert_eq!(redact_uri("postgres://bob:s3cr@t@db:5432/x"), "postgres://bob:***@db:5432/x");
        assert_eq!(redact_uri("mysql://bob:pw@db"), "mysql://bob:***@db");
        assert_eq!(redact_uri("mysql://bob@db/x"), "mysql://bob@db/x");
        assert_eq!(redact_uri("mysql://bob:a/b@db/x?ssl=1"), "mysql://bob:***@db/x?ssl=1");
    }

    #[test]
    fn leaves_uris_without_secrets_alone() {
        for uri in ["sqlite://data/wasmpp.db", "sqlite::memory:", "postgres://db/x?sslmode=require"] {
            assert_eq!(redact_uri(uri), uri);
        }
    }
}
