//! The Tigase AMP documentation's configuration lines (amp.md section A, `seeds/`), taken
//! verbatim: each must be accepted as written in an `init.properties` file and, with the
//! leading `--` Tigase's command line needs for `sess-man/...` keys, on the command line.
//! Plus the generic `sess-man/plugins-conf/<id>/<key>` settings Tigase plugins may have.

use std::path::PathBuf;

use super::*;

/// Every configuration line of the seeds, character for character.
const SEED_LINES: &[&str] = &[
    "--sm-plugins=amp,-message,-msgoffline",
    "--amp-repo-uri=jdbc:mysql://localhost/tigasedb?user=db_usr&password=db_pwd",
    "--amp-security-level=STRICT",
    "sess-man/plugins-conf/amp/amp-jid=amp@your-domain.tld",
    "--sm-plugins=+amp,-message,-msgoffline",
    "--amp-security-level=PERFORMANCE",
    "--amp-security-level=NONE",
];

const SEED_URI: &str = "jdbc:mysql://localhost/tigasedb?user=db_usr&password=db_pwd";

/// What one seed line must set, checked on a config that had only that line applied.
fn check_seed_line(line: &str, c: &Config) {
    let amp_only =
        [Toggle::Enable("amp".into()), Toggle::Disable("message".into()), Toggle::Disable("msgoffline".into())];
    match line.split_once('=').unwrap().1 {
        "amp,-message,-msgoffline" | "+amp,-message,-msgoffline" => assert_eq!(c.sm_plugins, amp_only),
        SEED_URI => assert_eq!(c.amp_repo_uri.as_deref(), Some(SEED_URI)),
        "STRICT" => assert_eq!(c.amp_security_level, AmpSecurityLevel::Strict),
        "PERFORMANCE" => assert_eq!(c.amp_security_level, AmpSecurityLevel::Performance),
        "NONE" => assert_eq!(c.amp_security_level, AmpSecurityLevel::None),
        "amp@your-domain.tld" => assert_eq!(c.amp_jid(), "amp@your-domain.tld"),
        other => panic!("no expectation for seed value {other:?}"),
    }
}

/// The seed line as a command-line argument: `sess-man/...` keys gain the leading `--`.
fn as_argument(line: &str) -> String {
    if line.starts_with("--") { line.to_string() } else { format!("--{line}") }
}

fn serve(arguments: &[String]) -> Config {
    match parse_args(arguments.iter().cloned()) {
        Ok(Command::Serve(config)) => config,
        other => panic!("{arguments:?}: {other:?}"),
    }
}

#[test]
fn each_seed_line_is_accepted_in_a_properties_file_in_both_spellings() {
    for line in SEED_LINES {
        let mut config = Config::default();
        config.load_properties(&format!("# from the Tigase AMP guide\n{line}\n"), "init.properties").unwrap();
        check_seed_line(line, &config);
        let key = line.split_once('=').unwrap().0;
        assert_eq!(config.origin_of(key), Some(&Origin::File { name: "init.properties".into(), line: 2 }), "{line}");
        // Properties files take every key with or without the leading `--`.
        let other = match line.strip_prefix("--") {
            Some(bare) => bare.to_string(),
            None => format!("--{line}"),
        };
        let mut config = Config::default();
        config.load_properties(&other, "init.properties").unwrap();
        check_seed_line(line, &config);
    }
}

#[test]
fn each_seed_line_is_accepted_on_the_command_line() {
    for line in SEED_LINES {
        let config = serve(&[as_argument(line)]);
        check_seed_line(line, &config);
        let key = line.split_once('=').unwrap().0;
        assert_eq!(config.origin_of(key), Some(&Origin::CommandLine), "{line}");
    }
}

#[test]
fn the_seed_file_as_a_whole_configures_amp() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("init.properties");
    std::fs::write(&file, SEED_LINES.join("\n")).unwrap();
    let config = serve(&[format!("--config={}", file.display())]);
    assert_eq!(config.amp_repo_uri(), SEED_URI);
    assert_eq!(config.amp_jid(), "amp@your-domain.tld");
    // The guide lists the three levels one after another; as in Tigase, the last line wins.
    assert_eq!(config.amp_security_level, AmpSecurityLevel::None);
    assert_eq!(
        config.origin_of("amp-security-level"),
        Some(&Origin::File { name: file.display().to_string(), line: 7 })
    );
    let installed = |id: &str| ["amp", "message", "msgoffline"].contains(&id);
    for default in [&["message", "msgoffline"][..], &["amp"]] {
        assert_eq!(config.plugin_chain(default, &installed).unwrap(), ["amp"], "{default:?}");
    }
    let shown = format!("{config:?}");
    assert!(!shown.contains("db_pwd") && shown.contains("password=***"), "{shown}");
}

#[test]
fn the_seed_lines_on_one_command_line_configure_amp() {
    let arguments: Vec<String> = SEED_LINES.iter().map(|line| as_argument(line)).collect();
    let config = serve(&arguments);
    assert_eq!((config.amp_repo_uri(), config.amp_jid()), (SEED_URI.to_string(), "amp@your-domain.tld".to_string()));
    assert_eq!(config.amp_security_level, AmpSecurityLevel::None);
    // A sess-man key without `--` on the command line is a word, and the error says how to write it.
    let err = parse_args(["sess-man/plugins-conf/amp/amp-jid=amp@your-domain.tld".to_string()]).unwrap_err();
    assert!(err.message.contains("write it as --sess-man/plugins-conf/amp/amp-jid=amp@your-domain.tld"), "{err}");
}

#[test]
fn amp_beside_message_is_a_chain_error_pointing_at_the_sm_plugins_line() {
    let mut config = Config::default();
    config.load_properties("--virt-hosts=example.org\n--sm-plugins=+amp\n", "init.properties").unwrap();
    let err = config.plugin_chain(&["message", "msgoffline"], &|_| true).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with("init.properties:2: --sm-plugins: \"amp\" and \"message\" cannot both be enabled"),
        "{shown}"
    );
    assert!(shown.contains("+amp,-message,-msgoffline"), "{shown}");
    let config = serve(&["--sm-plugins=+message".to_string()]);
    let err = config.plugin_chain(&["amp"], &|_| true).unwrap_err();
    assert_eq!(err.origin, Origin::CommandLine);
    assert!(err.message.contains("delivered or stored twice"), "{err}");
}

#[test]
fn other_plugin_settings_are_kept_for_their_plugin() {
    let text = "sess-man/plugins-conf/muc/history-size = 20\n--sess-man/plugins-conf/amp/msg-offline=true\n\
                sess-man/plugins-conf/muc/history-size=25\nsess-man/plugins-conf/x/empty=\n";
    let mut config = Config::default();
    config.load_properties(text, "p").unwrap();
    assert_eq!(config.plugin_setting("muc", "history-size"), Some("25"));
    assert_eq!(config.plugin_setting("amp", "msg-offline"), Some("true"));
    assert_eq!(config.plugin_setting("x", "empty"), Some(""));
    assert_eq!(config.plugin_setting("muc", "nope"), None);
    assert_eq!(config.plugin_setting("nope", "history-size"), None);
    // Typed AMP settings are fields, not plugin_conf entries.
    config.load_properties("sess-man/plugins-conf/amp/amp-jid=amp@example.org", "p").unwrap();
    assert_eq!(config.plugin_setting("amp", "amp-jid"), None);
    assert_eq!(config.plugin_conf.len(), 3);
    let line = |line| Some(Origin::File { name: "p".into(), line });
    assert_eq!(config.origin_of("sess-man/plugins-conf/muc/history-size").cloned(), line(3));
    assert_eq!(config.origin_of("--sess-man/plugins-conf/amp/msg-offline").cloned(), line(2));
    assert_eq!(config.origin_of("sess-man/plugins-conf/muc/other"), None);

    let config = serve(&["--sess-man/plugins-conf/muc/history-size=5".to_string()]);
    assert_eq!(config.plugin_setting("muc", "history-size"), Some("5"));
    assert_eq!(config.origin_of("sess-man/plugins-conf/muc/history-size"), Some(&Origin::CommandLine));
}

#[test]
fn malformed_plugin_settings_and_other_unknown_keys_are_still_rejected() {
    let cases = [
        ("sess-man/plugins-conf/Muc/x=1", "sess-man/plugins-conf/Muc/x: \"Muc\" is not a plugin id"),
        ("sess-man/plugins-conf/muc=1", "sess-man/plugins-conf/muc: names no setting"),
        ("sess-man/plugins-conf/muc/a b=1", "sess-man/plugins-conf/muc/a b: \"a b\" is not a setting name"),
        ("sess-man/plugins-conf/muc/x", "sess-man/plugins-conf/muc/x: needs a value"),
        ("sess-man/plugin-conf/muc/x=1", "sess-man/plugin-conf/muc/x: unknown key"),
        ("--amp-repo=x", "--amp-repo: unknown key"),
    ];
    for (line, expected) in cases {
        let err = Config::default().load_properties(line, "p").unwrap_err();
        assert!(err.to_string().starts_with(&format!("p:1: {expected}")), "{line}: {err}");
    }
}

#[test]
fn plugin_settings_that_look_secret_are_hidden_in_debug_output() {
    let text = "sess-man/plugins-conf/x/db-password=hunter2\nsess-man/plugins-conf/x/uri=mysql://u:s3cret@h/d\n";
    let mut config = Config::default();
    config.load_properties(text, "p").unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("hunter2") && !shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("\"db-password\": \"***\""), "{shown}");
    assert_eq!(config.plugin_setting("x", "db-password"), Some("hunter2"));
}

#[test]
fn amp_conditions_dir_follows_the_plugin_dir() {
    let config = serve(&["--data-dir=/srv/wasmpp".to_string()]);
    assert_eq!(config.amp_conditions_dir(), PathBuf::from("/srv/wasmpp/plugins/conditions"));
}
