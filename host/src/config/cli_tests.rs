//! Tests of `parse_args` and `help_text`.

use std::path::PathBuf;

use super::*;
use crate::config::{KEYS, ResourceConflict, Toggle};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn serve(list: &[&str]) -> Config {
    match parse_args(args(list)) {
        Ok(Command::Serve(config)) => config,
        other => panic!("{list:?}: {other:?}"),
    }
}

/// A properties file unique to this test, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        let path = std::env::temp_dir().join(format!("wasmpp-config-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
    fn flag(&self) -> String {
        format!("--config={}", self.0.display())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn no_arguments_serve_with_defaults() {
    let config = serve(&[]);
    assert_eq!(config.c2s_ports, [5222]);
    assert_eq!(config.config_file, None);
}

#[test]
fn flags_set_keys_and_bare_booleans_mean_true() {
    let config = serve(&["--virt-hosts=example.org", "--registration", "--resource-conflict=reject"]);
    assert_eq!(config.default_domain(), "example.org");
    assert!(config.registration);
    assert_eq!(config.resource_conflict, ResourceConflict::Reject);
}

#[test]
fn command_line_overrides_the_file() {
    let file = TempFile::new(
        "override",
        "# test\n--c2s-ports=5000\n--sm-plugins=+amp,-message,-msgoffline\nmax-xml-depth=8\n",
    );
    let config = serve(&["--c2s-ports=6000", &file.flag()]);
    assert_eq!(config.c2s_ports, [6000]);
    assert_eq!(config.max_xml_depth, 8);
    assert_eq!(config.sm_plugins[0], Toggle::Enable("amp".into()));
    assert_eq!(config.config_file.as_deref(), Some(file.0.as_path()));
    assert_eq!(config.origin_of("c2s-ports"), Some(&Origin::CommandLine));
}

#[test]
fn file_errors_name_the_file_and_line() {
    let file = TempFile::new("bad", "--virt-hosts=example.org\n\n--c2s-ports=52x2\n");
    let err = parse_args(args(&[&file.flag()])).unwrap_err();
    let expected = format!(
        "{}:3: --c2s-ports: \"52x2\" is not a port number (expected a comma list of numbers 0-65535)",
        file.0.display()
    );
    assert_eq!(err.to_string(), expected);
}

#[test]
fn unreadable_or_repeated_config_is_an_error() {
    let err = parse_args(args(&["--config=/nonexistent/wasmpp/init.properties"])).unwrap_err();
    assert_eq!((err.key.as_str(), &err.origin), ("--config", &Origin::CommandLine));
    assert!(err.message.starts_with("cannot read"), "{err}");
    let err = parse_args(args(&["--config=a", "--config=b"])).unwrap_err();
    assert!(err.message.contains("more than once"), "{err}");
    let err = parse_args(args(&["--config"])).unwrap_err();
    assert!(err.message.contains("needs a value"), "{err}");
}

#[test]
fn bad_flags_are_reported_from_the_command_line() {
    let err = parse_args(args(&["--max-stanza-size=10"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "command line: --max-stanza-size: 10 is too small (expected a number of bytes >= 1024)"
    );
    let err = parse_args(args(&["-v"])).unwrap_err();
    assert_eq!(err.key, "-v");
    let err = parse_args(args(&["--tls-cert=c.pem"])).unwrap_err();
    assert_eq!(err.key, "--tls-key");
}

#[test]
fn subcommands_take_a_jid_and_optional_password_with_flags_anywhere() {
    let cmd = parse_args(args(&["--data-dir=/tmp/x", "adduser", "alice@example.org", "s3cret", "--registration"]));
    match cmd.unwrap() {
        Command::AddUser { config, jid, password } => {
            assert_eq!((jid.as_str(), password.as_deref()), ("alice@example.org", Some("s3cret")));
            assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
            assert!(config.registration);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(parse_args(args(&["passwd", "a@b.c"])), Ok(Command::Passwd { password: None, .. })));
    assert!(matches!(parse_args(args(&["deluser", "a@b.c"])), Ok(Command::DelUser { .. })));
    let cmd = parse_args(args(&["passwd", "a@b.c", "--", "-dash-pw"])).unwrap();
    assert!(matches!(cmd, Command::Passwd { password: Some(p), .. } if p == "-dash-pw"));
}

#[test]
fn subcommand_misuse_is_an_error() {
    let err = parse_args(args(&["adduser"])).unwrap_err();
    assert_eq!(err.to_string(), "command line: adduser: missing JID (usage: wasmpp adduser JID [PASSWORD])");
    let err = parse_args(args(&["deluser", "a@b.c", "extra"])).unwrap_err();
    assert!(err.message.starts_with("too many arguments"), "{err}");
    let err = parse_args(args(&["adduser", "example.org"])).unwrap_err();
    assert!(err.message.contains("no local part"), "{err}");
    let err = parse_args(args(&["frobnicate"])).unwrap_err();
    assert_eq!(err.key, "frobnicate");
    assert!(matches!(parse_args(args(&["example.org"])), Err(ConfigError { .. })));
}

#[test]
fn help_and_version() {
    assert!(matches!(parse_args(args(&["--help"])), Ok(Command::Help)));
    assert!(matches!(parse_args(args(&["help"])), Ok(Command::Help)));
    assert!(matches!(parse_args(args(&["--c2s-ports=x", "-h"])), Ok(Command::Help)));
    assert!(matches!(parse_args(args(&["--version"])), Ok(Command::Version)));
}

#[test]
fn debug_form_hides_passwords() {
    let cmd = parse_args(args(&["adduser", "a@b.c", "hunter2"])).unwrap();
    let shown = format!("{cmd:?}");
    assert!(!shown.contains("hunter2") && shown.contains("***"), "{shown}");
}

#[test]
fn help_lists_every_key_with_its_default_aligned() {
    let help = help_text();
    assert!(help.contains("wasmpp adduser|deluser|passwd JID [PASSWORD] [--key=value…]"));
    assert!(help.contains("-id removes id"));
    for key in KEYS {
        let line = help
            .lines()
            .find(|line| {
                line.trim_start().starts_with(&format!("{}=", key.display()))
                    || line.trim_start().starts_with(&format!("{}[", key.display()))
            })
            .unwrap_or_else(|| panic!("--{} missing from help", key.name));
        assert!(line.contains(key.help) && line.contains("[default: "), "{line}");
    }
    for expected in
        ["[default: 5222]", "[default: localhost]", "[default: 262144]", "[default: sqlite://<data-dir>/wasmpp.db]"]
    {
        assert!(help.contains(expected), "{expected}");
    }
    let columns: Vec<usize> = KEYS
        .iter()
        .map(|key| {
            let line = help.lines().find(|l| l.contains(key.help)).unwrap();
            line.find(key.help).unwrap()
        })
        .collect();
    assert!(columns.windows(2).all(|w| w[0] == w[1]), "descriptions not aligned: {columns:?}");
}

#[test]
fn plugin_check_takes_a_file_and_the_flags_it_is_checked_under() {
    let cmd = parse_args(args(&["plugin", "check", "x.wasm", "--sess-man/plugins-conf/x/capabilities=sessions"]));
    match cmd {
        Ok(Command::PluginCheck { config, file }) => {
            assert_eq!(file, PathBuf::from("x.wasm"));
            assert_eq!(config.plugin_policies["x"].allowed.unwrap().to_string(), "sessions");
        }
        other => panic!("{other:?}"),
    }
    for (list, problem) in [
        (&["plugin"][..], "missing plugin command"),
        (&["plugin", "load", "x.wasm"][..], "unknown plugin command \"load\""),
        (&["plugin", "check"][..], "missing FILE"),
        (&["plugin", "check", "a.wasm", "b.wasm"][..], "too many arguments"),
    ] {
        let err = parse_args(args(list)).unwrap_err();
        assert_eq!(err.to_string(), format!("command line: plugin: {problem} ({PLUGIN_USAGE})"));
    }
    let help = help_text();
    assert!(help.contains("wasmpp plugin check FILE"), "{help}");
    assert!(help.contains("sess-man/plugins-conf/<plugin-id>/memory-mb"), "{help}");
}

#[test]
fn plugin_new_takes_a_name_and_its_own_two_flags() {
    match parse_args(args(&["plugin", "new", "word-filter"])) {
        Ok(Command::PluginNew { name, dir: None, sdk: None }) => assert_eq!(name, "word-filter"),
        other => panic!("{other:?}"),
    }
    match parse_args(args(&["--sdk=../wasmpp/guest-sdk", "plugin", "new", "x", "--dir=plugins/x"])) {
        Ok(Command::PluginNew { dir: Some(dir), sdk: Some(sdk), .. }) => {
            assert_eq!((dir, sdk), (PathBuf::from("plugins/x"), PathBuf::from("../wasmpp/guest-sdk")));
        }
        other => panic!("{other:?}"),
    }
    for (list, message) in [
        (&["plugin", "new"][..], format!("plugin new: missing NAME ({PLUGIN_NEW_USAGE})")),
        (&["plugin", "new", "a", "b"][..], format!("plugin new: too many arguments ({PLUGIN_NEW_USAGE})")),
        (&["plugin", "new", "a", "--dir"][..], "--dir: needs a path: --dir=PATH".to_owned()),
        (&["plugin", "new", "a", "--dir", "x"][..], "--dir: needs a path: --dir=PATH".to_owned()),
        (&["plugin", "new", "a", "--sdk="][..], "--sdk: needs a path: --sdk=PATH".to_owned()),
        (
            &["plugin", "new", "a", "--c2s-ports=1"][..],
            format!("--c2s-ports: not an option of plugin new ({PLUGIN_NEW_USAGE})"),
        ),
    ] {
        let err = parse_args(args(list)).unwrap_err();
        assert_eq!(err.to_string(), format!("command line: {message}"), "{list:?}");
    }
    assert!(help_text().contains("wasmpp plugin new NAME [--dir=PATH] [--sdk=PATH]"));
}
