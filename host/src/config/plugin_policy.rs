//! The per-plugin sandbox settings wasmpp reads itself under
//! `sess-man/plugins-conf/<plugin-id>/`: `deadline-ms`, `memory-mb`,
//! `pool-size` and `capabilities`.
//!
//! They share the Tigase prefix so that everything about one plugin sits
//! under one name, but unlike the plugin's own settings they are typed and
//! checked here, and never handed to the plugin: a plugin must not be able
//! to read (or argue with) its own sandbox.

use std::time::Duration;

use crate::plugin::{Capabilities, PluginPolicy};

/// The reserved setting names, with the value each expects.
pub const SETTINGS: &[(&str, &str)] = &[
    ("deadline-ms", "time one call may take, in ms (default --plugin-deadline-ms)"),
    ("memory-mb", "memory cap of one instance, in MiB, at most --plugin-memory-mb (the default)"),
    ("pool-size", "warm instances kept; 0 = automatic (default --plugin-pool-size)"),
    ("capabilities", "the most the plugin is granted, e.g. sessions,deliver (default: all it declares)"),
];

/// Whether `setting` is one of [`SETTINGS`] rather than the plugin's own.
pub fn is_reserved(setting: &str) -> bool {
    SETTINGS.iter().any(|(name, _)| *name == setting)
}

/// Applies one reserved `setting` to `policy`; the error says what is
/// wrong with `value` and what is expected.
pub fn apply(policy: &mut PluginPolicy, setting: &str, value: &str) -> Result<(), String> {
    let expects = SETTINGS.iter().find(|(name, _)| *name == setting).map_or("", |(_, e)| e);
    let fail = |problem: String| format!("{problem} (expected {expects})");
    match setting {
        "deadline-ms" => {
            let ms: u64 = super::values::number(value, 1).map_err(fail)?;
            policy.deadline = Some(Duration::from_millis(ms));
        }
        "memory-mb" => {
            let mb: usize = super::values::number(value, 1).map_err(fail)?;
            policy.memory_bytes = Some(mb.checked_mul(1 << 20).ok_or_else(|| fail(format!("{mb} is too large")))?);
        }
        "pool-size" => policy.pool_size = Some(super::values::number(value, 0).map_err(fail)?),
        "capabilities" => policy.allowed = Some(Capabilities::parse_list(value)?),
        other => return Err(format!("{other:?} is not a sandbox setting")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_parses_into_the_policy() {
        let mut p = PluginPolicy::default();
        apply(&mut p, "deadline-ms", "20").unwrap();
        apply(&mut p, "memory-mb", "4").unwrap();
        apply(&mut p, "pool-size", "0").unwrap();
        apply(&mut p, "capabilities", "sessions, deliver").unwrap();
        assert_eq!(p.deadline, Some(Duration::from_millis(20)));
        assert_eq!((p.memory_bytes, p.pool_size), (Some(4 << 20), Some(0)));
        assert_eq!(p.allowed.unwrap().to_string(), "sessions,deliver");
        apply(&mut p, "capabilities", "").unwrap();
        assert_eq!(p.allowed, Some(Capabilities::NONE), "an empty list withholds everything");
    }

    #[test]
    fn bad_values_say_why_and_what_is_expected() {
        let mut p = PluginPolicy::default();
        let err = apply(&mut p, "deadline-ms", "0").unwrap_err();
        assert!(err.contains("0 is too small") && err.contains("in ms"), "{err}");
        assert!(apply(&mut p, "memory-mb", "lots").unwrap_err().contains("\"lots\" is not a number"));
        assert!(apply(&mut p, "pool-size", "-1").unwrap_err().contains("not a number"));
        let err = apply(&mut p, "capabilities", "sessions,roster").unwrap_err();
        assert!(err.contains("\"roster\" is not a capability"), "{err}");
        assert_eq!(p, PluginPolicy::default(), "nothing applied on error");
        assert!(is_reserved("memory-mb") && !is_reserved("store-limit"));
    }
}
