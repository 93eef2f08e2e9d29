//! The two checks a component passes before it may join a chain, besides
//! linking: the contract version it was built for (read from its import
//! and export names, before linking, so a plugin built for another
//! `xmpp:sm` gets that said rather than a missing-function error), and the
//! manifest it returns (`wit/types.wit`, `manifest`).

use wasmtime::Engine;
use wasmtime::component::Component;

use super::bindings::{WIT_PACKAGE, WIT_VERSION, kind_from_wit, wit};
use super::capability;
use super::chain::PluginInfo;

/// The `xmpp:sm` version `component` was built for: `Ok(Some(version))`
/// when this host serves it, `Ok(None)` when it names no `xmpp:sm`
/// interface at all (linking will say what it lacks), `Err(version)` for
/// the first version it names that this host does not serve.
///
/// The host serves its own version and the earlier patch releases of it
/// (a `0.2.0` plugin runs on a `0.2.1` host): a patch release only adds
/// functions, and wasmtime links `@0.2.0` names to `@0.2.1` definitions.
/// A plugin built for a later patch may import what this host lacks.
pub(super) fn api_version(component: &Component, engine: &Engine) -> Result<Option<String>, String> {
    let ty = component.component_type();
    let names = ty.imports(engine).map(|(name, _)| name).chain(ty.exports(engine).map(|(name, _)| name));
    let mut found = None;
    for name in names {
        let Some(version) = version_of(name) else { continue };
        if !served(version) {
            return Err(version.to_owned());
        }
        found = Some(version.to_owned());
    }
    Ok(found)
}

/// Whether a plugin built for `version` runs here (see [`api_version`]).
fn served(version: &str) -> bool {
    let (Ok(theirs), Ok(ours)) = (semver::Version::parse(version), semver::Version::parse(WIT_VERSION)) else {
        return false;
    };
    (theirs.major, theirs.minor) == (ours.major, ours.minor) && theirs.patch <= ours.patch && theirs.pre.is_empty()
}

/// `0.2.0` of `xmpp:sm/log@0.2.0`; `None` for other packages (WASI).
fn version_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(WIT_PACKAGE)?.strip_prefix('/')?;
    Some(rest.split_once('@').map_or("", |(_, version)| version))
}

/// What is wrong with a manifest.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Problem {
    /// It names another plugin than the one configured.
    IdMismatch(String),
    /// It breaks a rule of `wit/types.wit`.
    Invalid(String),
}

/// Checks `manifest` against the rules of `wit/types.wit` and, when the
/// plugin was configured under an id, against that id. The returned info
/// has nothing granted yet.
pub(super) fn validate(expected_id: Option<&str>, manifest: wit::Manifest) -> Result<PluginInfo, Problem> {
    let wit::Manifest { id, version, handles, features, capabilities } = manifest;
    if !is_plain_id(&id) {
        return Err(Problem::Invalid(format!("id {id:?} is not a plain name (letters, digits, '-', '_')")));
    }
    if let Some(expected) = expected_id
        && expected != id
    {
        return Err(Problem::IdMismatch(id));
    }
    if let Err(e) = semver::Version::parse(&version) {
        return Err(Problem::Invalid(format!("version {version:?} is not a semantic version such as 1.2.3 ({e})")));
    }
    if handles.is_empty() {
        return Err(Problem::Invalid("handles no stanza kind (list message, presence or iq)".to_owned()));
    }
    if let Some(bad) = features.iter().find(|f| !is_feature(f)) {
        return Err(Problem::Invalid(format!(
            "disco feature {bad:?} is neither an absolute URI nor a registered name such as msgoffline"
        )));
    }
    let mut kinds = Vec::with_capacity(handles.len());
    for kind in handles.into_iter().map(kind_from_wit) {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(PluginInfo {
        id,
        version,
        handles: kinds,
        features,
        capabilities: capabilities.into_iter().map(capability::from_wit).collect(),
        granted: capability::Capabilities::NONE,
    })
}

/// A plugin id becomes a file name and a configuration key: ASCII letters,
/// digits, `-` and `_`, not empty.
pub(super) fn is_plain_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// An XEP-0030 `var`: an absolute URI (`urn:xmpp:ping`,
/// `http://jabber.org/protocol/amp?action=drop`) or one of the registered
/// plain names (XEP-0160's `msgoffline`).
fn is_feature(feature: &str) -> bool {
    let registered_name =
        !feature.is_empty() && feature.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    registered_name || (!feature.contains(char::is_whitespace) && url::Url::parse(feature).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmpp::StanzaKind;

    fn manifest() -> wit::Manifest {
        wit::Manifest {
            id: "filter".into(),
            version: "1.2.3-beta.1+build.5".into(),
            handles: vec![wit::StanzaKind::Message, wit::StanzaKind::Message, wit::StanzaKind::Presence],
            features: vec![
                "msgoffline".into(),
                "urn:xmpp:ping".into(),
                "http://jabber.org/protocol/amp?action=drop".into(),
            ],
            capabilities: vec![wit::Capability::Sessions, wit::Capability::Send],
        }
    }

    fn invalid(m: wit::Manifest) -> String {
        match validate(Some("filter"), m) {
            Err(Problem::Invalid(reason)) => reason,
            other => panic!("expected an invalid manifest, got {other:?}"),
        }
    }

    #[test]
    fn a_good_manifest_becomes_plugin_info() {
        let info = validate(Some("filter"), manifest()).unwrap();
        assert_eq!(info.handles, [StanzaKind::Message, StanzaKind::Presence]);
        assert_eq!(info.capabilities.to_string(), "sessions,send");
        assert!(info.granted.is_empty());
        assert_eq!(validate(None, manifest()).unwrap().id, "filter");
    }

    #[test]
    fn each_rule_is_named_in_the_reason() {
        assert!(matches!(validate(Some("other"), manifest()), Err(Problem::IdMismatch(id)) if id == "filter"));
        let reason = invalid(wit::Manifest { id: "../x".into(), ..manifest() });
        assert!(reason.contains("not a plain name"), "{reason}");
        for version in ["", "1", "1.2", "v1.2.3", "latest"] {
            let reason = invalid(wit::Manifest { version: version.into(), ..manifest() });
            assert!(reason.contains("is not a semantic version"), "{version}: {reason}");
        }
        let reason = invalid(wit::Manifest { handles: Vec::new(), ..manifest() });
        assert!(reason.contains("handles no stanza kind"), "{reason}");
        for feature in ["", "two words", "http://a b", "<x>"] {
            let reason = invalid(wit::Manifest { features: vec![feature.into()], ..manifest() });
            assert!(reason.contains(&format!("{feature:?}")), "{reason}");
        }
    }

    #[test]
    fn earlier_patch_releases_are_served() {
        assert_eq!(WIT_VERSION, "0.2.1");
        assert!(served("0.2.0") && served("0.2.1"));
        for other in ["0.2.2", "0.1.0", "0.3.0", "1.2.1", "0.2.1-rc.1", "", "x"] {
            assert!(!served(other), "{other}");
        }
    }

    #[test]
    fn only_xmpp_sm_names_carry_the_contract_version() {
        assert_eq!(version_of("xmpp:sm/log@0.2.0"), Some("0.2.0"));
        assert_eq!(version_of("xmpp:sm/plugin@0.1.0"), Some("0.1.0"));
        assert_eq!(version_of("xmpp:sm/log"), Some(""));
        assert_eq!(version_of("wasi:io/poll@0.2.6"), None);
        assert_eq!(version_of("xmpp:smx/log@0.2.0"), None);
    }
}
