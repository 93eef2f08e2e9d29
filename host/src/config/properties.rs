//! Tigase `init.properties` files: one `key=value` per line, `#` comments.
//!
//! Tigase writes most lines as `--key=value` and component settings as bare
//! `sess-man/plugins-conf/...=value`; both spellings are accepted for every key. Values are
//! trimmed and taken literally (no `\` escapes or continuations: Tigase files use none, and
//! `#` inside a value is data). A later line for the same key replaces the earlier one.

use super::{Config, ConfigError, Origin};

/// Applies every line of `text` to `config`, stopping at the first bad line.
pub fn load(config: &mut Config, text: &str, file_name: &str) -> Result<(), ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let origin = Origin::File { name: file_name.to_string(), line: index + 1 };
        let (key, value) = match line.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (line, None),
        };
        config.set(key, value, &origin)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Toggle, resolve_chain};
    use super::*;

    fn origin(line: usize) -> Origin {
        Origin::File { name: "etc/init.properties".into(), line }
    }

    #[test]
    fn reads_comments_blank_lines_and_both_key_spellings() {
        let text = "# Tigase-style file\n\n--virt-hosts = example.org, chat.example.org\r\nc2s-ports=5222,5223\n  # indented comment\n--registration\n";
        let mut config = Config::default();
        config.load_properties(text, "etc/init.properties").unwrap();
        assert_eq!(config.virt_hosts, ["example.org", "chat.example.org"]);
        assert_eq!(config.c2s_ports, [5222, 5223]);
        assert!(config.registration);
        assert_eq!(config.origin_of("--c2s-ports"), Some(&origin(4)));
        assert_eq!(config.origin_of("tls-required"), None);
    }

    #[test]
    fn seed_sm_plugins_line_parses_as_toggles() {
        let mut config = Config::default();
        config.load_properties("--sm-plugins=+amp,-message,-msgoffline\n", "init.properties").unwrap();
        let expected =
            [Toggle::Enable("amp".into()), Toggle::Disable("message".into()), Toggle::Disable("msgoffline".into())];
        assert_eq!(config.sm_plugins, expected);
        let only_message = |id: &str| id == "message";
        let err = config.plugin_chain(&["message"], &only_message).unwrap_err();
        assert_eq!(
            err.to_string(),
            "init.properties:1: --sm-plugins: unknown plugin \"amp\" (expected the id of an installed plugin)"
        );
        let with_amp = |id: &str| ["amp", "message", "msgoffline"].contains(&id);
        assert_eq!(config.plugin_chain(&["message"], &with_amp).unwrap(), ["amp"]);
        assert_eq!(resolve_chain(&["message"], &config.sm_plugins, &with_amp).unwrap(), ["amp"]);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let mut config = Config::default();
        let text = "# ports\n\n--c2s-ports=52x2\n";
        let err = config.load_properties(text, "init.properties").unwrap_err();
        assert_eq!(
            err.to_string(),
            "init.properties:3: --c2s-ports: \"52x2\" is not a port number (expected a comma list of numbers 0-65535)"
        );
        let err = config.load_properties("--no-such-key=1", "init.properties").unwrap_err();
        assert_eq!((err.key.as_str(), err.origin.to_string().as_str()), ("--no-such-key", "init.properties:1"));
        let err = config.load_properties("sess-man/plugin-conf/x/y=1", "f").unwrap_err();
        assert_eq!(err.to_string(), "f:1: sess-man/plugin-conf/x/y: unknown key (see wasmpp --help)");
        let err = config.load_properties("\nsess-man/plugins-conf/x=1", "f").unwrap_err();
        assert!(err.to_string().starts_with("f:2: sess-man/plugins-conf/x: names no setting"), "{err}");
    }

    #[test]
    fn non_boolean_keys_need_a_value_and_config_is_cli_only() {
        let mut config = Config::default();
        let err = config.load_properties("--data-dir", "p").unwrap_err();
        assert_eq!(err.to_string(), "p:1: --data-dir: needs a value (expected a directory path)");
        let err = config.load_properties("--config=other.properties", "p").unwrap_err();
        assert_eq!(err.to_string(), "p:1: --config: only valid on the command line");
    }

    #[test]
    fn later_lines_replace_earlier_ones() {
        let mut config = Config::default();
        config.load_properties("--max-xml-depth=10\n--max-xml-depth=12", "p").unwrap();
        assert_eq!(config.max_xml_depth, 12);
        assert_eq!(config.origin_of("max-xml-depth"), Some(&Origin::File { name: "p".into(), line: 2 }));
    }
}
