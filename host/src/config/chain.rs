//! `--sm-plugins` (Tigase's session-manager plugin list): toggles and the chain they yield.
//!
//! # The ordering rule
//! Start from the default chain (given by the caller). Apply the items left to right:
//! - `-id` removes `id` (a no-op if it is not in the chain);
//! - `+id` or a bare `id` removes `id` if present, then appends it at the end.
//!
//! So the chain is the default order with disabled plugins taken out, followed by the
//! explicitly enabled plugins in the order they were named; naming a default plugin moves
//! it to the end. Every id must be known (installed), and the result must satisfy the chain
//! rules in [`CONFLICTS`].

use std::fmt;

use super::{ConfigError, Origin};

const KEY: &str = "--sm-plugins";

/// One `--sm-plugins` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Toggle {
    /// `+id` or `id`: put the plugin at the end of the chain.
    Enable(String),
    /// `-id`: take the plugin out of the chain.
    Disable(String),
}

impl Toggle {
    /// The plugin id the toggle names.
    pub fn id(&self) -> &str {
        match self {
            Toggle::Enable(id) | Toggle::Disable(id) => id,
        }
    }
}

impl fmt::Display for Toggle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Toggle::Enable(id) => write!(f, "+{id}"),
            Toggle::Disable(id) => write!(f, "-{id}"),
        }
    }
}

/// Plugin ids double as directory, crate and config names, hence `[a-z0-9][a-z0-9_-]*`.
pub(super) fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn invalid_id(id: &str) -> String {
    format!("{id:?} is not a plugin id")
}

/// Parses `+amp,-message,-msgoffline`; ids are checked for syntax only, since which
/// plugins exist is known only once the plugin directory has been read.
pub fn parse_toggles(text: &str) -> Result<Vec<Toggle>, String> {
    super::values::list(text)?
        .into_iter()
        .map(|item| {
            let toggle = match (item.strip_prefix('+'), item.strip_prefix('-')) {
                (Some(id), _) => Toggle::Enable(id.to_string()),
                (_, Some(id)) => Toggle::Disable(id.to_string()),
                _ => Toggle::Enable(item.to_string()),
            };
            if valid_id(toggle.id()) { Ok(toggle) } else { Err(invalid_id(item)) }
        })
        .collect()
}

/// A chain rule: two plugins that must never both be in the chain.
#[derive(Debug, Clone, Copy)]
pub struct Conflict {
    /// One plugin id.
    pub a: &'static str,
    /// The other plugin id.
    pub b: &'static str,
    /// Why, shown to the operator (e.g. "both deliver messages, so each would arrive twice").
    pub reason: &'static str,
    /// The `--sm-plugins` values that resolve the conflict, shown after the reason.
    pub fix: &'static str,
}

/// Why `amp` excludes `message` and `msgoffline` (amp.md section A): it routes and stores
/// every `<message/>` itself, with or without `<amp/>`, so a second router or store in the
/// chain would act on the same stanza again.
const AMP_REPLACES: &str =
    "amp routes and stores every <message/> itself, so each message would be delivered or stored twice";
const AMP_FIX: &str = "use +amp,-message,-msgoffline for AMP, or -amp,+message,+msgoffline without it";

/// Chain rules checked after the toggles are applied.
pub const CONFLICTS: &[Conflict] = &[
    Conflict { a: "amp", b: "message", reason: AMP_REPLACES, fix: AMP_FIX },
    Conflict { a: "amp", b: "msgoffline", reason: AMP_REPLACES, fix: AMP_FIX },
];

/// Applies `toggles` to `default` by the ordering rule in this module's docs, then checks
/// [`CONFLICTS`]. `known` says whether a plugin id is installed. Errors name `--sm-plugins`
/// with an unknown origin; `Config::plugin_chain` fills in where the toggles came from.
pub fn resolve_chain(
    default: &[&str],
    toggles: &[Toggle],
    known: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, ConfigError> {
    resolve_with(default, toggles, known, CONFLICTS)
}

fn resolve_with(
    default: &[&str],
    toggles: &[Toggle],
    known: &dyn Fn(&str) -> bool,
    conflicts: &[Conflict],
) -> Result<Vec<String>, ConfigError> {
    let fail = |message: String| ConfigError::new(&Origin::Unknown, KEY, message);
    let mut chain: Vec<String> = default.iter().map(|id| id.to_string()).collect();
    for toggle in toggles {
        let id = toggle.id();
        if !valid_id(id) {
            return Err(fail(invalid_id(id)));
        }
        if !known(id) {
            return Err(fail(format!("unknown plugin {id:?} (expected the id of an installed plugin)")));
        }
        chain.retain(|present| present != id);
        if let Toggle::Enable(id) = toggle {
            chain.push(id.clone());
        }
    }
    let enabled = |id: &str| chain.iter().any(|present| present == id);
    if let Some(rule) = conflicts.iter().find(|rule| enabled(rule.a) && enabled(rule.b)) {
        let (a, b) = (rule.a, rule.b);
        return Err(fail(format!("{a:?} and {b:?} cannot both be enabled: {} ({})", rule.reason, rule.fix)));
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enable(id: &str) -> Toggle {
        Toggle::Enable(id.into())
    }
    fn disable(id: &str) -> Toggle {
        Toggle::Disable(id.into())
    }
    fn all_known(_: &str) -> bool {
        true
    }

    #[test]
    fn parses_the_tigase_seed_line() {
        let toggles = parse_toggles("+amp,-message,-msgoffline").unwrap();
        assert_eq!(toggles, [enable("amp"), disable("message"), disable("msgoffline")]);
        assert_eq!(parse_toggles("amp").unwrap(), [enable("amp")]);
        assert_eq!(toggles.iter().map(ToString::to_string).collect::<Vec<_>>(), ["+amp", "-message", "-msgoffline"]);
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in ["+", "-", "+Amp", "_x", "a b", "+-x", "a.b"] {
            assert!(parse_toggles(bad).is_err(), "{bad:?}");
        }
        assert!(parse_toggles("x_1-y,9").is_ok());
    }

    #[test]
    fn no_toggles_keeps_the_default_chain() {
        assert_eq!(resolve_chain(&["message"], &[], &all_known).unwrap(), ["message"]);
    }

    #[test]
    fn disable_removes_and_enable_appends_in_order() {
        let toggles = [enable("amp"), disable("message"), disable("msgoffline")];
        let chain = resolve_chain(&["message", "msgoffline"], &toggles, &all_known).unwrap();
        assert_eq!(chain, ["amp"]);
        let chain = resolve_chain(&["a", "b", "c"], &[enable("a"), enable("d"), disable("b")], &all_known);
        assert_eq!(chain.unwrap(), ["c", "a", "d"]);
    }

    #[test]
    fn later_items_win_and_disabling_an_absent_id_is_harmless() {
        let chain = resolve_chain(&["a"], &[disable("x"), enable("b"), disable("b"), enable("b")], &all_known);
        assert_eq!(chain.unwrap(), ["a", "b"]);
        assert!(resolve_chain(&["a"], &[disable("a")], &all_known).unwrap().is_empty());
    }

    #[test]
    fn unknown_ids_are_errors_naming_the_id() {
        let known = |id: &str| id == "message";
        let err = resolve_chain(&["message"], &[enable("amp"), disable("message")], &known).unwrap_err();
        assert_eq!(err.key, "--sm-plugins");
        assert!(err.message.contains("\"amp\""), "{err}");
        let known = |id: &str| id == "message" || id == "amp";
        let chain = resolve_chain(&["message"], &[enable("amp"), disable("message")], &known);
        assert_eq!(chain.unwrap(), ["amp"]);
    }

    #[test]
    fn ids_built_in_code_are_checked_too() {
        let err = resolve_chain(&[], &[enable("Bad Id")], &all_known).unwrap_err();
        assert!(err.message.contains("not a plugin id"), "{err}");
    }

    #[test]
    fn conflict_rules_reject_chains_holding_both_plugins() {
        let rules = [Conflict { a: "x", b: "y", reason: "both deliver messages", fix: "use -y" }];
        let err = resolve_with(&["y"], &[enable("x")], &all_known, &rules).unwrap_err();
        assert_eq!(err.message, "\"x\" and \"y\" cannot both be enabled: both deliver messages (use -y)");
        let ok = resolve_with(&["y"], &[enable("x"), disable("y")], &all_known, &rules);
        assert_eq!(ok.unwrap(), ["x"]);
    }

    /// Today's default chain and the one the server switches to once `amp` is the default.
    const DEFAULTS: [&[&str]; 2] = [&["message", "msgoffline"], &["amp"]];

    fn resolve_text(default: &[&str], text: &str) -> Result<Vec<String>, ConfigError> {
        resolve_chain(default, &parse_toggles(text).unwrap(), &all_known)
    }

    #[test]
    fn seed_lines_give_an_amp_only_chain_from_either_default() {
        for line in ["amp,-message,-msgoffline", "+amp,-message,-msgoffline"] {
            for default in DEFAULTS {
                assert_eq!(resolve_text(default, line).unwrap(), ["amp"], "{line} on {default:?}");
            }
        }
    }

    #[test]
    fn amp_can_be_swapped_back_for_message_and_msgoffline() {
        let chain = resolve_text(&["amp"], "-amp,+message,+msgoffline").unwrap();
        assert_eq!(chain, ["message", "msgoffline"]);
        let chain = resolve_text(&["message", "msgoffline"], "-amp,+message,+msgoffline").unwrap();
        assert_eq!(chain, ["message", "msgoffline"]);
    }

    #[test]
    fn amp_beside_message_or_msgoffline_is_refused_with_the_reason_and_the_fix() {
        let cases = [
            (&["message", "msgoffline"][..], "+amp", "message"),
            (&["amp"][..], "+message", "message"),
            (&["amp"][..], "msgoffline", "msgoffline"),
            (&["message", "msgoffline"][..], "amp,-message", "msgoffline"),
        ];
        for (default, line, other) in cases {
            let err = resolve_text(default, line).unwrap_err();
            assert_eq!(err.key, "--sm-plugins");
            let msg = &err.message;
            assert!(msg.starts_with(&format!("\"amp\" and \"{other}\" cannot both be enabled")), "{line}: {msg}");
            assert!(msg.contains("delivered or stored twice"), "{msg}");
            assert!(msg.contains("+amp,-message,-msgoffline") && msg.contains("-amp,+message,+msgoffline"), "{msg}");
        }
    }
}
