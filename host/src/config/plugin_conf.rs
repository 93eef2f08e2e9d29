//! Tigase's per-plugin settings, `sess-man/plugins-conf/<plugin-id>/<key>=value`.
//!
//! Tigase lets every session-manager plugin read its own settings under this prefix, and
//! operators carry such lines over from their `init.properties`. Settings wasmpp itself
//! understands (e.g. `sess-man/plugins-conf/amp/amp-jid`) are typed keys in the key table;
//! any other line of this shape is kept as text for its plugin, since only the plugin knows
//! what its keys mean. A line that merely starts with the prefix but does not name a plugin
//! id and a key is still an error, so typos in the prefix are caught.

/// The prefix shared by every per-plugin setting.
pub const PREFIX: &str = "sess-man/plugins-conf/";

/// The shape to show the operator when a line under [`PREFIX`] is malformed.
pub const SHAPE: &str = "sess-man/plugins-conf/<plugin-id>/<key>=value";

/// Splits `sess-man/plugins-conf/<id>/<key>` (written with or without `--`) into the plugin
/// id and the key. `None` if the name is not under [`PREFIX`] at all; `Some(Err)` if it is
/// but the rest is not a plugin id and a key.
pub fn split(name: &str) -> Option<Result<(&str, &str), String>> {
    let bare = name.strip_prefix("--").unwrap_or(name);
    let rest = bare.strip_prefix(PREFIX)?;
    Some(match rest.split_once('/') {
        None => Err(format!("names no setting (expected {SHAPE})")),
        Some((id, _)) if !super::chain::valid_id(id) => {
            Err(format!("{id:?} is not a plugin id (plugin ids are [a-z0-9][a-z0-9_-]*)"))
        }
        Some((_, key)) if !valid_key(key) => {
            Err(format!("{key:?} is not a setting name (letters, digits, '-', '_', '.', ':', with '/' between parts)"))
        }
        Some((id, key)) => Ok((id, key)),
    })
}

/// Tigase setting names are words such as `amp-jid` or `store-limit`, sometimes nested with
/// `/`; anything else (spaces, empty parts) is a typo rather than a setting.
fn valid_key(key: &str) -> bool {
    let part_char = |c: char| c.is_ascii_alphanumeric() || "-_.:".contains(c);
    !key.is_empty() && key.split('/').all(|part| !part.is_empty() && part.chars().all(part_char))
}

/// Whether a plugin setting's value should be hidden in `Debug` output: keys that name a
/// secret are masked entirely; other values still have URI passwords redacted.
pub fn shown_value(key: &str, value: &str) -> String {
    let lower = key.to_ascii_lowercase();
    if ["password", "passwd", "pwd", "secret", "token"].iter().any(|word| lower.contains(word)) {
        return "***".into();
    }
    super::redact_uri(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_plugin_id_and_key_with_or_without_dashes() {
        assert_eq!(split("sess-man/plugins-conf/amp/amp-jid"), Some(Ok(("amp", "amp-jid"))));
        assert_eq!(split("--sess-man/plugins-conf/muc_2/a/b.c"), Some(Ok(("muc_2", "a/b.c"))));
        assert_eq!(split("sess-man/plugins-conf/x/urn:xmpp:ping"), Some(Ok(("x", "urn:xmpp:ping"))));
    }

    #[test]
    fn names_outside_the_prefix_are_not_plugin_settings() {
        for name in ["c2s-ports", "--sess-man/plugins", "sess-man/plugins-conf", "sm/plugins-conf/amp/x"] {
            assert_eq!(split(name), None, "{name}");
        }
    }

    #[test]
    fn malformed_names_under_the_prefix_are_errors_that_say_why() {
        let why = |name: &str| split(name).unwrap().unwrap_err();
        assert!(why("sess-man/plugins-conf/").contains("names no setting"));
        assert!(why("sess-man/plugins-conf/amp").contains("names no setting"));
        assert!(why("sess-man/plugins-conf/Amp/x").contains("\"Amp\" is not a plugin id"));
        assert!(why("sess-man/plugins-conf//x").contains("\"\" is not a plugin id"));
        for key in ["", "a b", "a//b", "a/", "x=y", "ä"] {
            let name = format!("sess-man/plugins-conf/amp/{key}");
            assert!(why(&name).contains("is not a setting name"), "{name}");
        }
    }

    #[test]
    fn secrets_are_hidden_when_shown() {
        assert_eq!(shown_value("db-password", "hunter2"), "***");
        assert_eq!(shown_value("API-Token", "abc"), "***");
        assert_eq!(shown_value("repo-uri", "mysql://u:hunter2@h/d"), "mysql://u:***@h/d");
        assert_eq!(shown_value("limit", "10"), "10");
    }
}
