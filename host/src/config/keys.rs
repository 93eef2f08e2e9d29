//! The key table: every configuration key (Tigase names where Tigase has one), its default,
//! help text and setter. Parsing, `Config::default()` and `--help` all read this one table.

use super::chain;
use super::values::{self, boolean, list, non_empty_list, number, path};
use super::{AmpSecurityLevel, Config, PluginCache, ResourceConflict};

/// A key's default as shown by `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// Text fed to the key's setter by `Config::default()`; `""` is an empty list.
    Value(&'static str),
    /// No value is set: the field stays `None` and this text says what that means.
    Derived(&'static str),
}

/// How a key may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--key=value` anywhere.
    Value,
    /// A boolean: a bare `--key` means true.
    Bool,
    /// `--key=value` on the command line only (`--config`: a file cannot name a file).
    CliOnly,
}

/// One configuration key.
pub struct Key {
    /// Name without the leading `--` (`c2s-ports`).
    pub name: &'static str,
    /// Placeholder for the value in `--help` (`PORTS`).
    pub value: &'static str,
    /// The default, applied by `Config::default()` and shown by `--help`.
    pub default: DefaultValue,
    /// What a valid value looks like; appended to every rejection of this key.
    pub expects: &'static str,
    /// One line for `--help`.
    pub help: &'static str,
    /// How the key may be given.
    pub kind: Kind,
    /// Parses the (trimmed) value into the config; the error is a sentence fragment.
    pub(crate) apply: fn(&mut Config, &str) -> Result<(), String>,
}

impl Key {
    /// A boolean key may be given as a bare `--flag`, meaning true.
    pub fn is_bool(&self) -> bool {
        self.kind == Kind::Bool
    }

    /// The key as operators write it: `--name`, or bare for Tigase's `a/b/c` paths.
    pub fn display(&self) -> String {
        display_name(self.name)
    }
}

/// `--name` for flag-like keys; Tigase's `sess-man/plugins-conf/...` keys are shown bare.
pub fn display_name(name: &str) -> String {
    let bare = name.strip_prefix("--").unwrap_or(name);
    if bare.contains('/') { bare.to_string() } else { format!("--{bare}") }
}

/// Finds a key by name, written with or without the leading `--`.
pub fn lookup(name: &str) -> Option<&'static Key> {
    let bare = name.strip_prefix("--").unwrap_or(name);
    KEYS.iter().find(|key| key.name == bare)
}

use DefaultValue::{Derived, Value};

/// Every key wasmpp understands, in `--help` order.
pub static KEYS: &[Key] = &[
    Key {
        name: "config",
        value: "FILE",
        default: Derived("none"),
        expects: "a file path",
        help: "init.properties file to read; command-line values override it",
        kind: Kind::CliOnly,
        apply: |c, v| {
            c.config_file = Some(path(v)?);
            Ok(())
        },
    },
    Key {
        name: "virt-hosts",
        value: "DOMAINS",
        default: Value("localhost"),
        expects: "a comma list of domain names",
        help: "served domains; the first is the default domain",
        kind: Kind::Value,
        apply: |c, v| {
            c.virt_hosts = each(non_empty_list(v)?, values::domain)?;
            Ok(())
        },
    },
    Key {
        name: "c2s-ports",
        value: "PORTS",
        default: Value("5222"),
        expects: "a comma list of numbers 0-65535",
        help: "client-to-server ports; 0 picks a free port (tests)",
        kind: Kind::Value,
        apply: |c, v| {
            c.c2s_ports = each(non_empty_list(v)?, values::port)?;
            Ok(())
        },
    },
    Key {
        name: "c2s-address",
        value: "IP",
        default: Value("0.0.0.0"),
        expects: "an IPv4 or IPv6 address",
        help: "address the client ports listen on",
        kind: Kind::Value,
        apply: |c, v| {
            c.c2s_address = v.parse().map_err(|_| format!("{v:?} is not an IP address"))?;
            Ok(())
        },
    },
    Key {
        name: "data-dir",
        value: "DIR",
        default: Value("data"),
        expects: "a directory path",
        help: "holds the SQLite database, the generated TLS certificate and plugins/",
        kind: Kind::Value,
        apply: |c, v| {
            c.data_dir = path(v)?;
            Ok(())
        },
    },
    Key {
        name: "user-db-uri",
        value: "URI",
        default: Derived("sqlite://<data-dir>/wasmpp.db"),
        expects: "a database URI such as jdbc:mysql://host/db?user=U&password=P, postgres://… or sqlite://…",
        help: "user database (jdbc:mysql, jdbc:postgresql, mysql, postgres, sqlite URIs)",
        kind: Kind::Value,
        apply: |c, v| {
            c.user_db_uri = (!v.is_empty()).then(|| v.to_string());
            Ok(())
        },
    },
    Key {
        name: "admins",
        value: "JIDS",
        default: Value(""),
        expects: "a comma list of bare JIDs",
        help: "administrator accounts",
        kind: Kind::Value,
        apply: |c, v| {
            c.admins = each(list(v)?, values::bare_jid)?;
            Ok(())
        },
    },
    Key {
        name: "debug",
        value: "MODULES",
        default: Value(""),
        expects: "a comma list of module names such as c2s,sm.roster, or * for all",
        help: "turn on debug logging for these modules (e.g. c2s,sm.roster; * = all)",
        kind: Kind::Value,
        apply: |c, v| {
            c.debug = each(list(v)?, values::debug_module)?;
            Ok(())
        },
    },
    Key {
        name: "sm-plugins",
        value: "TOGGLES",
        default: Value(""),
        expects: "a comma list of +id, -id or id (plugin ids are [a-z0-9][a-z0-9_-]*)",
        help: "plugin chain changes: -id removes id, +id or id moves/appends it to the end",
        kind: Kind::Value,
        apply: |c, v| {
            c.sm_plugins = chain::parse_toggles(v)?;
            Ok(())
        },
    },
    Key {
        name: "plugin-dir",
        value: "DIR",
        default: Derived("<data-dir>/plugins"),
        expects: "a directory path",
        help: "extra or overriding plugin components (<id>.wasm)",
        kind: Kind::Value,
        apply: |c, v| {
            c.plugin_dir = Some(path(v)?);
            Ok(())
        },
    },
    Key {
        name: "plugin-watch",
        value: "BOOL",
        default: Value("true"),
        expects: BOOL,
        help: "reload a plugin or AMP condition when its file in the plugin directories changes",
        kind: Kind::Bool,
        apply: |c, v| {
            c.plugin_watch = boolean(v)?;
            Ok(())
        },
    },
    Key {
        name: "plugin-deadline-ms",
        value: "MS",
        default: Value("50"),
        expects: "a number of milliseconds >= 1",
        help: "time one plugin call may take before it is interrupted",
        kind: Kind::Value,
        apply: |c, v| {
            c.plugin_deadline_ms = number(v, 1)?;
            Ok(())
        },
    },
    Key {
        name: "plugin-memory-mb",
        value: "MB",
        default: Value("16"),
        expects: "a number of MiB >= 1",
        help: "memory limit of one plugin instance",
        kind: Kind::Value,
        apply: |c, v| {
            c.plugin_memory_mb = number(v, 1)?;
            Ok(())
        },
    },
    Key {
        name: "plugin-pool-size",
        value: "N",
        default: Value("0"),
        expects: "a number (0 = automatic)",
        help: "instances kept per plugin; 0 = automatic",
        kind: Kind::Value,
        apply: |c, v| {
            c.plugin_pool_size = number(v, 0)?;
            Ok(())
        },
    },
    Key {
        name: "plugin-cache",
        value: "DIR|off",
        default: Derived("<data-dir>/plugin-cache"),
        expects: "a directory path, or off",
        help: "compiled plugins are kept here, so a restart with unchanged plugins does not compile; off = always compile",
        kind: Kind::Value,
        apply: |c, v| {
            c.plugin_cache = if v.eq_ignore_ascii_case("off") { PluginCache::Off } else { PluginCache::Dir(path(v)?) };
            Ok(())
        },
    },
    Key {
        name: "tls-cert",
        value: "FILE",
        default: Derived("none: self-signed, generated in <data-dir>"),
        expects: "a PEM file path",
        help: "TLS certificate chain (PEM); give with --tls-key",
        kind: Kind::Value,
        apply: |c, v| {
            c.tls_cert = Some(path(v)?);
            Ok(())
        },
    },
    Key {
        name: "tls-key",
        value: "FILE",
        default: Derived("none"),
        expects: "a PEM file path",
        help: "TLS private key (PEM); give with --tls-cert",
        kind: Kind::Value,
        apply: |c, v| {
            c.tls_key = Some(path(v)?);
            Ok(())
        },
    },
    Key {
        name: "tls-required",
        value: "BOOL",
        default: Value("true"),
        expects: BOOL,
        help: "clients must STARTTLS before SASL; false allows plaintext (local testing)",
        kind: Kind::Bool,
        apply: |c, v| {
            c.tls_required = boolean(v)?;
            Ok(())
        },
    },
    Key {
        name: "sasl-plain-without-tls",
        value: "BOOL",
        default: Value("false"),
        expects: BOOL,
        help: "offer SASL PLAIN on unencrypted streams",
        kind: Kind::Bool,
        apply: |c, v| {
            c.sasl_plain_without_tls = boolean(v)?;
            Ok(())
        },
    },
    Key {
        name: "sasl-max-attempts",
        value: "N",
        default: Value("3"),
        expects: "a number >= 1",
        help: "failed SASL attempts before the stream is closed",
        kind: Kind::Value,
        apply: |c, v| {
            c.sasl_max_attempts = number(v, 1)?;
            Ok(())
        },
    },
    Key {
        name: "scram-iterations",
        value: "N",
        default: Value("4096"),
        expects: "a number >= 4096",
        help: "PBKDF2 iterations for newly stored SCRAM credentials",
        kind: Kind::Value,
        apply: |c, v| {
            c.scram_iterations = number(v, 4096)?;
            Ok(())
        },
    },
    Key {
        name: "registration",
        value: "BOOL",
        default: Value("false"),
        expects: BOOL,
        help: "allow XEP-0077 in-band registration",
        kind: Kind::Bool,
        apply: |c, v| {
            c.registration = boolean(v)?;
            Ok(())
        },
    },
    Key {
        name: "resource-conflict",
        value: "POLICY",
        default: Value("override"),
        expects: "override or reject",
        help: "binding a resource in use: override = the old session is closed, reject = the new bind fails",
        kind: Kind::Value,
        apply: |c, v| {
            c.resource_conflict = match v.to_ascii_lowercase().as_str() {
                "override" => ResourceConflict::Override,
                "reject" => ResourceConflict::Reject,
                _ => return Err(format!("{v:?} is not a policy")),
            };
            Ok(())
        },
    },
    Key {
        name: "max-stanza-size",
        value: "BYTES",
        default: Value("262144"),
        expects: "a number of bytes >= 1024",
        help: "largest stanza accepted; bigger ones close the stream",
        kind: Kind::Value,
        apply: |c, v| {
            c.max_stanza_size = number(v, 1024)?;
            Ok(())
        },
    },
    Key {
        name: "max-xml-depth",
        value: "N",
        default: Value("32"),
        expects: "a number >= 4",
        help: "deepest element nesting accepted",
        kind: Kind::Value,
        apply: |c, v| {
            c.max_xml_depth = number(v, 4)?;
            Ok(())
        },
    },
    Key {
        name: "c2s-ping-interval",
        value: "SECONDS",
        default: Value("90"),
        expects: "a number of seconds (0 = off)",
        help: "ping a client that has been silent this long (XEP-0199), to find dead connections",
        kind: Kind::Value,
        apply: |c, v| {
            c.c2s_ping_interval = number(v, 0)?;
            Ok(())
        },
    },
    Key {
        name: "c2s-ping-timeout",
        value: "SECONDS",
        default: Value("30"),
        expects: "a number of seconds >= 1",
        help: "close a pinged connection that stays silent this long",
        kind: Kind::Value,
        apply: |c, v| {
            c.c2s_ping_timeout = number(v, 1)?;
            Ok(())
        },
    },
    Key {
        name: "metrics-address",
        value: "IP:PORT|off",
        default: Derived("off: no metrics endpoint"),
        expects: "an IP:port address such as 127.0.0.1:9100, or off",
        help: "serve Prometheus metrics at http://IP:PORT/metrics (plugin calls, faults, connections, stanzas)",
        kind: Kind::Value,
        apply: |c, v| {
            c.metrics_address = if v.eq_ignore_ascii_case("off") { None } else { Some(values::socket_address(v)?) };
            Ok(())
        },
    },
    Key {
        name: "sess-man/plugins-conf/msgoffline/store-limit",
        value: "N",
        default: Value("100"),
        expects: "a number (0 = unlimited)",
        help: "offline messages kept per sender->recipient pair; more bounce with service-unavailable",
        kind: Kind::Value,
        apply: |c, v| {
            c.offline_store_limit = number(v, 0)?;
            Ok(())
        },
    },
    Key {
        name: "sess-man/plugins-conf/msgoffline/recipient-store-limit",
        value: "N",
        default: Value("1000"),
        expects: "a number (0 = unlimited)",
        help: "offline messages kept per recipient from all senders",
        kind: Kind::Value,
        apply: |c, v| {
            c.offline_recipient_limit = number(v, 0)?;
            Ok(())
        },
    },
    Key {
        name: "amp-repo-uri",
        value: "URI",
        default: Derived("the user database"),
        expects: "a database URI such as jdbc:mysql://host/db?user=U&password=P, postgres://… or sqlite://…",
        help: "database of AMP's offline messages, if not the user database (same URI forms as --user-db-uri)",
        kind: Kind::Value,
        apply: |c, v| {
            c.amp_repo_uri = match v {
                "" => None,
                // Checked now, so a typo stops the start instead of the first offline message.
                uri => crate::store::uri::to_sqlx_url(uri).map(|_| Some(uri.to_string())).map_err(|e| e.to_string())?,
            };
            Ok(())
        },
    },
    Key {
        name: "amp-security-level",
        value: "LEVEL",
        default: Value("STRICT"),
        expects: "STRICT, PERFORMANCE or NONE",
        help: "AMP rules that could reveal presence: STRICT = roster check, PERFORMANCE = refuse, NONE = allow",
        kind: Kind::Value,
        apply: |c, v| {
            c.amp_security_level = AmpSecurityLevel::parse(v)?;
            Ok(())
        },
    },
    Key {
        name: "amp-conditions-dir",
        value: "DIR",
        default: Derived("<plugin-dir>/conditions"),
        expects: "a directory path",
        help: "custom AMP condition components (<name>.wasm)",
        kind: Kind::Value,
        apply: |c, v| {
            c.amp_conditions_dir = Some(path(v)?);
            Ok(())
        },
    },
    Key {
        name: "sess-man/plugins-conf/amp/amp-jid",
        value: "JID",
        default: Derived("amp@<first virtual host>"),
        expects: "a bare JID such as amp@example.org",
        help: "address of the AMP service (disco#info and the AMP node)",
        kind: Kind::Value,
        apply: |c, v| {
            c.amp_jid = Some(values::service_jid(v)?);
            Ok(())
        },
    },
    Key {
        name: "sess-man/plugins-conf/amp/store-limit",
        value: "N",
        default: Value("100"),
        expects: "a number (0 = unlimited)",
        help: "AMP offline messages kept per sender->recipient pair; more bounce with service-unavailable",
        kind: Kind::Value,
        apply: |c, v| {
            c.amp_store_limit = number(v, 0)?;
            Ok(())
        },
    },
    Key {
        name: "sess-man/plugins-conf/amp/recipient-store-limit",
        value: "N",
        default: Value("1000"),
        expects: "a number (0 = unlimited)",
        help: "AMP offline messages kept per recipient from all senders",
        kind: Kind::Value,
        apply: |c, v| {
            c.amp_recipient_limit = number(v, 0)?;
            Ok(())
        },
    },
];

/// Parses every item of a list, stopping at the first bad one.
fn each<T>(items: Vec<&str>, parse: fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    items.into_iter().map(parse).collect()
}

const BOOL: &str = "true/false, yes/no, on/off or 1/0";
