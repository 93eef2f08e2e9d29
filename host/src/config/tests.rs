//! Per-key tests of `Config::set`, defaults, cross-key checks, filters and redaction.

use std::net::IpAddr;
use std::path::PathBuf;

use super::*;

fn cli() -> Origin {
    Origin::CommandLine
}

/// Sets one key from the command line on a default config.
fn with(key: &str, value: &str) -> Result<Config, ConfigError> {
    let mut config = Config::default();
    config.set(key, Some(value), &cli())?;
    Ok(config)
}

/// (key, a valid value, a rejected value, words the rejection must contain)
const CASES: &[(&str, &str, &str, &str)] = &[
    ("config", "etc/init.properties", "", "the path is empty"),
    ("virt-hosts", "a.example, B.example", "bad_host", "not a domain name"),
    ("c2s-ports", "0,5222", "70000", "not a port number"),
    ("c2s-address", "::1", "localhost", "not an IP address"),
    ("data-dir", "/var/lib/wasmpp", "", "the path is empty"),
    ("user-db-uri", "jdbc:mysql://h/db?user=u&password=p", "", ""),
    ("admins", "root@a.example", "root@a.example/res", "has a resource"),
    ("debug", "c2s,xmpp.impl", "C2S", "not a module name"),
    ("sm-plugins", "+amp,-message", "+Amp", "not a plugin id"),
    ("plugin-dir", "/opt/plugins", "", "the path is empty"),
    ("plugin-watch", "false", "maybe", "not a boolean"),
    ("plugin-deadline-ms", "5", "0", "0 is too small"),
    ("plugin-memory-mb", "64", "-1", "not a number"),
    ("plugin-pool-size", "4", "four", "not a number"),
    ("plugin-cache", "/var/cache/wasmpp", "", "the path is empty"),
    ("tls-cert", "c.pem", "", "the path is empty"),
    ("tls-key", "k.pem", "", "the path is empty"),
    ("tls-required", "off", "sometimes", "not a boolean"),
    ("sasl-plain-without-tls", "YES", "2", "not a boolean"),
    ("sasl-max-attempts", "5", "0", "0 is too small"),
    ("scram-iterations", "10000", "4095", "4095 is too small"),
    ("registration", "1", "enabled", "not a boolean"),
    ("resource-conflict", "Reject", "kick", "not a policy"),
    ("max-stanza-size", "65536", "1023", "1023 is too small"),
    ("max-xml-depth", "4", "3", "3 is too small"),
    ("c2s-ping-interval", "0", "soon", "not a number"),
    ("c2s-ping-timeout", "5", "0", "0 is too small"),
    ("metrics-address", "127.0.0.1:9100", "9100", "not an IP:port address"),
    ("sess-man/plugins-conf/msgoffline/store-limit", "0", "-5", "not a number"),
    ("sess-man/plugins-conf/msgoffline/recipient-store-limit", "5000", "many", "not a number"),
    ("amp-repo-uri", "sqlite::memory:", "jdbc:derby://h/d", "unsupported database URI: jdbc:derby://h/d"),
    ("amp-security-level", "performance", "FAST", "\"FAST\" is not a security level"),
    ("amp-conditions-dir", "/opt/conditions", "", "the path is empty"),
    ("sess-man/plugins-conf/amp/amp-jid", "amp@your-domain.tld", "amp@example.org/res", "has a resource"),
    ("sess-man/plugins-conf/amp/store-limit", "0", "-1", "not a number"),
    ("sess-man/plugins-conf/amp/recipient-store-limit", "5000", "lots", "not a number"),
];

#[test]
fn every_key_has_a_case() {
    for key in KEYS {
        assert!(CASES.iter().any(|case| case.0 == key.name), "no test case for --{}", key.name);
    }
}

#[test]
fn every_key_accepts_good_values_and_rejects_bad_ones_naming_key_and_origin() {
    for &(key, good, bad, problem) in CASES {
        with(key, good).unwrap_or_else(|e| panic!("{key}={good}: {e}"));
        if key == "user-db-uri" {
            continue; // any string is accepted; empty means the default
        }
        let err = with(&format!("--{key}"), bad).expect_err(key);
        // Errors name keys as operators write them: Tigase's paths bare.
        let shown = keys::display_name(key);
        assert_eq!(err.key, shown);
        assert_eq!(err.origin, Origin::CommandLine);
        assert!(err.message.contains(problem), "{err}");
        assert!(err.message.contains("(expected "), "{err}");
        assert!(err.to_string().starts_with(&format!("command line: {shown}: ")), "{err}");
    }
}

#[test]
fn parsed_values_land_in_typed_fields() {
    let c = with("virt-hosts", "a.example, B.example").unwrap();
    assert_eq!(
        (c.virt_hosts.as_slice(), c.default_domain()),
        (["a.example".to_string(), "b.example".into()].as_slice(), "a.example")
    );
    assert_eq!(with("c2s-ports", "0, 5222").unwrap().c2s_ports, [0, 5222]);
    assert_eq!(with("c2s-address", "::1").unwrap().c2s_address, "::1".parse::<IpAddr>().unwrap());
    assert_eq!(with("resource-conflict", "REJECT").unwrap().resource_conflict, ResourceConflict::Reject);
    assert_eq!(with("scram-iterations", "10000").unwrap().scram_iterations, 10000);
    assert!(!with("tls-required", "off").unwrap().tls_required);
    assert_eq!(with("admins", "").unwrap().admins, Vec::<String>::new());
    assert_eq!(with("debug", "c2s,xmpp.impl").unwrap().debug, ["c2s", "xmpp::impl"]);
}

#[test]
fn plugin_cache_and_metrics_address_default_to_the_data_dir_and_off() {
    let c = with("data-dir", "/srv/x").unwrap();
    assert_eq!(c.plugin_cache_dir(), Some(PathBuf::from("/srv/x/plugin-cache")));
    assert_eq!(c.metrics_address, None);
    assert_eq!(with("plugin-cache", "OFF").unwrap().plugin_cache_dir(), None);
    assert_eq!(with("plugin-cache", "/tmp/c").unwrap().plugin_cache_dir(), Some(PathBuf::from("/tmp/c")));
    assert_eq!(with("metrics-address", "[::1]:0").unwrap().metrics_address, Some("[::1]:0".parse().unwrap()));
    assert_eq!(with("metrics-address", "off").unwrap().metrics_address, None);
    let mut from_file = Config::default();
    from_file.load_properties("--metrics-address=127.0.0.1:9100\n--plugin-cache=off\n", "init.properties").unwrap();
    assert_eq!(from_file.metrics_address, Some("127.0.0.1:9100".parse().unwrap()));
    assert_eq!(from_file.plugin_cache, PluginCache::Off);
}

#[test]
fn defaults_come_from_the_key_table() {
    let c = Config::default();
    assert_eq!(c.virt_hosts, ["localhost"]);
    assert_eq!(c.c2s_ports, [5222]);
    assert_eq!(c.c2s_address.to_string(), "0.0.0.0");
    assert_eq!(c.data_dir, PathBuf::from("data"));
    assert_eq!(c.user_db_uri(), "sqlite://data/wasmpp.db");
    assert_eq!(c.plugin_dir(), PathBuf::from("data/plugins"));
    assert!(c.admins.is_empty() && c.debug.is_empty() && c.sm_plugins.is_empty());
    assert_eq!((c.plugin_deadline_ms, c.plugin_memory_mb, c.plugin_pool_size), (50, 16, 0));
    assert_eq!((c.tls_cert.is_none(), c.tls_key.is_none(), c.tls_required), (true, true, true));
    assert_eq!((c.sasl_plain_without_tls, c.sasl_max_attempts, c.scram_iterations), (false, 3, 4096));
    assert_eq!((c.registration, c.resource_conflict), (false, ResourceConflict::Override));
    assert_eq!((c.max_stanza_size, c.max_xml_depth), (262144, 32));
    assert_eq!((c.offline_store_limit, c.offline_recipient_limit), (100, 1000));
    assert_eq!((c.amp_store_limit, c.amp_recipient_limit), (100, 1000));
    assert_eq!(c.amp_security_level, AmpSecurityLevel::Strict);
    assert_eq!((c.amp_repo_uri.as_deref(), c.amp_repo_uri()), (None, c.user_db_uri()));
    assert_eq!((c.amp_jid.as_deref(), c.amp_jid()), (None, "amp@localhost".to_string()));
    assert_eq!(c.amp_conditions_dir(), PathBuf::from("data/plugins/conditions"));
    assert!(c.plugin_conf.is_empty());
    assert_eq!(c.origin_of("virt-hosts"), None);
    c.validate().unwrap();
}

#[test]
fn explicit_uri_and_plugin_dir_win_over_derived_defaults() {
    let mut c = with("data-dir", "/srv/x").unwrap();
    assert_eq!(c.user_db_uri(), "sqlite:///srv/x/wasmpp.db");
    c.set("user-db-uri", Some("postgres://db/x"), &cli()).unwrap();
    c.set("plugin-dir", Some("/opt/p"), &cli()).unwrap();
    assert_eq!((c.user_db_uri().as_str(), c.plugin_dir()), ("postgres://db/x", PathBuf::from("/opt/p")));
    c.set("user-db-uri", Some(" "), &cli()).unwrap();
    assert_eq!(c.user_db_uri, None);
}

#[test]
fn amp_defaults_follow_the_keys_they_derive_from() {
    let mut c = with("virt-hosts", "chat.example.org,example.org").unwrap();
    c.set("user-db-uri", Some("postgres://db/users"), &cli()).unwrap();
    c.set("plugin-dir", Some("/opt/p"), &cli()).unwrap();
    assert_eq!(c.amp_jid(), "amp@chat.example.org");
    assert_eq!(c.amp_repo_uri(), "postgres://db/users");
    assert_eq!(c.amp_conditions_dir(), PathBuf::from("/opt/p/conditions"));
    c.set("sess-man/plugins-conf/amp/amp-jid", Some("AMP@Example.org"), &cli()).unwrap();
    c.set("amp-repo-uri", Some("mysql://u@db/amp"), &cli()).unwrap();
    c.set("amp-conditions-dir", Some("/srv/conditions"), &cli()).unwrap();
    assert_eq!(c.amp_jid(), "amp@example.org");
    assert_eq!(c.amp_repo_uri(), "mysql://u@db/amp");
    assert_eq!(c.amp_conditions_dir(), PathBuf::from("/srv/conditions"));
    c.set("amp-repo-uri", Some(""), &cli()).unwrap();
    assert_eq!(c.amp_repo_uri(), "postgres://db/users");
}

#[test]
fn a_bad_amp_repo_uri_names_the_key_but_never_the_password() {
    for uri in ["jdbc:oracle://h/d?user=u&password=hunter2", "jdbc:mysql://u:hunter2@h/d", "ftp://u:hunter2@h/d"] {
        let err = with("--amp-repo-uri", uri).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("command line: --amp-repo-uri: unsupported database URI: "), "{shown}");
        assert!(!shown.contains("hunter2") && shown.contains("***"), "{shown}");
    }
}

#[test]
fn a_bad_security_level_lists_the_three_levels() {
    let err = with("amp-security-level", "FAST").unwrap_err();
    assert_eq!(
        err.to_string(),
        "command line: --amp-security-level: \"FAST\" is not a security level (expected STRICT, PERFORMANCE or NONE)"
    );
    assert_eq!(with("amp-security-level", "none").unwrap().amp_security_level, AmpSecurityLevel::None);
}

#[test]
fn bare_flags_mean_true_only_for_booleans() {
    let mut c = Config::default();
    c.set("--registration", None, &cli()).unwrap();
    assert!(c.registration);
    let err = c.set("--c2s-ports", None, &cli()).unwrap_err();
    assert_eq!(err.to_string(), "command line: --c2s-ports: needs a value (expected a comma list of numbers 0-65535)");
}

#[test]
fn unknown_and_empty_keys_are_errors() {
    let err = Config::default().set("--frobnicate", Some("1"), &cli()).unwrap_err();
    assert_eq!(err.to_string(), "command line: --frobnicate: unknown key (see wasmpp --help)");
    let err = Config::default().set("", Some("1"), &cli()).unwrap_err();
    assert!(err.message.contains("missing key name"), "{err}");
}

#[test]
fn tls_cert_and_key_go_together() {
    let origin = Origin::File { name: "init.properties".into(), line: 7 };
    let mut c = Config::default();
    c.set("tls-cert", Some("cert.pem"), &origin).unwrap();
    let err = c.validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "init.properties:7: --tls-key: missing, but --tls-cert is given (give both or neither)"
    );
    c.set("tls-key", Some("key.pem"), &cli()).unwrap();
    c.validate().unwrap();
    let c = with("tls-key", "key.pem").unwrap();
    assert_eq!(c.validate().unwrap_err().key, "--tls-cert");
}

#[test]
fn tracing_filter_follows_debug_modules() {
    assert_eq!(Config::default().tracing_filter(), "info");
    assert_eq!(
        with("debug", "c2s,xmpp.impl").unwrap().tracing_filter(),
        "info,wasmpp::c2s=debug,wasmpp::xmpp::impl=debug"
    );
    assert_eq!(with("debug", "c2s,*").unwrap().tracing_filter(), "info,wasmpp=debug");
    assert_eq!(with("debug", "ALL").unwrap().tracing_filter(), "info,wasmpp=debug");
}

#[test]
fn debug_output_redacts_database_passwords() {
    for key in ["user-db-uri", "amp-repo-uri"] {
        let c = with(key, "jdbc:mysql://localhost/tigasedb?user=db_usr&password=db_pwd").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("db_pwd"), "{shown}");
        assert!(shown.contains("tigasedb?user=db_usr&password=***"), "{shown}");
    }
    let c = with("amp-repo-uri", "mysql://bob:hunter2@db/x").unwrap();
    assert!(!format!("{c:?}").contains("hunter2"));
    assert_eq!(c.amp_repo_uri(), "mysql://bob:hunter2@db/x");
    let c = with("user-db-uri", "postgres://bob:hunter2@db/x").unwrap();
    assert!(!format!("{c:?}").contains("hunter2"));
    assert_eq!(c.user_db_uri(), "postgres://bob:hunter2@db/x");
}

#[test]
fn plugin_sandbox_settings_are_typed_and_kept_from_the_plugin() {
    let file = Origin::File { name: "init.properties".into(), line: 4 };
    let mut c = Config::default();
    c.set("sess-man/plugins-conf/spam-filter/deadline-ms", Some("5"), &file).unwrap();
    c.set("--sess-man/plugins-conf/spam-filter/capabilities", Some("deliver, sessions"), &cli()).unwrap();
    c.set("sess-man/plugins-conf/spam-filter/pool-size", Some("1"), &cli()).unwrap();
    c.set("sess-man/plugins-conf/spam-filter/threshold", Some("0.9"), &cli()).unwrap();
    let policy = &c.plugin_policies["spam-filter"];
    assert_eq!(policy.deadline, Some(std::time::Duration::from_millis(5)));
    assert_eq!((policy.pool_size, policy.memory_bytes), (Some(1), None));
    assert_eq!(policy.allowed.unwrap().to_string(), "sessions,deliver");
    assert_eq!(c.plugin_conf["spam-filter"].keys().collect::<Vec<_>>(), ["threshold"], "the plugin sees only its own");
    assert_eq!(c.origin_of("sess-man/plugins-conf/spam-filter/deadline-ms"), Some(&file));
    c.validate().unwrap();
}

#[test]
fn a_bad_plugin_sandbox_setting_names_the_key() {
    let err = with("sess-man/plugins-conf/amp/capabilities", "sessions,roster").unwrap_err();
    assert_eq!(err.key, "sess-man/plugins-conf/amp/capabilities");
    assert!(err.message.contains("\"roster\" is not a capability (known: sessions, config"), "{err}");
    let err = with("--sess-man/plugins-conf/amp/deadline-ms", "0").unwrap_err();
    assert_eq!(
        err.to_string().split(" (expected").next(),
        Some("command line: sess-man/plugins-conf/amp/deadline-ms: 0 is too small")
    );
}

#[test]
fn a_plugin_memory_cap_above_the_server_ceiling_is_refused() {
    let file = Origin::File { name: "init.properties".into(), line: 9 };
    let mut c = with("plugin-memory-mb", "8").unwrap();
    c.set("sess-man/plugins-conf/amp/memory-mb", Some("8"), &file).unwrap();
    c.validate().unwrap();
    c.set("sess-man/plugins-conf/amp/memory-mb", Some("9"), &file).unwrap();
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "init.properties:9: sess-man/plugins-conf/amp/memory-mb: 9 is above --plugin-memory-mb=8, the ceiling of every plugin's cap"
    );
}
