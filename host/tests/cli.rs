//! The `wasmpp` binary as an operator uses it: `--help`, configuration
//! errors that name the key and where it came from, and the account
//! commands against a real SQLite database.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn wasmpp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmpp")).args(args).output().expect("wasmpp runs")
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn help_lists_keys_with_defaults() {
    let out = wasmpp(&["--help"]);
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    for expected in ["--virt-hosts", "[default: localhost]", "--sm-plugins", "--c2s-ping-interval", "store-limit"] {
        assert!(stdout.contains(expected), "{expected} missing from --help:\n{stdout}");
    }
}

#[test]
fn bad_values_name_the_key_and_the_file_line() {
    let out = wasmpp(&["--c2s-ports=52x2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("command line: --c2s-ports: \"52x2\" is not a port number"), "{}", text(&out).1);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("init.properties");
    std::fs::write(&file, "# wasmpp\n--virt-hosts=example.com\n--no-such-key=1\n").unwrap();
    let out = wasmpp(&[&format!("--config={}", file.display())]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out).1;
    assert!(stderr.contains("init.properties:3") && stderr.contains("--no-such-key"), "{stderr}");
}

#[test]
fn help_lists_the_amp_keys() {
    let (stdout, _) = text(&wasmpp(&["--help"]));
    for expected in [
        "--amp-repo-uri=URI",
        "[default: the user database]",
        "--amp-security-level=LEVEL",
        "[default: STRICT]",
        "--amp-conditions-dir=DIR",
        "[default: <plugin-dir>/conditions]",
        "sess-man/plugins-conf/amp/amp-jid=JID",
        "[default: amp@<first virtual host>]",
        "sess-man/plugins-conf/amp/store-limit=N",
        "sess-man/plugins-conf/amp/recipient-store-limit=N",
        "sess-man/plugins-conf/<plugin-id>/<key>=value",
        "-amp,+message,+msgoffline",
    ] {
        assert!(stdout.contains(expected), "{expected} missing from --help:\n{stdout}");
    }
}

#[test]
fn a_bad_amp_security_level_exits_naming_the_key_and_the_levels() {
    let out = wasmpp(&["--amp-security-level=FAST"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out).1;
    assert!(stderr.contains("command line: --amp-security-level: \"FAST\" is not a security level"), "{stderr}");
    assert!(stderr.contains("STRICT, PERFORMANCE or NONE"), "{stderr}");
}

#[test]
fn a_bad_amp_repo_uri_in_the_file_names_the_line_but_not_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("init.properties");
    std::fs::write(
        &file,
        "--sm-plugins=+amp,-message,-msgoffline\n--amp-repo-uri=jdbc:db2://h/x?user=u&password=db_pwd\n",
    )
    .unwrap();
    let out = wasmpp(&[&format!("--config={}", file.display())]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out).1;
    assert!(stderr.contains("init.properties:2: --amp-repo-uri: unsupported database URI"), "{stderr}");
    assert!(!stderr.contains("db_pwd") && stderr.contains("password=***"), "{stderr}");
}

#[test]
fn the_seed_lines_pass_config_checking_as_adduser_arguments() {
    // adduser parses the whole configuration before touching the database, so a config
    // error would stop it; the account landing in the user store proves the lines passed.
    let dir = tempfile::tempdir().unwrap();
    let data = format!("--data-dir={}", dir.path().join("data").display());
    let out = wasmpp(&[
        "adduser",
        "romeo@localhost",
        "wherefore",
        &data,
        "--sm-plugins=amp,-message,-msgoffline",
        "--amp-repo-uri=jdbc:mysql://localhost/tigasedb?user=db_usr&password=db_pwd",
        "--amp-security-level=PERFORMANCE",
        "--sess-man/plugins-conf/amp/amp-jid=amp@your-domain.tld",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
}

#[test]
fn an_unknown_plugin_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = wasmpp(&[
        "--sm-plugins=+nope",
        "--c2s-ports=0",
        "--c2s-address=127.0.0.1",
        &format!("--data-dir={}", dir.path().display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out).1;
    assert!(stderr.contains("--sm-plugins") && stderr.contains("nope"), "{stderr}");
}

#[test]
fn account_commands_create_change_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    // A data directory that does not exist yet, as on a fresh install.
    let data = format!("--data-dir={}", dir.path().join("data").display());
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.push(&data);
        wasmpp(&all)
    };
    let out = run(&["adduser", "romeo@localhost", "wherefore"]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(text(&out).0.contains("created romeo@localhost"));
    let again = run(&["adduser", "Romeo@localhost", "x"]);
    assert!(!again.status.success() && text(&again).1.contains("already exists"), "{:?}", text(&again));
    assert!(run(&["passwd", "romeo@localhost", "balcony"]).status.success());
    let elsewhere = run(&["adduser", "tybalt@elsewhere.example", "x"]);
    assert!(!elsewhere.status.success() && text(&elsewhere).1.contains("--virt-hosts"), "{:?}", text(&elsewhere));

    // The password may come on standard input instead.
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmpp"))
        .args(["adduser", "juliet@localhost", &data])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"nightingale\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));

    assert!(run(&["deluser", "romeo@localhost"]).status.success());
    let gone = run(&["deluser", "romeo@localhost"]);
    assert!(!gone.status.success() && text(&gone).1.contains("does not exist"), "{:?}", text(&gone));
}
