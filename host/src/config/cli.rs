//! The command line: `wasmpp [--key=value…]` and the account subcommands, Tigase-style.
//!
//! Flags may come before or after the subcommand word. The `--config` file is read first,
//! then the other flags are applied in order, so the command line overrides the file.
//! A lone `--` ends the flags, so a password starting with `-` can still be given.

use std::fmt;

use super::keys::{DefaultValue, KEYS};
use super::{Config, ConfigError, Origin, plugin_conf, values};

/// What the operator asked for.
pub enum Command {
    /// Run the server.
    Serve(Config),
    /// Create an account; `password` is `None` when it should be prompted for.
    AddUser {
        /// The effective configuration (for the user database).
        config: Config,
        /// Bare account JID.
        jid: String,
        /// The new password, if given on the command line.
        password: Option<String>,
    },
    /// Delete an account.
    DelUser {
        /// The effective configuration (for the user database).
        config: Config,
        /// Bare account JID.
        jid: String,
    },
    /// Change an account's password; `None` means prompt for it.
    Passwd {
        /// The effective configuration (for the user database).
        config: Config,
        /// Bare account JID.
        jid: String,
        /// The new password, if given on the command line.
        password: Option<String>,
    },
    /// `plugin check FILE`: run the plugin load checks on one component
    /// and report what it declares; needs no database or network.
    PluginCheck {
        /// The effective configuration (limits and per-plugin policies).
        config: Config,
        /// The component file.
        file: std::path::PathBuf,
    },
    /// `plugin new NAME [--dir=PATH] [--sdk=PATH]`: create a plugin crate.
    PluginNew {
        /// The plugin id and crate name.
        name: String,
        /// The crate's directory (default `./NAME`).
        dir: Option<std::path::PathBuf>,
        /// The guest SDK to depend on (default: this checkout's).
        sdk: Option<std::path::PathBuf>,
    },
    /// Print [`help_text`].
    Help,
    /// Print the version.
    Version,
}

impl fmt::Debug for Command {
    /// Passwords are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |password: &Option<String>| password.as_ref().map(|_| "***");
        match self {
            Command::Serve(config) => f.debug_tuple("Serve").field(config).finish(),
            Command::AddUser { config, jid, password } => f
                .debug_struct("AddUser")
                .field("config", config)
                .field("jid", jid)
                .field("password", &hidden(password))
                .finish(),
            Command::DelUser { config, jid } => {
                f.debug_struct("DelUser").field("config", config).field("jid", jid).finish()
            }
            Command::Passwd { config, jid, password } => f
                .debug_struct("Passwd")
                .field("config", config)
                .field("jid", jid)
                .field("password", &hidden(password))
                .finish(),
            Command::PluginCheck { config, file } => {
                f.debug_struct("PluginCheck").field("config", config).field("file", file).finish()
            }
            Command::PluginNew { name, dir, sdk } => {
                f.debug_struct("PluginNew").field("name", name).field("dir", dir).field("sdk", sdk).finish()
            }
            Command::Help => f.write_str("Help"),
            Command::Version => f.write_str("Version"),
        }
    }
}

/// Parses the arguments after `argv[0]`, reading the `--config` file if one is named.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, ConfigError> {
    let cli = Origin::CommandLine;
    let mut flags: Vec<(String, Option<String>)> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut flags_ended = false;
    for arg in args {
        if flags_ended {
            words.push(arg);
        } else if arg == "--" {
            flags_ended = true;
        } else if arg == "--help" || arg == "-h" {
            return Ok(Command::Help);
        } else if arg == "--version" || arg == "-V" {
            return Ok(Command::Version);
        } else if let Some(flag) = arg.strip_prefix("--") {
            flags.push(match flag.split_once('=') {
                Some((key, value)) => (key.to_string(), Some(value.to_string())),
                None => (flag.to_string(), None),
            });
        } else if arg.len() > 1 && arg.starts_with('-') {
            return Err(ConfigError::new(&cli, arg, "unknown option (options are written --key=value)"));
        } else {
            words.push(arg);
        }
    }
    if words.first().is_some_and(|word| word == "help") {
        return Ok(Command::Help);
    }
    // `plugin new` writes a crate; it takes its own two flags, not the server's keys.
    if words.len() >= 2 && words[0] == "plugin" && words[1] == "new" {
        return plugin_new(&words[2..], &flags);
    }
    let config = build_config(&flags)?;
    let mut words = words.into_iter();
    let Some(word) = words.next() else {
        return Ok(Command::Serve(config));
    };
    if word == "plugin" {
        return plugin_command(config, words);
    }
    let (usage, takes_password) = match word.as_str() {
        "adduser" => ("adduser JID [PASSWORD]", true),
        "deluser" => ("deluser JID", false),
        "passwd" => ("passwd JID [PASSWORD]", true),
        // Tigase's bare `sess-man/...` spelling belongs to properties files; say how to write it here.
        _ if word.starts_with("sess-man/") => {
            let message = format!("not a command; on the command line write it as --{word}");
            return Err(ConfigError::new(&cli, word, message));
        }
        _ => {
            let expected = "expected adduser, deluser, passwd, plugin check, plugin new or help";
            return Err(ConfigError::new(&cli, word, format!("unknown command ({expected})")));
        }
    };
    let usage_error = |problem: &str| ConfigError::new(&cli, &word, format!("{problem} (usage: wasmpp {usage})"));
    let jid = words.next().ok_or_else(|| usage_error("missing JID"))?;
    let jid = values::account_jid(&jid).map_err(|problem| usage_error(&problem))?;
    let password = if takes_password { words.next() } else { None };
    if words.next().is_some() {
        return Err(usage_error("too many arguments"));
    }
    Ok(match word.as_str() {
        "adduser" => Command::AddUser { config, jid, password },
        "deluser" => Command::DelUser { config, jid },
        _ => Command::Passwd { config, jid, password },
    })
}

const PLUGIN_USAGE: &str = "usage: wasmpp plugin check FILE, or wasmpp plugin new NAME";
const PLUGIN_NEW_USAGE: &str = "usage: wasmpp plugin new NAME [--dir=PATH] [--sdk=PATH]";

/// `plugin check FILE` (`plugin new` is [`plugin_new`]).
fn plugin_command(config: Config, mut words: impl Iterator<Item = String>) -> Result<Command, ConfigError> {
    let usage_error =
        |problem: &str| ConfigError::new(&Origin::CommandLine, "plugin", format!("{problem} ({PLUGIN_USAGE})"));
    match words.next().as_deref() {
        Some("check") => {}
        Some(other) => return Err(usage_error(&format!("unknown plugin command {other:?}"))),
        None => return Err(usage_error("missing plugin command")),
    }
    let file = words.next().ok_or_else(|| usage_error("missing FILE"))?;
    if words.next().is_some() {
        return Err(usage_error("too many arguments"));
    }
    Ok(Command::PluginCheck { config, file: values::path(&file).map_err(|p| usage_error(&p))? })
}

/// `plugin new NAME [--dir=PATH] [--sdk=PATH]`; the name itself is checked
/// by the generator, which knows what a crate may be called.
fn plugin_new(words: &[String], flags: &[(String, Option<String>)]) -> Result<Command, ConfigError> {
    let cli = Origin::CommandLine;
    let usage_error = |problem: &str| ConfigError::new(&cli, "plugin new", format!("{problem} ({PLUGIN_NEW_USAGE})"));
    let (mut dir, mut sdk) = (None, None);
    for (key, value) in flags {
        let slot = match key.as_str() {
            "dir" => &mut dir,
            "sdk" => &mut sdk,
            _ => {
                return Err(ConfigError::new(
                    &cli,
                    format!("--{key}"),
                    format!("not an option of plugin new ({PLUGIN_NEW_USAGE})"),
                ));
            }
        };
        let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) else {
            return Err(ConfigError::new(&cli, format!("--{key}"), format!("needs a path: --{key}=PATH")));
        };
        *slot = Some(std::path::PathBuf::from(value));
    }
    // After the flags, so `--dir PATH` is told to be `--dir=PATH`, not "too many arguments".
    let [name] = words else {
        return Err(usage_error(if words.is_empty() { "missing NAME" } else { "too many arguments" }));
    };
    Ok(Command::PluginNew { name: name.clone(), dir, sdk })
}

/// Defaults, then the `--config` file, then every other flag in order, then the cross-key checks.
fn build_config(flags: &[(String, Option<String>)]) -> Result<Config, ConfigError> {
    let cli = Origin::CommandLine;
    let is_config = |key: &str| key.trim() == "config";
    let mut config = Config::default();
    let mut files = flags.iter().filter(|(key, _)| is_config(key));
    if let Some((key, value)) = files.next() {
        if files.next().is_some() {
            return Err(ConfigError::new(&cli, "--config", "given more than once (expected one file)"));
        }
        config.set(key, value.as_deref(), &cli)?;
        let path = value.as_deref().unwrap_or_default().trim();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(&cli, "--config", format!("cannot read {path:?}: {e}")))?;
        config.load_properties(&text, path)?;
    }
    for (key, value) in flags.iter().filter(|(key, _)| !is_config(key)) {
        config.set(key, value.as_deref(), &cli)?;
    }
    config.validate()?;
    Ok(config)
}

/// `wasmpp --help`: usage, then every key with its default, then the `--sm-plugins` rule.
pub fn help_text() -> String {
    let flag = |key: &super::Key| match key.is_bool() {
        true => format!("{}[={}]", key.display(), key.value),
        false => format!("{}={}", key.display(), key.value),
    };
    let width = KEYS.iter().map(|key| flag(key).chars().count()).max().unwrap_or(0);
    let mut text = String::from(concat!(
        "wasmpp ",
        env!("CARGO_PKG_VERSION"),
        ": an XMPP server whose session-manager plugins are WebAssembly components\n\n",
        "Usage:\n",
        "  wasmpp [--key=value…]                                        run the server\n",
        "  wasmpp adduser|deluser|passwd JID [PASSWORD] [--key=value…]  manage accounts\n",
        "                                                               (PASSWORD is prompted for if omitted)\n",
        "  wasmpp plugin check FILE [--key=value…]                      check a plugin component: contract\n",
        "                                                               version, manifest, what it handles\n",
        "  wasmpp plugin new NAME [--dir=PATH] [--sdk=PATH]             create a plugin crate (default ./NAME)\n",
        "                                                               using this checkout's guest SDK\n",
        "  wasmpp help | --help | --version\n\n",
        "Every key may also be a `key=value` or `--key=value` line of the --config file\n",
        "(Tigase init.properties style, # comments); the command line overrides the file.\n",
        "Keys shown as sess-man/… are written --sess-man/…=value on the command line.\n",
        "Booleans take true/false, yes/no, on/off or 1/0; a bare --flag means true.\n\n",
        "Keys:\n",
    ));
    for key in KEYS {
        let default = match key.default {
            DefaultValue::Value("") => "empty",
            DefaultValue::Value(value) | DefaultValue::Derived(value) => value,
        };
        text.push_str(&format!("  {:<width$}  {} [default: {default}]\n", flag(key), key.help));
    }
    text.push_str(concat!(
        "\nPlugin chain (--sm-plugins=+amp,-message,…):\n",
        "  Start from the default chain; apply the items left to right: -id removes id,\n",
        "  +id or id removes id if present and appends it at the end. Unknown ids are errors.\n",
        "  amp routes and stores every <message/> itself, so it cannot run beside message or\n",
        "  msgoffline: use +amp,-message,-msgoffline, or -amp,+message,+msgoffline for no AMP.\n",
        "\nPlugin settings (",
    ));
    text.push_str(plugin_conf::SHAPE);
    text.push_str(concat!(
        "):\n",
        "  Each plugin's sandbox, over the --plugin-* defaults (never shown to the plugin):\n",
    ));
    for (name, expects) in super::plugin_policy::SETTINGS {
        text.push_str(&format!("    sess-man/plugins-conf/<plugin-id>/{name:<13} {expects}\n"));
    }
    text.push_str(concat!(
        "  Any other setting under sess-man/plugins-conf/ is kept for the plugin it names,\n",
        "  as Tigase does; the plugin decides what it means.\n",
    ));
    text
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
